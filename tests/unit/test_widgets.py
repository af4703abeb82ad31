"""The apps without a browser: set slider values, read the model's output."""

import matplotlib
import pytest

matplotlib.use("Agg")
pytest.importorskip("ipywidgets")

from seqattn.widgets import PRESETS, make_signal_sequence, next_value_app, signal_app  # noqa: E402


def test_next_value_app_follows_sliders_presets_and_length():
    app = next_value_app()
    assert app.values() == [2.0, 4.0, 6.0, 8.0, 10.0]
    assert app.result.prediction == pytest.approx(12.0, abs=0.01)
    assert "Predicted next value: 12.00" in app.text.value
    app.sliders[4].value = 20.0  # a jump at the end changes the prediction
    assert app.result.prediction > 20.0 and len(app.result.attention) == 5
    app.length.value = 7  # two more steps (preset values 12, 14) join the sequence
    assert len(app.result.attention) == 7 and app.sliders[6].layout.display == ""
    assert app.sliders[7].layout.display == "none"
    app.preset.value = "sin t"
    assert app.values() == PRESETS["sin t"][:5]
    assert app.result.prediction == pytest.approx(-0.959, abs=0.06)
    assert sum(app.result.attention) == pytest.approx(1.0)
    bars = app.figure.axes[1].patches  # the attention bars drawn are the model's attention
    assert [b.get_height() for b in bars] == pytest.approx(app.result.attention)


def test_signal_app_attention_follows_the_event():
    app = signal_app()
    tops = []
    for position in (8, 30, 50):
        app.position.value = position
        assert app.result.prediction > 0.9
        tops.append(app.result.top(1)[0][0])
        assert position <= tops[-1] < position + 6
    app.amplitude.value = 0.0
    assert app.result.prediction < 0.5 and "P(class=1)" in app.text.value


def test_make_signal_sequence_marks_the_event():
    x, salient = make_signal_sequence(20, 3, 5, 2.0, 0.5)
    assert x.shape == (20, 3) and salient.sum() == 6 and salient[5] and not salient[11]
