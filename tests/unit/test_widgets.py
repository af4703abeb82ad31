"""The apps without a browser: set slider values, read the model's output."""

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")
pytest.importorskip("ipywidgets")

from seqattn.influence import recipe  # noqa: E402
from seqattn.widgets import NEXT_VALUE_MAPS, PRESETS, make_signal_sequence, next_value_app, signal_app  # noqa: E402


def test_next_value_app_follows_sliders_presets_and_length():
    app = next_value_app()
    assert app.values() == [2.0, 4.0, 6.0, 8.0, 10.0]
    assert app.result.prediction == pytest.approx(12.0, abs=0.01)
    assert "Predicted next value: 12.00" in app.text.value and "12 = " in app.text.value  # the recipe
    assert (app.sliders[0].min, app.sliders[0].max) == (-20.0, 46.0)  # the linear preset's scale
    app.sliders[4].value = 20.0  # a jump at the end changes the prediction
    assert app.result.prediction > 20.0 and len(app.result.contributions) == 5
    assert int(np.argmax(np.abs(app.result.contributions))) == 4
    app.length.value = 7  # two more steps (preset values 12, 14) join the sequence
    assert len(app.result.attention) == 7 and app.sliders[6].layout.display == ""
    assert app.sliders[7].layout.display == "none"
    app.preset.value = "sin t"
    assert app.values() == PRESETS["sin t"][:5]
    assert app.result.prediction == pytest.approx(-0.959, abs=0.06)
    assert sum(app.result.attention) == pytest.approx(1.0)
    assert -3 < app.sliders[0].min < -1 and 1 < app.sliders[0].max < 3 and app.sliders[0].step == 0.01


def test_next_value_app_bars_show_signed_contributions_on_a_steady_axis():
    app = next_value_app()
    mean = np.mean(app.values())
    assert sum(app.result.contributions) == pytest.approx(app.result.prediction - mean, abs=1e-6)
    bars = [b for b in app.figure.axes[1].patches if b.get_visible()]
    assert [b.get_height() for b in bars] == pytest.approx(app.result.contributions)
    pairs = zip(bars, app.result.contributions, strict=True)
    signs = [(b.get_facecolor()[0] > b.get_facecolor()[2], c > 0) for b, c in pairs if abs(c) > 1e-3]
    # diverging: red up, blue down (white at 0)
    assert len(signs) >= 4 and all(red == up for red, up in signs)
    ylim = app.figure.axes[1].get_ylim()
    app.sliders[1].value = 4.3  # a small edit: the axis does not move
    assert app.figure.axes[1].get_ylim() == ylim
    strip = app._canvas.strip.get_array()
    assert np.asarray(strip[0, :5]) == pytest.approx(np.asarray(app.result.attention) * 5)


def test_next_value_app_map_selector():
    app = next_value_app()
    app.sliders[2].value = 15.0
    expected = {"contributions": app.result.contributions, "weights": app.result.influence,
                "attention": app.result.attention}
    for name, values in expected.items():
        app.map_select.value = name
        assert app.shown == pytest.approx(values) and NEXT_VALUE_MAPS[name] in app.figure.axes[1].get_ylabel()
    app.map_select.value = "integrated gradients"  # from the mean, IG equals the gradient recipe's contributions
    x = torch.tensor([app.values()], dtype=torch.float64)
    gradient = recipe(app.model, x, method="gradient").contributions[0].numpy()
    assert app.shown == pytest.approx(gradient, rel=1e-5, abs=1e-6)
    app.map_select.value = "consensus"
    assert app.shown.sum() == pytest.approx(1.0) and (app.shown >= 0).all()
    app.map_select.value = "shapley"  # in the prediction's units: the values sum to prediction − mean
    assert app.shown.sum() == pytest.approx(app.result.prediction - np.mean(app.values()), rel=1e-6, abs=1e-6)
    assert NEXT_VALUE_MAPS["shapley"] in app.figure.axes[1].get_ylabel()


def test_signal_app_attention_and_the_map_follow_the_event():
    from seqattn.explain import top_steps

    app = signal_app()
    for position in (8, 30, 50):
        app.position.value = position
        assert app.result.prediction > 0.9
        assert position <= app.result.top(1)[0][0] < position + 6  # raw attention
        t, _, feature = top_steps(app.cells, k=1)[0]  # the consensus map [T, D]
        assert position <= t < position + 6 and f"top step t={t}" in app.text.value
        assert f"top feature x{feature}" in app.text.value and "inside the event" in app.text.value
    assert app.cells.shape == (64, 4) and abs(app.cells.sum() - 1) < 1e-9
    before = app.values.copy()
    app.seed.value = 7  # a new noise draw: different background, same event
    assert not np.allclose(app.values, before) and app.result.prediction > 0.9
    app.map_select.value = "integrated_gradients"
    assert "integrated_gradients: top step" in app.text.value
    app.amplitude.value = 0.0
    assert app.result.prediction < 0.5 and "P(class=1)" in app.text.value


def test_signal_figure_keeps_fixed_colour_scales_and_a_feature_legend():
    from seqattn.widgets import SIGNAL_SCALE

    app = signal_app()
    heat = app._canvas.heat
    assert (heat.norm.vmin, heat.norm.vmax) == (0, SIGNAL_SCALE[1])
    assert (app._canvas.strip.norm.vmin, app._canvas.strip.norm.vmax) == (0, SIGNAL_SCALE[0])
    app.amplitude.value = 0.0  # a diffuse map keeps the same scale: it looks dim, not as hot as a confident one
    assert heat.norm.vmax == SIGNAL_SCALE[1] and app.cells.max() < SIGNAL_SCALE[1]
    labels = [t.get_text() for t in app.figure.axes[0].get_legend().get_texts()]
    assert labels == ["x0", "x1", "x2", "x3", "planted event"]
    assert app.output.value[:4] == b"\x89PNG"


def test_slider_range_follows_the_scale():
    from seqattn.widgets import slider_range

    assert slider_range([2, 4, 6, 8, 10]) == (-6.0, 18.0, 0.01)
    lo, hi, step = slider_range(PRESETS["sin t"])
    assert -3 < lo < -1 and 1 < hi < 3 and step == 0.01
    lo, hi, step = slider_range([1e-3, 2e-3])
    assert step == 1e-5 and lo < 1e-3 < 2e-3 < hi < 1e-2


def test_make_signal_sequence_marks_the_event():
    x, salient = make_signal_sequence(20, 3, 5, 2.0, 0.5)
    assert x.shape == (20, 3) and salient.sum() == 6 and salient[5] and not salient[11]


def test_signal_bound_covers_every_event_position_and_dragging_keeps_the_axis():
    """The value axis is sized for every position at once: dragging the event never grows it (so an update
    redraws only the artists), while a larger amplitude still does."""
    from seqattn.widgets import signal_bound

    bound = signal_bound(40, 3, 2.5, 0.7, seed=4)
    peaks = [np.abs(make_signal_sequence(40, 3, p, 2.5, 0.7, seed=4)[0]).max() for p in range(35)]
    assert max(peaks) <= bound <= max(peaks) + 2.5
    pytest.importorskip("captum")
    app = signal_app(length=40)
    limits = set()
    for position in range(2, 30, 3):
        app.position.value = position
        limits.add(app.figure.axes[0].get_ylim())
    assert len(limits) == 1
    app.amplitude.value = app.amplitude.max
    assert app.figure.axes[0].get_ylim()[1] > max(limits)[1]


def test_events_app_shows_the_picked_accounts_events_and_their_influence():
    """Flagged accounts come first; the table is the account's rows with an influence bar; for the shipped
    event model the top row of a flagged fraud account is a planted row; picking another account updates
    the text and the table."""
    pytest.importorskip("captum")
    from seqattn.widgets import events_app

    app = events_app(accounts=12)
    first = app.account.value
    row = app.data.ids.index(first)
    assert app.probabilities[row].argmax() == 1 and app.data.label[row] == 1
    assert len(app.influence) == app.data.lengths[row] and app.influence.sum() == pytest.approx(1)
    assert app.data.salient[row, app.top[0][0]]
    assert first in app.text.value and "<table" in app.output.value and "influence" in app.output.value
    assert app.top[0][1] in app.data.features
    html = app.output.value
    app.account.value = app.account.options[-1]
    assert app.account.value in app.text.value and app.output.value != html
