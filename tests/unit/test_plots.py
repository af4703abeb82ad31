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
    salient = np.zeros((3, 8), bool)
    salient[0, 2:4] = True
    fig = plot_maps_side_by_side(values, maps, mask=np.arange(8) < np.array([[8], [6], [8]]), salient=salient)
    assert len(fig.axes) == 9 and fig.axes[1].get_title() == "a"
    assert len(fig.axes[4].patches) == 6  # sequence 1 has 6 valid steps
    assert fig.axes[2].get_ylim()[0] < 0  # a signed map gets a negative half
    assert len(fig.axes[0].patches) == 1 and not fig.axes[3].patches  # the truth shaded on row 0 only


def test_deletion_plot_says_which_direction_is_better():
    import pandas as pd

    from seqattn.plots import plot_deletion

    report = pd.DataFrame({"deletion_auc": [0.3]}, index=["m"])
    report.attrs["curves"] = {"m": {"deletion": np.linspace(1, 0, 11), "insertion": np.linspace(0, 1, 11)}}
    report.attrs["deletion_higher_is_better"] = False  # a classifier
    left, right = plot_deletion(report).axes
    assert "lower is better" in left.get_title() and "higher is better" in right.get_title()
    report.attrs["deletion_higher_is_better"] = True  # next value
    assert "higher is better" in plot_deletion(report).axes[0].get_title()


def test_attention_heatmap_times_length_is_centred_on_uniform():
    from seqattn.plots import plot_attention_heatmap

    attention = np.zeros((2, 6))
    attention[0, :4], attention[1] = 0.25, [0.1, 0.1, 0.1, 0.1, 0.1, 0.5]
    fig = plot_attention_heatmap(attention, np.array([4, 6]), np.array(["a", "b"]), scale="length")
    mesh = fig.axes[0].collections[0]
    grid = np.ma.filled(mesh.get_array(), np.nan).reshape(2, 6)
    np.testing.assert_allclose(grid[0, :4], 1.0)  # uniform attention reads 1 whatever the length
    np.testing.assert_allclose(grid[1], [0.6, 0.6, 0.6, 0.6, 0.6, 3.0])
    assert mesh.norm.vmin == pytest.approx(-1.0) and mesh.norm.vmax == pytest.approx(3.0)
    with pytest.raises(ValueError, match="scale must be"):
        plot_attention_heatmap(attention, np.array([4, 6]), np.array(["a", "b"]), scale="log")
