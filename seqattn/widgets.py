"""Interactive apps for notebook 04 (and Voila): drag sliders, watch the prediction and attention move.

Each ``*_app`` function returns a small object holding the widgets and the latest result, so tests can
set slider values and read the model's output without a browser. ipywidgets and matplotlib are imported
here only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Presets for the next-value app: the original project's examples and one sequence per family.
_t = np.arange(12, dtype=float)
PRESETS: dict[str, list[float]] = {
    "linear": [2.0 * (k + 1) for k in range(12)],
    "sin t": list(np.round(np.sin(_t), 2)),
    "noisy linear": [3.0, 6.1, 9.2, 12.0, 14.9, 18.1, 21.0, 24.1, 27.0, 29.9, 33.1, 36.0],
    "log decay": list(np.round(4.39 - 0.69 * np.log(_t + 1), 2)),
    "rise and fall": [1.0, 2.0, 2.5, 2.0, 1.0, 0.0, -0.5, 0.0, 1.0, 2.0, 2.5, 2.0],
    "exponential": list(np.round(0.5 * 1.3**_t, 2)),
    "damped oscillation": list(np.round(8 * np.exp(-0.15 * _t) * np.cos(1.1 * _t), 2)),
    "quadratic": list(np.round(0.15 * _t**2 - 1.2 * _t + 2, 2)),
    "oscillatory": list(np.round(0.6 * _t + 2 * np.sin(0.9 * _t), 2)),
}
PRESET_LENGTH = {"linear": 5, "sin t": 5, "noisy linear": 4, "log decay": 5, "rise and fall": 5}


def _show(image, fig) -> None:
    """Render ``fig`` to PNG into an ``ipywidgets.Image``: no display messages, so the app behaves the
    same in Jupyter, Voila and nbval, and a browser sees one ``<img>`` whose ``src`` changes."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    image.value = buffer.getvalue()


@dataclass
class NextValueApp:
    """The next-value app: ``widget`` to display; ``result`` is the latest :class:`seqattn.api.Prediction`."""

    widget: object
    sliders: list
    preset: object
    length: object
    text: object
    output: object
    model: object
    result: object = None
    figure: object = None  # the latest matplotlib Figure shown
    history: list = field(default_factory=list)

    def values(self) -> list[float]:
        return [s.value for s in self.sliders[: self.length.value]]

    def update(self, *_) -> None:
        from .api import predict_next
        from .plots import plot_prediction

        for k, s in enumerate(self.sliders):
            s.layout.display = "" if k < self.length.value else "none"
        values = self.values()
        self.result = predict_next(values, self.model)
        self.history.append(self.result)
        top_t, top_w = self.result.top(1)[0]
        self.text.value = (f"<b>Predicted next value: {self.result.prediction:.4f}</b> &nbsp; "
                           f"(most attended: t={top_t}, weight {top_w:.3f})")
        self.figure = plot_prediction(values, self.result.prediction, self.result.attention)
        _show(self.output, self.figure)


def next_value_app(model=None, max_steps: int = 12, preset: str = "linear") -> NextValueApp:
    """One slider per time step, a family preset dropdown that fills them, a length control; every change
    redraws the sequence, the predicted next point and the attention bars."""
    import ipywidgets as w

    from .api import load_pretrained

    model = load_pretrained("next-value") if model is None else model
    sliders = [w.FloatSlider(value=0.0, min=-40.0, max=40.0, step=0.1, description=f"t={k}",
                             continuous_update=False, readout_format=".2f",
                             layout=w.Layout(width="320px")) for k in range(max_steps)]
    dropdown = w.Dropdown(options=list(PRESETS), value=preset, description="preset")
    length = w.IntSlider(value=PRESET_LENGTH.get(preset, 8), min=2, max=max_steps, description="length",
                         continuous_update=False)
    text = w.HTML()
    text.add_class("seqattn-prediction")
    output = w.Image(format="png")
    output.add_class("seqattn-plot")
    app = NextValueApp(w.HBox([w.VBox([dropdown, length, *sliders]), w.VBox([text, output])]),
                       sliders, dropdown, length, text, output, model)

    def fill(change=None) -> None:
        name = dropdown.value
        with app.widget.hold_sync():
            for s, v in zip(sliders, PRESETS[name], strict=False):
                s.unobserve(app.update, "value")
                s.value = float(v)
                s.observe(app.update, "value")
            length.unobserve(app.update, "value")
            length.value = PRESET_LENGTH.get(name, max_steps)
            length.observe(app.update, "value")
        app.update()

    for s in sliders:
        s.observe(app.update, "value")
    length.observe(app.update, "value")
    dropdown.observe(fill, "value")
    fill()
    return app


@dataclass
class SignalApp:
    """The signal-detection app: event position, amplitude and noise sliders."""

    widget: object
    position: object
    amplitude: object
    noise: object
    text: object
    output: object
    model: object
    length: int
    result: object = None
    figure: object = None
    values: np.ndarray | None = None

    def update(self, *_) -> None:
        from .api import detect
        from .plots import plot_signal_attention

        self.values, salient = make_signal_sequence(self.length, self.model.config.num_features,
                                                    self.position.value, self.amplitude.value, self.noise.value)
        self.result = detect(self.values, self.model)
        top_t, top_w = self.result.top(1)[0]
        inside = "inside" if salient[top_t] else "outside"
        self.text.value = (f"<b>P(class=1) = {self.result.prediction:.3f}</b> &nbsp; top step t={top_t} "
                           f"(weight {top_w:.3f}, {inside} the event)")
        self.figure = plot_signal_attention(self.values, self.result.attention, salient, self.result.prediction)
        _show(self.output, self.figure)


def make_signal_sequence(length: int, num_features: int, position: int, amplitude: float, noise: float,
                         event_len: int = 6, seed: int = 0):
    """One signal sequence ``[T, D]`` with the planted pattern at ``position`` (fixed background noise,
    scaled by ``noise``) and its salient mask ``[T]``."""
    from .data import signal_pattern

    rng = np.random.default_rng(seed)
    x = noise * rng.standard_normal((length, num_features))
    x[position : position + event_len] += signal_pattern(event_len, num_features, amplitude)
    salient = np.zeros(length, dtype=bool)
    salient[position : position + event_len] = amplitude != 0
    return x.astype(np.float32), salient


def signal_app(model=None, length: int = 64) -> SignalApp:
    """Sliders for the planted event's position, amplitude and the noise level; the heat strip of
    attention beneath the traces follows the event as it moves."""
    import ipywidgets as w

    from .api import load_pretrained

    model = load_pretrained("signal") if model is None else model
    position = w.IntSlider(value=20, min=0, max=length - 6, description="position", continuous_update=False)
    amplitude = w.FloatSlider(value=2.0, min=0.0, max=4.0, step=0.1, description="amplitude",
                              continuous_update=False)
    noise = w.FloatSlider(value=1.0, min=0.2, max=2.0, step=0.1, description="noise", continuous_update=False)
    text = w.HTML()
    text.add_class("seqattn-signal")
    output = w.Image(format="png")
    output.add_class("seqattn-signal-plot")
    app = SignalApp(w.VBox([w.HBox([position, amplitude, noise]), text, output]), position, amplitude, noise,
                    text, output, model, length)
    for s in (position, amplitude, noise):
        s.observe(app.update, "value")
    app.update()
    return app
