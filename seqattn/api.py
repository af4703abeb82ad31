"""The user-facing calls: shipped models, one-sequence prediction, top-k influential steps.

Only torch, numpy and the model modules are imported here, so the CLI's ``predict`` starts fast.

**Any length.** A sequence longer than the model's ``max_len`` is still answered: next-value models (and
models whose attention uses positions, e.g. the Transformer) read its most recent ``max_len`` steps, and
the earlier steps get attention weight 0; the attention still has one weight per input step. Models that
do not use positions (attention pooling) read every step, whatever its length (:func:`length_limit`).

**Finite or refused.** A classifier computes in float32: an input beyond float32's range is a
:class:`~seqattn.errors.BadInput` naming the value. Next-value models compute in float64; an input whose
prediction still overflows is refused the same way. Nothing returned is ever NaN or infinite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .checkpoint import load_model
from .config import WEIGHTS_DIR
from .errors import BadInput, BadType
from .influence import contributions, forward_with_influence
from .tasks import get_task, task_of

PRETRAINED = {"next-value": "next-value.pt", "signal": "signal.pt", "signal-transformer": "signal-transformer.pt",
              "events": "events.pt"}
_TASK_OF = {"next-value": "next-value", "signal": "classify", "signal-transformer": "classify", "events": "classify"}


def pretrained_path(name: str) -> Path:
    if name not in PRETRAINED:
        raise BadInput(f"unknown pretrained model {name!r}; choose from {', '.join(PRETRAINED)}")
    return WEIGHTS_DIR / PRETRAINED[name]


def load_pretrained(name: str = "next-value") -> nn.Module:
    """A shipped model: ``"next-value"`` (LSTM with attention), ``"signal"`` (attention pooling),
    ``"signal-transformer"`` (the Transformer variant of the signal classifier) or ``"events"`` (the
    account event-log classifier; its model file holds the log's schema).

    >>> model = load_pretrained("next-value")
    >>> with torch.no_grad():
    ...     round(float(model(torch.tensor([[2.0, 4.0, 6.0, 8.0, 10.0]])).prediction), 2)
    12.0
    """
    return load_model(pretrained_path(name), task=_TASK_OF[name])


FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class Prediction:
    """One sequence's result: the prediction (next value, or P(class = 1)) and attention per step.

    Next-value predictions also carry their exact recipe (:mod:`seqattn.influence`): ``influence``, the
    weights w_t with Σ w_t = 1 and Σ w_t·x_t = prediction, and ``contributions`` w_t·(x_t − mean), which
    sum to prediction − mean; both None for classifiers (and 0 on steps before the model's window, whose
    mean is then the one taken).
    Classifiers give ``probabilities`` (one per class, in the order of the model's classes).
    """

    prediction: float
    attention: list[float]
    influence: list[float] | None = None
    contributions: list[float] | None = None
    probabilities: list[float] | None = None

    def top(self, k: int = 3) -> list[tuple[int, float]]:
        """The ``k`` most-attended steps as ``(t, weight)``, highest first."""
        order = np.argsort(-np.asarray(self.attention), kind="stable")[:k]
        return [(int(t), float(self.attention[t])) for t in order]


def check_values(values, max_len: int | None = None, min_len: int = 1) -> np.ndarray:
    """A finite float64 array from user input, or a ValueError naming the bad value.

    Strings are read as a CSV file is: ``1_000`` (which Python's ``float`` would take) is refused.
    ``max_len``: longest accepted input (None: any length).
    """
    arr = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating, str)):
            raise BadType(f"value {i} is {type(v).__name__}, not a number: {v!r}")
        if isinstance(v, str) and "_" in v:
            raise BadInput(f"value {i} is not a number: {v!r} (digit separators are refused, as in a CSV)")
        try:
            f = float(v)
        except ValueError:
            raise BadInput(f"value {i} is not a number: {v!r}") from None
        except OverflowError:
            raise BadInput(f"value {i} is {v!r}; values must be finite") from None
        if not math.isfinite(f):
            raise BadInput(f"value {i} is {v!r}; values must be finite")
        arr.append(f)
    if len(arr) < max(min_len, 1):
        raise BadInput(f"need at least {max(min_len, 1)} values, got {len(arr)}")
    if max_len is not None and len(arr) > max_len:
        raise BadInput(f"got {len(arr)} values; the model supports at most {max_len}")
    return np.asarray(arr, dtype=np.float64)


def check_float32(values: np.ndarray, where=None) -> None:
    """Refuse (BadInput naming it) a value beyond float32's range, which a float32 model cannot hold.

    ``where(index)``: optional, names the place of the flat ``index`` (e.g. its sequence and column).
    """
    flat = np.abs(np.asarray(values, dtype=np.float64)).ravel()
    if flat.size and float(np.nanmax(flat)) > FLOAT32_MAX:
        k = int(np.flatnonzero(flat > FLOAT32_MAX)[0])
        v = float(np.asarray(values, dtype=np.float64).ravel()[k])
        at = f" ({where(k)})" if where is not None else f" (value {k})"
        raise BadInput(f"value {v:g}{at} is beyond the model's float32 range (|v| <= {FLOAT32_MAX:.4g}); "
                       f"rescale the data")


def length_limit(model: nn.Module) -> int | None:
    """The most steps ``model`` reads at once (the most recent ones), or None for any length.

    Next-value models and models that attend over positions read their ``max_len`` most recent steps;
    attention pooling has no positions and reads every step.
    """
    from .models import SELF_ATTENTION, capabilities

    if task_of(model).recent_window or SELF_ATTENTION in capabilities(model):
        return int(model.config.max_len)
    return None


def recent_window(values: np.ndarray, lengths: np.ndarray, limit: int | None):
    """Right-padded ``values [N, T, ...]`` cut to each row's most recent ``limit`` steps.

    Returns ``(windowed [N, W, ...], window lengths [N], starts [N])``: row ``i`` of the window is the
    input's steps ``starts[i] .. lengths[i] - 1``. With ``limit`` None (or no row longer), the input itself.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if limit is None or len(lengths) == 0 or int(lengths.max()) <= limit:
        return values, lengths, np.zeros_like(lengths)
    kept = np.minimum(lengths, limit)
    starts = lengths - kept
    w = int(kept.max())
    steps = starts[:, None] + np.arange(w)[None, :]  # [N, W] input step of each window step
    valid = np.arange(w)[None, :] < kept[:, None]
    steps = np.where(valid, steps, 0)
    windowed = np.take_along_axis(values, steps.reshape(steps.shape + (1,) * (values.ndim - 2)), axis=1)
    windowed = np.where(valid.reshape(valid.shape + (1,) * (values.ndim - 2)), windowed, 0)
    return windowed, kept, starts


def place_attention(attention: np.ndarray, kept: np.ndarray, starts: np.ndarray, t: int) -> np.ndarray:
    """Window values ``[N, W, ...]`` (attention, a map) back onto the input's ``T`` steps (0 on the steps
    left out)."""
    out = np.zeros((attention.shape[0], t, *attention.shape[2:]))  # trailing dims (e.g. features) kept
    for i, (k, s0) in enumerate(zip(kept.tolist(), starts.tolist(), strict=True)):
        out[i, s0 : s0 + k] = attention[i, :k]
    return out


def _windows(model: nn.Module, values: np.ndarray, lengths: np.ndarray):
    """``values`` as float64 ``[N, T, D]`` and each row's model window: ``(values, inputs, kept, starts)``,
    ``inputs`` in the shape the task's models take (:func:`recent_window`, ``Task.model_values``)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2:
        values = values[..., None]
    windowed, kept, starts = recent_window(values, lengths, length_limit(model))
    return values, task_of(model).model_values(windowed), kept, starts


def _batches(kept: np.ndarray, batch_size: int, progress: str | None = None):
    """Row indices in batches of similar window lengths (less padding per batch); ``progress``: a bar label."""
    order = np.argsort(kept, kind="stable")
    batches = [order[i : i + batch_size] for i in range(0, len(kept), batch_size)]
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc=progress, unit="batch", leave=False)
    return batches


def _batch(model: nn.Module, inputs: np.ndarray, kept: np.ndarray, rows: np.ndarray):
    """One batch on the model's device: ``(x [b, w, ...], mask [b, w])``, w its longest window."""
    from .masks import valid_mask

    device = next(model.parameters()).device
    w = max(1, int(kept[rows].max()))
    x = torch.from_numpy(np.ascontiguousarray(inputs[rows, :w])).to(device)  # float64: the model casts
    return x, valid_mask(torch.from_numpy(kept[rows]), w).to(device)


@torch.no_grad()
def run_arrays(model: nn.Module, values: np.ndarray, lengths: np.ndarray, batch_size: int = 4096,
               progress: bool = False):
    """Run ``model`` over right-padded rows of any length (the window policy of this module).

    Args:
        values: ``[N, T, D]`` (or ``[N, T]``) float64, 0 on padding.
        lengths: ``[N]`` valid steps per row.

    Returns:
        ``(prediction, attention)``: the next value ``[N]`` (float64) or class probabilities ``[N, K]``
        for classifiers, and attention ``[N, T]`` with 0 on padding and on steps before the window.
        Rows whose output is not finite hold NaN: see :func:`first_non_finite`.
    """
    task = task_of(model)
    values, inputs, kept, starts = _windows(model, values, lengths)
    if task.dtype == torch.float32:
        check_float32(values)
    n, t = values.shape[:2]
    model.eval()
    prediction, attention = None, np.zeros((n, inputs.shape[1]))
    for rows in _batches(kept, batch_size, "predicting" if progress else None):
        x, mask = _batch(model, inputs, kept, rows)
        out = model(x, mask)
        p = task.outputs(out).double().cpu().numpy()
        if prediction is None:
            prediction = np.zeros((n, *p.shape[1:]))
        prediction[rows] = p
        attention[rows, : x.shape[1]] = out.attention.double().cpu().numpy()
    if prediction is None:
        prediction = np.zeros(n)
    return prediction, place_attention(attention, kept, starts, t)


def recipe_arrays(model: nn.Module, values: np.ndarray, lengths: np.ndarray, method: str = "rules",
                  batch_size: int = 4096, progress: bool = False):
    """:func:`run_arrays` for next-value models, with each row's exact recipe (:mod:`seqattn.influence`).

    Args:
        values: ``[N, T]`` (or ``[N, T, 1]``) float64, 0 on padding; lengths ``[N]``.
        method: ``"rules"`` (default) or ``"gradient"``.

    Returns:
        ``(prediction [N], attention [N, T], influence [N, T], contributions [N, T])``, float64; influence
        and contributions are 0 on padding and on steps before the window (a row longer than the model's
        ``max_len`` is forecast from its window, and the contributions are taken from the window's mean).
        Rows whose output is not finite hold NaN: see :func:`first_non_finite`.

    >>> p, a, w, c = recipe_arrays(load_pretrained("next-value"), np.array([[2.0, 4, 6, 8, 10]]), np.array([5]))
    >>> round(float(p[0]), 3), round(float(w.sum()), 6), round(float((w * [2, 4, 6, 8, 10]).sum()), 3)
    (12.0, 1.0, 12.0)
    """
    from .influence import check_method

    check_method(method)
    if task_of(model) is not get_task("next-value"):
        raise BadInput("recipes need a next-value model; this one classifies")
    values, inputs, kept, starts = _windows(model, values, lengths)
    n = len(kept)
    parts = np.zeros((4, n, inputs.shape[1]))  # prediction (column 0), attention, influence, contributions
    model.eval()
    for rows in _batches(kept, batch_size, "predicting" if progress else None):
        x, mask = _batch(model, inputs, kept, rows)
        out = forward_with_influence(model, x, mask, method)
        w = x.shape[1]
        parts[0, rows, 0] = out.prediction.double().cpu().numpy()
        parts[1, rows, :w] = out.attention.double().cpu().numpy()
        parts[2, rows, :w] = out.influence.cpu().numpy()
        parts[3, rows, :w] = contributions(out.influence, x, mask).cpu().numpy()
    t = values.shape[1]
    return (parts[0, :, 0].copy(), *(place_attention(parts[k], kept, starts, t) for k in (1, 2, 3)))


def explain_arrays(model: nn.Module, values: np.ndarray, lengths: np.ndarray, method: str,
                   target: np.ndarray | None = None, batch_size: int = 64, progress: bool = False,
                   reduce: str | None = "time") -> np.ndarray:
    """One influence map per right-padded row, with the window policy of :func:`run_arrays`.

    Args:
        method: a map of :mod:`seqattn.explain` (e.g. ``"occlusion"``, ``"attention"``).
        target: classifiers: the class each row's map explains (``[N]`` indices; see
            :func:`seqattn.explain.feature_time_map`), or None for the task's score.

    Returns:
        float64 shares of each row's map (absolute, summing to 1 over its valid steps; a row whose map is
        zero everywhere stays all zeros), 0 on padding and on steps before the window: ``[N, T]`` per step
        (``reduce="time"``, the default: a D-times smaller array for large files) or ``[N, T, D]`` per cell
        (``reduce=None``; D = 1 for next-value models).
        A map that is not finite raises (:mod:`seqattn.explain` never returns a wrong one).
    """
    from .explain import feature_time_map, reduce_map

    task = task_of(model)
    values, inputs, kept, starts = _windows(model, values, lengths)
    cells_per_step = 1 if reduce == "time" or inputs.ndim == 2 else inputs.shape[2]
    shares = np.zeros((len(kept), inputs.shape[1], cells_per_step))
    batch_size = max(1, min(batch_size, (1 << 14) // max(1, int(kept.max(initial=1)))))  # long rows: fewer per batch
    model.eval()
    for rows in _batches(kept, batch_size, f"explaining ({method})" if progress else None):
        x, mask = _batch(model, inputs, kept, rows)
        aim = None if target is None else torch.as_tensor(np.asarray(target)[rows], dtype=torch.long)
        cells = feature_time_map(model, x.to(task.dtype), mask, method, target=aim)
        part = reduce_map(cells, mask, None, False, "zeros", method).cpu().numpy()  # [b, w, D]
        shares[rows, : x.shape[1]] = part.sum(-1, keepdims=True) if cells_per_step == 1 else part
    placed = place_attention(shares, kept, starts, values.shape[1])
    return placed[..., 0] if reduce == "time" else placed


def top_step_features(model: nn.Module, values: np.ndarray, lengths: np.ndarray, steps: list,
                      target: np.ndarray | None = None, batch_size: int = 64) -> list[np.ndarray]:
    """For each row's chosen ``steps`` (input positions), the change in the explained score when each one
    feature of that step is set to the baseline (:func:`seqattn.explain.step_features`), with the window
    policy of :func:`run_arrays` (a step before the window gets zeros). Returns one ``[len(steps[i]), D]``
    float64 array per row."""
    from .explain import step_features

    values, inputs, kept, starts = _windows(model, values, lengths)
    out = [np.zeros((len(s), values.shape[-1])) for s in steps]
    k = max((len(s) for s in steps), default=0)
    if k == 0:
        return out
    for rows in _batches(kept, batch_size):
        local = [np.asarray(steps[r], dtype=np.int64) - starts[r] for r in rows]  # window positions
        chosen = np.zeros((len(rows), k), dtype=np.int64)  # padded entries repeat step 0
        for j, s in enumerate(local):
            chosen[j, : len(s)] = np.clip(s, 0, None)
        x, mask = _batch(model, inputs, kept, rows)
        aim = None if target is None else torch.as_tensor(np.asarray(target)[rows], dtype=torch.long)
        effects = step_features(model, x, mask, torch.from_numpy(chosen), aim).cpu().numpy()
        for j, (r, s) in enumerate(zip(rows, local, strict=True)):
            out[r] = np.where((s >= 0)[:, None], effects[j, : len(s)], 0.0)
    return out


def influential_steps(model: nn.Module, values: np.ndarray, lengths: np.ndarray, k: int, method: str = "occlusion",
                      target: np.ndarray | None = None, progress: bool = False):
    """What ``seqattn infer`` reports: each row's map, its ``k`` top steps and, for multi-feature input, the
    feature of each that mattered most.

    Returns:
        ``(shares [N, T], steps, features)``: :func:`explain_arrays`'s per-step shares; per row the indices
        of its (at most ``k``, at most its length) highest-share steps, highest first (ties: the earlier);
        per row the index of each top step's feature (:func:`top_step_features`), or None when D = 1.
    """
    shares = explain_arrays(model, values, lengths, method, target=target, progress=progress)
    steps = [np.argsort(-shares[i, : int(n)], kind="stable")[: min(k, int(n))] for i, n in enumerate(lengths)]
    if np.asarray(values).ndim < 3 or np.asarray(values).shape[-1] == 1:
        return shares, steps, None
    effects = top_step_features(model, values, lengths, steps, target)
    return shares, steps, [np.abs(e).argmax(1) for e in effects]


def first_non_finite(prediction: np.ndarray, attention: np.ndarray) -> int | None:
    """The first row whose prediction or attention is NaN/inf, or None."""
    bad = ~np.isfinite(prediction.reshape(len(prediction), -1)).all(1) | ~np.isfinite(attention).all(1)
    return int(np.flatnonzero(bad)[0]) if bad.any() else None


def _overflow(values: np.ndarray) -> BadInput:
    big = float(np.abs(values).max())
    return BadInput(f"the values (largest |value| {big:g}) overflow inside the model: its output is not "
                    f"finite; rescale them")


@torch.no_grad()
def predict_next(values, model: nn.Module | None = None, recipe_method: str = "rules") -> Prediction:
    """Predict the next value of one sequence and return the attention over its steps.

    Any length: beyond the model's ``max_len``, the most recent ``max_len`` steps are read and the earlier
    ones get weight 0. Computed in float64; an input that still overflows is a BadInput naming it.
    ``recipe_method``: the recipe behind ``influence`` and ``contributions``, ``"rules"`` (default) or
    ``"gradient"`` (:mod:`seqattn.influence`).

    >>> p = predict_next([2, 4, 6, 8, 10])
    >>> round(p.prediction, 2), len(p.attention), round(sum(p.influence), 6)
    (12.0, 5, 1.0)
    """
    model = load_pretrained("next-value") if model is None else model
    if task_of(model) is not get_task("next-value"):
        raise BadInput("predict_next needs a next-value model; this one classifies")
    arr = check_values(values, min_len=2)
    window, kept, starts = recent_window(arr[None, :, None], np.array([len(arr)]), length_limit(model))
    x = torch.from_numpy(np.ascontiguousarray(window[..., 0]))
    out = forward_with_influence(model.eval(), x, method=recipe_method)
    parts = [out.attention.double(), out.influence.double(), contributions(out.influence, x, out.mask)]
    if not (math.isfinite(float(out.prediction[0])) and all(bool(torch.isfinite(t).all()) for t in parts)):
        raise _overflow(arr)
    attention, influence, contribution = (place_attention(t.cpu().numpy(), kept, starts, len(arr))[0].tolist()
                                          for t in parts)
    return Prediction(float(out.prediction[0]), attention, influence, contribution)


@torch.no_grad()
def detect(values, model: nn.Module | None = None) -> Prediction:
    """Score one sequence ``[T]`` or ``[T, D]`` with a classifier: P(class = 1) (binary models; for more
    classes, the probability of the predicted class), the class probabilities, and attention per step."""
    model = load_pretrained("signal") if model is None else model
    if task_of(model) is not get_task("classify"):
        raise BadInput("detect needs a classification model; this one predicts next values")
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != model.config.num_features:
        raise BadInput(f"model expects [T, {model.config.num_features}] input, got shape {arr.shape}")
    check_values(arr.ravel())
    check_float32(arr, where=lambda k: f"step {k // arr.shape[1]}, feature {k % arr.shape[1]}")
    probabilities, attention = run_arrays(model, arr[None], np.array([len(arr)]))
    if first_non_finite(probabilities, attention) is not None:
        raise _overflow(arr)
    p = probabilities[0]
    score = float(p[get_task("classify").positive_class]) if len(p) == 2 else float(p.max())
    return Prediction(score, attention[0].tolist(), probabilities=p.tolist())
