"""Figures: shapes, scales and refusals (drawn with the Agg backend, never shown)."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from seqattn.plots import plot_feature_time, plot_maps_side_by_side  # noqa: E402


def test_feature_time_heatmap_rows_are_features_on_a_fixed_or_diverging_scale():
    cells = np.zeros((10, 3))
    cells[4, 2] = 0.5
    fig = plot_feature_time(cells, feature_names=["a", "b", "c"], vmax=0.25)
    ax = fig.axes[0]
    image = ax.get_images()[0]
    assert image.get_array().shape == (3, 10) and image.get_array()[2, 4] == 0.5
    assert (image.norm.vmin, image.norm.vmax) == (0.0, 0.25)  # fixed: maps drawn alike compare at a glance
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"] and len(fig.axes) == 2  # + colour bar
    signed = plot_feature_time(-cells, signed=True).axes[0].get_images()[0]
    assert (signed.norm.vmin, signed.norm.vcenter, signed.norm.vmax) == (-0.5, 0.0, 0.5)
    assert plot_feature_time(np.ones(5)).axes[0].get_images()[0].get_array().shape == (1, 5)
    with pytest.raises(ValueError, match="NaN"):
        plot_feature_time(np.full((4, 2), np.nan))


def test_maps_side_by_side_one_row_per_sequence_one_column_per_map():
    values = np.arange(24.0).reshape(3, 8)
    maps = {"a": np.random.default_rng(0).random((3, 8)), "signed": np.linspace(-1, 1, 24).reshape(3, 8)}
    fig = plot_maps_side_by_side(values, maps, mask=np.arange(8) < np.array([[8], [6], [8]]))
    assert len(fig.axes) == 9 and fig.axes[1].get_title() == "a"
    assert len(fig.axes[4].patches) == 6  # sequence 1 has 6 valid steps
    assert fig.axes[2].get_ylim()[0] < 0  # a signed map gets a negative half
