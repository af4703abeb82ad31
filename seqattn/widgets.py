"""Interactive apps for notebook 04 (and Voila, ``make app``): edit a sequence, see what drove the prediction.

Each ``*_app`` function returns a small object holding the widgets and the latest result, so tests and
benchmarks can set widget values and read the model's output without a browser. The figure is built once
and its artists (lines, bars, images) are updated in place; each update renders it to one PNG in an
``ipywidgets.Image`` (no display messages: the app behaves the same in Jupyter, Voila and nbval, and a
browser sees one ``<img>`` whose ``src`` changes). ipywidgets and matplotlib are imported here only.
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
# The next-value app's map selector: name -> the bars' axis label. contributions: w_t·(x_t − mean) in the
# prediction's units; weights: the recipe w_t (Σ w_t = 1, Σ w_t·x_t = prediction; the default "rules"
# recipe of seqattn.influence); consensus: IG + occlusion + attention-norm shares; integrated gradients:
# from the mean, in the prediction's units (the full-gradient recipe's contributions); shapley: each step's
# effect averaged over which other steps are already at the mean, in the prediction's units (sums to
# prediction − mean; the map whose removal order moves the forecast most, benchmarks/bench_influence.py).
NEXT_VALUE_MAPS = {
    "contributions": "contribution\n(prediction units)",
    "shapley": "Shapley value\n(prediction units)",
    "weights": "recipe weight w_t",
    "attention": "raw attention",
    "consensus": "consensus share",
    "integrated gradients": "IG from the mean",
}
SIGNAL_MAPS = ("consensus", "integrated_gradients", "occlusion", "attention")
SIGNAL_SCALE = (0.5, 0.25)  # fixed colour-bar tops: per-step share, per-cell share (a confident map ~0.3-0.7)


def slider_range(values) -> tuple[float, float, float]:
    """``(min, max, step)`` for value sliders that follow ``values``' scale: their range widened by one
    range on each side, in steps of about a hundredth of the range (a power of ten).

    >>> slider_range([2, 4, 6, 8, 10])
    (-6.0, 18.0, 0.01)
    """
    v = np.asarray(values, dtype=float)
    lo, hi = float(v.min()), float(v.max())
    span = (hi - lo) or max(abs(hi), 1.0)
    step = float(10.0 ** np.floor(np.log10(span / 100)))
    return float(np.floor((lo - span) / step) * step), float(np.ceil((hi + span) / step) * step), step


class _Canvas:
    """A figure outside pyplot (never shown twice by the inline backend, never left open) that renders to
    PNG fast: the static parts (axes, ticks, labels, colour bars) are drawn once and kept as a bitmap;
    an update redraws only the ``animated`` artists on it, unless the static parts changed (``key``)."""

    def __init__(self, size, rows, heights):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=size, dpi=80, layout="constrained")
        self.canvas = FigureCanvasAgg(self.fig)
        self.axes = self.fig.subplots(rows, 1, sharex=True, gridspec_kw={"height_ratios": heights})
        self.animated: list = []
        self._background, self._key = None, None

    def animate(self, *artists) -> None:
        for a in artists:
            a.set_animated(True)
            self.animated.append(a)

    def png(self, key) -> bytes:
        """The figure as PNG bytes; ``key`` describes the static parts (limits, labels): a new key
        redraws everything, the same key only the animated artists."""
        import io

        from PIL import Image

        if key != self._key or self._background is None:
            self.canvas.draw()  # animated artists are left out of this one
            self._background, self._key = self.canvas.copy_from_bbox(self.fig.bbox), key
        else:
            self.canvas.restore_region(self._background)
        for a in self.animated:
            if a.get_visible():
                a.axes.draw_artist(a)
        buffer = io.BytesIO()
        rgba = self.canvas.buffer_rgba()
        Image.frombuffer("RGBA", (rgba.shape[1], rgba.shape[0]), rgba, "raw", "RGBA", 0, 1).save(
            buffer, format="png", compress_level=1)
        return buffer.getvalue()


def _grow(limits: dict, key, needed: float, headroom: float = 1.3) -> float:
    """A symmetric axis limit that only grows while ``key`` (preset, map) stays the same."""
    if not np.isfinite(needed):
        raise ValueError(f"cannot draw a non-finite value ({needed}) for {key}")
    if needed > limits.get(key, 0.0):
        limits[key] = max(needed * headroom, 1e-12)
    return limits[key]


class _NextValueFigure:
    """The next-value app's figure: sequence and forecast; the selected map as bars on a diverging colour
    map; raw attention × T (1 = uniform) as a thin strip."""

    def __init__(self, max_steps: int):
        from matplotlib.colors import TwoSlopeNorm

        self.canvas = _Canvas((7.6, 5.4), 3, [2.2, 1.7, 0.42])
        self.fig, (self.top, self.bars_ax, self.strip_ax) = self.canvas.fig, self.canvas.axes
        t = np.arange(max_steps)
        (self.line,) = self.top.plot([], [], marker="o", color="tab:blue", label="sequence")
        (self.link,) = self.top.plot([], [], ls="--", color="tab:red")
        (self.star,) = self.top.plot([], [], marker="*", ms=14, ls="", color="tab:red", label="prediction")
        self.top.legend(fontsize=8, loc="upper left")
        self.bars = self.bars_ax.bar(t, np.zeros(max_steps), color="0.5", width=0.8)
        self.bars_ax.axhline(0, color="0.3", lw=0.7)
        self.norm = TwoSlopeNorm(0.0, -1.0, 1.0)
        self.strip = self.strip_ax.imshow(np.full((1, max_steps), np.nan), aspect="auto", cmap="PuOr_r",
                                          norm=TwoSlopeNorm(1.0, 0.0, 2.0), interpolation="nearest",
                                          extent=(-0.5, max_steps - 0.5, 0, 1))
        self.strip_ax.set_yticks([])
        self.strip_ax.set_ylabel("attn×T", fontsize=7, rotation=0, ha="right", va="center")
        self.strip_ax.set_xlabel("t")
        self.fig.colorbar(self.strip, ax=self.strip_ax, pad=0.01, aspect=8, ticks=[0, 1, 2])
        self.canvas.animate(self.line, self.link, self.star, *self.bars, self.strip)

    def draw(self, values, prediction, shown, attention, ylim_values, ylim_map, label) -> bytes:
        """Update the artists and return the PNG."""
        from matplotlib import colormaps

        n = len(values)
        t = np.arange(n)
        self.line.set_data(t, values)
        self.link.set_data([n - 1, n], [values[-1], prediction])
        self.star.set_data([n], [prediction])
        self.top.set_xlim(-0.5, n + 0.5)
        self.top.set_ylim(*ylim_values)
        self.norm.vmin, self.norm.vmax = -ylim_map, ylim_map
        cmap = colormaps["RdBu_r"]
        for k, bar in enumerate(self.bars):
            visible = k < n
            bar.set_visible(visible)
            if visible:
                bar.set_height(shown[k])
                bar.set_color(cmap(self.norm(shown[k])))
        self.bars_ax.set_ylim(-ylim_map, ylim_map)
        self.bars_ax.set_ylabel(label, fontsize=8)
        strip = np.full((1, len(self.bars)), np.nan)
        strip[0, :n] = np.asarray(attention) * n
        self.strip.set_data(strip)
        return self.canvas.png((n, tuple(ylim_values), ylim_map, label))


@dataclass
class NextValueApp:
    """The next-value app: ``widget`` to display; ``result`` is the latest :class:`seqattn.api.Prediction`
    and ``shown`` the values of the map drawn as bars."""

    widget: object
    sliders: list
    preset: object
    length: object
    map_select: object
    text: object
    output: object
    model: object
    figure: object = None  # the matplotlib Figure, updated in place
    result: object = None
    shown: np.ndarray | None = None
    history: list = field(default_factory=list)
    limits: dict = field(default_factory=dict)
    _canvas: object = None

    def values(self) -> list[float]:
        return [s.value for s in self.sliders[: self.length.value]]

    def map_values(self, values) -> np.ndarray:
        """The selected map for ``values`` (``result`` must be their prediction)."""
        import torch

        from .explain import feature_time_map, influence_map

        name = self.map_select.value
        if name == "contributions":
            return np.asarray(self.result.contributions)
        if name == "weights":
            return np.asarray(self.result.influence)
        if name == "attention":
            return np.asarray(self.result.attention)
        x = torch.tensor([values], dtype=torch.float64)
        if name == "consensus":
            return influence_map(self.model, x, method="consensus", empty="zeros")[0].numpy()
        if name == "shapley":
            return feature_time_map(self.model, x, method="shapley", signed=True)[0, :, 0].numpy()
        return feature_time_map(self.model, x, method="integrated_gradients")[0, :, 0].numpy()

    def update(self, *_) -> None:
        from .api import predict_next
        from .influence import format_recipe

        for k, s in enumerate(self.sliders):
            s.layout.display = "" if k < self.length.value else "none"
        values = self.values()
        self.result = predict_next(values, self.model)
        self.history.append(self.result)
        self.shown = self.map_values(values)
        key = (self.preset.value, self.map_select.value)
        ylim = _grow(self.limits, key, float(np.abs(self.shown).max()))
        v = np.asarray([*values, self.result.prediction])
        centre = self.limits.setdefault((self.preset.value, "centre"), float(v.mean()))
        half = _grow(self.limits, (self.preset.value, "values"), float(np.abs(v - centre).max()) or 1.0, 1.2)
        png = self._canvas.draw(values, self.result.prediction, self.shown, self.result.attention,
                                (centre - half, centre + half), ylim, NEXT_VALUE_MAPS[self.map_select.value])
        top = int(np.argmax(np.abs(self.result.contributions)))
        recipe = format_recipe(self.result.prediction, self.result.influence, values)
        self.text.value = (f"<b>Predicted next value: {self.result.prediction:.4f}</b> &nbsp; largest "
                           f"|contribution|: t={top} ({self.result.contributions[top]:+.3g})<br>"
                           f"<code>{recipe}</code>")
        self.output.value = png


def next_value_app(model=None, max_steps: int = 12, preset: str = "linear",
                   continuous: bool = True) -> NextValueApp:
    """One slider per time step (its range follows the preset's scale), a preset dropdown that fills
    them, a length control and a map selector (:data:`NEXT_VALUE_MAPS`); every change redraws the
    sequence, the forecast and its recipe, the selected map and the raw attention. ``continuous``:
    update while a slider is dragged (each update takes tens of ms: ``benchmarks/bench_app.py``)."""
    import ipywidgets as w

    from .api import load_pretrained

    model = load_pretrained("next-value") if model is None else model
    sliders = [w.FloatSlider(value=0.0, min=-40.0, max=40.0, step=0.1, description=f"t={k}",
                             continuous_update=continuous, readout_format=".3g",
                             layout=w.Layout(width="320px")) for k in range(max_steps)]
    dropdown = w.Dropdown(options=list(PRESETS), value=preset, description="preset")
    length = w.IntSlider(value=PRESET_LENGTH.get(preset, 8), min=2, max=max_steps, description="length",
                         continuous_update=False)
    maps = w.Dropdown(options=list(NEXT_VALUE_MAPS), value="contributions", description="map")
    maps.add_class("seqattn-map")
    text = w.HTML()
    text.add_class("seqattn-prediction")
    output = w.Image(format="png")
    output.add_class("seqattn-plot")
    canvas = _NextValueFigure(max_steps)
    app = NextValueApp(w.HBox([w.VBox([dropdown, maps, length, *sliders]), w.VBox([text, output])]),
                       sliders, dropdown, length, maps, text, output, model, canvas.fig, _canvas=canvas)

    def fill(change=None) -> None:
        name = dropdown.value
        lo, hi, step = slider_range(PRESETS[name])
        for key in [k for k in app.limits if k[0] == name]:  # a fresh axis for the preset
            del app.limits[key]
        with app.widget.hold_sync():
            for s, v in zip(sliders, PRESETS[name], strict=False):
                s.unobserve(app.update, "value")
                s.min, s.max = min(s.min, lo), max(s.max, hi)
                s.value = float(v)
                s.min, s.max, s.step = lo, hi, step
                s.observe(app.update, "value")
            length.unobserve(app.update, "value")
            length.value = PRESET_LENGTH.get(name, max_steps)
            length.observe(app.update, "value")
        app.update()

    for s in sliders:
        s.observe(app.update, "value")
    length.observe(app.update, "value")
    maps.observe(app.update, "value")
    dropdown.observe(fill, "value")
    fill()
    return app


class _SignalFigure:
    """The signal app's figure: feature traces with a legend and the planted event shaded; the map per
    step and per feature×step, each on a fixed colour scale (:data:`SIGNAL_SCALE`)."""

    def __init__(self, length: int, num_features: int, feature_names):
        from matplotlib.colors import Normalize
        from matplotlib.patches import Rectangle

        self.canvas = _Canvas((9.5, 5.0), 3, [2.6, 0.45, 0.3 * num_features + 0.3])
        self.fig, (self.top, self.strip_ax, self.heat_ax) = self.canvas.fig, self.canvas.axes
        self.lines = [self.top.plot(np.zeros(length), lw=0.9, label=name)[0] for name in feature_names]
        self.event = Rectangle((0, -1e6), 0, 2e6, color="gold", alpha=0.35, label="planted event")
        self.top.add_patch(self.event)
        self.top.legend(fontsize=7, ncol=num_features + 1, loc="upper right")
        self.top.set_xlim(-0.5, length - 0.5)
        self.strip = self.strip_ax.imshow(np.zeros((1, length)), aspect="auto", cmap="magma",
                                          norm=Normalize(0, SIGNAL_SCALE[0]), interpolation="nearest",
                                          extent=(-0.5, length - 0.5, 0, 1))
        self.strip_ax.set_yticks([])
        self.strip_ax.set_ylabel("step", fontsize=7, rotation=0, ha="right", va="center")
        self.fig.colorbar(self.strip, ax=self.strip_ax, pad=0.01, aspect=6, extend="max")
        self.heat = self.heat_ax.imshow(np.zeros((num_features, length)), aspect="auto", cmap="magma",
                                        norm=Normalize(0, SIGNAL_SCALE[1]), interpolation="nearest",
                                        extent=(-0.5, length - 0.5, num_features - 0.5, -0.5))
        self.heat_ax.set_yticks(range(num_features), feature_names, fontsize=7)
        self.heat_ax.set_xlabel("t")
        self.fig.colorbar(self.heat, ax=self.heat_ax, pad=0.01, aspect=8, extend="max", label="share")
        self.canvas.animate(*self.lines, self.event, self.strip, self.heat)
        self.limit = 0.0

    def draw(self, values, salient, cells, bound: float = 0.0) -> bytes:
        """Update the artists and return the PNG. The value axis only grows, to cover ``values`` and
        ``bound`` (the largest |value| the current amplitude, noise and seed give at any event position), so
        it does not jump, and dragging the event redraws only the artists, never the whole figure."""
        for d, line in enumerate(self.lines):
            line.set_ydata(values[:, d])
        self.limit = max(self.limit, max(float(np.abs(values).max()), bound) * 1.1 or 1.0)
        self.top.set_ylim(-self.limit, self.limit)
        steps = np.flatnonzero(salient)
        self.event.set_visible(len(steps) > 0)
        if len(steps):
            self.event.set_x(steps[0] - 0.5)
            self.event.set_width(len(steps))
        self.strip.set_data(cells.sum(1)[None, :])
        self.heat.set_data(cells.T)
        return self.canvas.png(self.limit)


@dataclass
class SignalApp:
    """The signal-detection app: event position, amplitude, noise level and seed, and a map selector.
    ``result`` is the latest :func:`seqattn.api.detect` Prediction; ``cells`` the map ``[T, D]``."""

    widget: object
    position: object
    amplitude: object
    noise: object
    seed: object
    map_select: object
    text: object
    output: object
    model: object
    length: int
    figure: object = None
    result: object = None
    values: np.ndarray | None = None
    cells: np.ndarray | None = None
    _canvas: object = None

    def update(self, *_) -> None:
        import torch

        from .api import detect
        from .explain import influence_map, top_steps

        self.values, salient = make_signal_sequence(self.length, self.model.config.num_features,
                                                    self.position.value, self.amplitude.value, self.noise.value,
                                                    seed=self.seed.value)
        self.result = detect(self.values, self.model)
        x = torch.as_tensor(self.values).unsqueeze(0)
        self.cells = influence_map(self.model, x, method=self.map_select.value, reduce=None)[0].numpy()
        t, share, feature = top_steps(self.cells, k=1)[0]
        inside = "inside" if salient[t] else "outside"
        self.text.value = (f"<b>P(class=1) = {self.result.prediction:.3f}</b> &nbsp; {self.map_select.value}: "
                           f"top step t={t} (share {share:.3f}, {inside} the event), top feature x{feature}")
        bound = signal_bound(self.length, self.model.config.num_features, self.amplitude.value, self.noise.value,
                             seed=self.seed.value)
        self.output.value = self._canvas.draw(self.values, salient, self.cells, bound)


def make_signal_sequence(length: int, num_features: int, position: int, amplitude: float, noise: float,
                         event_len: int = 6, seed: int = 0):
    """One signal sequence ``[T, D]`` with the planted pattern at ``position`` (fixed background noise,
    scaled by ``noise``) and its salient mask ``[T]``."""
    from .data import signal_pattern

    x = noise * _signal_noise(length, num_features, seed)
    x[position : position + event_len] += signal_pattern(event_len, num_features, amplitude)
    salient = np.zeros(length, dtype=bool)
    salient[position : position + event_len] = amplitude != 0
    return x.astype(np.float32), salient


def _signal_noise(length: int, num_features: int, seed: int) -> np.ndarray:
    """The app's unit background noise ``[T, D]`` for ``seed`` (the same at every event position)."""
    return np.random.default_rng(seed).standard_normal((length, num_features))


def signal_bound(length: int, num_features: int, amplitude: float, noise: float, event_len: int = 6,
                 seed: int = 0) -> float:
    """An upper bound on |value| of :func:`make_signal_sequence` at every event position: the largest
    |noise| plus the pattern's peak."""
    from .data import signal_pattern

    peak = float(np.abs(signal_pattern(event_len, num_features, amplitude)).max())
    return abs(noise) * float(np.abs(_signal_noise(length, num_features, seed)).max()) + peak


def signal_app(model=None, length: int = 64, continuous: bool = True) -> SignalApp:
    """Sliders for the planted event's position and amplitude, the noise level and its seed, and a map
    selector (:data:`SIGNAL_MAPS`, the consensus first); the per-step strip and the feature×time heatmap
    beneath the traces follow the event, on fixed colour scales."""
    import ipywidgets as w

    from .api import load_pretrained

    model = load_pretrained("signal") if model is None else model
    position = w.IntSlider(value=20, min=0, max=length - 6, description="position", continuous_update=continuous)
    amplitude = w.FloatSlider(value=2.0, min=0.0, max=4.0, step=0.1, description="amplitude",
                              continuous_update=continuous)
    noise = w.FloatSlider(value=1.0, min=0.2, max=2.0, step=0.1, description="noise", continuous_update=continuous)
    seed = w.BoundedIntText(value=0, min=0, max=10_000, description="noise seed", layout=w.Layout(width="170px"))
    maps = w.Dropdown(options=list(SIGNAL_MAPS), value=SIGNAL_MAPS[0], description="map")
    text = w.HTML()
    text.add_class("seqattn-signal")
    output = w.Image(format="png")
    output.add_class("seqattn-signal-plot")
    num_features = model.config.num_features
    canvas = _SignalFigure(length, num_features, [f"x{d}" for d in range(num_features)])
    app = SignalApp(w.VBox([w.HBox([position, amplitude, noise]), w.HBox([seed, maps]), text, output]),
                    position, amplitude, noise, seed, maps, text, output, model, length, canvas.fig,
                    _canvas=canvas)
    for control in (position, amplitude, noise, seed, maps):
        control.observe(app.update, "value")
    app.update()
    return app


@dataclass
class EventsApp:
    """The event-log app: pick an account, see its events with the influence of each row on the model's
    answer (occlusion of the predicted class: what ``seqattn infer`` ranks by) and, in the top rows, the
    column that mattered. ``influence`` is the selected account's map ``[T]``; ``top`` its top rows."""

    widget: object
    account: object
    text: object
    output: object
    model: object
    log: object
    data: object
    probabilities: np.ndarray
    columns: dict
    rows: int = 15  # table rows shown, around the most influential event
    influence: np.ndarray | None = None
    top: list = field(default_factory=list)

    def update(self, *_) -> None:
        from .api import influential_steps
        from .data.events import SALIENT
        from .tables import event_table, sequence_rows

        row = self.data.ids.index(self.account.value)
        n = int(self.data.lengths[row])
        values, lengths = self.data.values[row : row + 1, :n], self.data.lengths[row : row + 1]
        k = int(np.argmax(self.probabilities[row]))
        shares, steps, top_features = influential_steps(self.model, values, lengths, 3, target=np.array([k]))
        self.influence = shares[0]
        self.top = [(int(t), self.data.features[int(f)]) for t, f in zip(steps[0], top_features[0], strict=True)]
        top_feature = [""] * n
        for t, f in self.top:
            top_feature[t] = f
        events = sequence_rows(self.log, self.account.value, id_col=self.columns["id_col"],
                               time_col=self.columns["time_col"])
        shown = [c for c in events.columns if c not in (self.columns["id_col"], self.columns["label_col"], SALIENT)]
        label = self.data.classes[k] if self.data.classes else k
        first = self.top[0]
        lo = max(0, min(first[0] - self.rows // 3, n - self.rows))
        hi = min(n, lo + self.rows)  # a window of rows around the most influential event
        self.text.value = (f"<b>{self.account.value}</b>: predicted {label} (p = {self.probabilities[row, k]:.3f}), "
                           f"{n} events; most influential: step {first[0]} ({first[1]}); showing steps {lo}-{hi - 1}")
        self.output.value = event_table(events.iloc[lo:hi], self.influence[lo:hi], columns=shown,
                                        top_feature=top_feature[lo:hi], top=sum(lo <= t < hi for t, _ in self.top),
                                        first_step=lo).to_html()


def events_app(model=None, log=None, accounts: int = 40) -> EventsApp:
    """An account picker over a generated (or your) event log; the accounts the model flags come first.

    Args:
        model: an event-log classifier whose model file holds its schema (default: the shipped
            ``weights/events.pt``, trained by ``python -m seqattn.pretrain events``).
        log: the event log as a DataFrame with the model's columns (default: a generated log of
            ``accounts`` unseen accounts, :func:`seqattn.data.events.generate_events`).
    """
    import ipywidgets as w

    from .api import load_pretrained, run_arrays
    from .data.events import COLUMNS, EventConfig, generate_events
    from .data.io import read_long

    model = load_pretrained("events") if model is None else model
    log = generate_events(EventConfig(num_accounts=accounts, seed=2024)) if log is None else log
    columns = {k: getattr(model.schema, k) for k in COLUMNS}  # the log's own column names
    data = read_long(log, schema=model.schema)
    probabilities, _ = run_arrays(model, data.values, data.lengths)
    order = np.argsort(-probabilities.max(1) * (probabilities.argmax(1) != 0), kind="stable")  # flagged first
    options = [data.ids[i] for i in order]
    account = w.Dropdown(options=options, value=options[0], description="account")
    account.add_class("seqattn-account")
    text = w.HTML()
    text.add_class("seqattn-events")
    output = w.HTML()
    output.add_class("seqattn-events-table")
    app = EventsApp(w.VBox([account, text, output]), account, text, output, model, log, data, probabilities,
                    columns)
    account.observe(app.update, "value")
    app.update()
    return app


CHECKS_TAG = "checks"  # notebook cells with this tag run (nbval, Jupyter) but the app page hides them


def app_page_style():
    """Display once at the top of an app notebook: on the rendered page (Voila, ``make app``) the cells
    tagged :data:`CHECKS_TAG` are hidden — Voila's template gives each cell a ``celltag_<tag>`` class —
    so the page shows only the apps while the notebook's checks still run in Jupyter and under nbval."""
    from IPython.display import HTML

    return HTML(f"<style>.celltag_{CHECKS_TAG} {{display: none !important;}}</style>")
