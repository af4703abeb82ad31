"""The user-facing calls: shipped models, one-sequence prediction, top-k influential steps.

Only torch, numpy and the model modules are imported here, so the CLI's ``predict`` starts fast.
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

PRETRAINED = {"next-value": "next-value.pt", "signal": "signal.pt", "signal-transformer": "signal-transformer.pt"}
_TASK_OF = {"next-value": "next-value", "signal": "classify", "signal-transformer": "classify"}


def pretrained_path(name: str) -> Path:
    if name not in PRETRAINED:
        raise BadInput(f"unknown pretrained model {name!r}; choose from {', '.join(PRETRAINED)}")
    return WEIGHTS_DIR / PRETRAINED[name]


def load_pretrained(name: str = "next-value") -> nn.Module:
    """A shipped model: ``"next-value"`` (LSTM with attention), ``"signal"`` (attention pooling) or
    ``"signal-transformer"`` (the Transformer variant of the signal classifier).

    >>> model = load_pretrained("next-value")
    >>> with torch.no_grad():
    ...     round(float(model(torch.tensor([[2.0, 4.0, 6.0, 8.0, 10.0]])).prediction), 2)
    12.0
    """
    return load_model(pretrained_path(name), task=_TASK_OF[name])


@dataclass(frozen=True)
class Prediction:
    """One sequence's result: the prediction (next value, or P(class = 1)) and attention per step.

    Next-value predictions also carry their exact recipe (:mod:`seqattn.influence`): ``influence``, the
    weights w_t with Σ w_t = 1 and Σ w_t·x_t = prediction, and ``contributions`` w_t·(x_t − mean), which
    sum to prediction − mean; both None for classifiers.
    """

    prediction: float
    attention: list[float]
    influence: list[float] | None = None
    contributions: list[float] | None = None

    def top(self, k: int = 3) -> list[tuple[int, float]]:
        """The ``k`` most-attended steps as ``(t, weight)``, highest first."""
        order = np.argsort(-np.asarray(self.attention), kind="stable")[:k]
        return [(int(t), float(self.attention[t])) for t in order]


def check_values(values, max_len: int | None = None, min_len: int = 1) -> np.ndarray:
    """A finite float64 array from user input, or a ValueError naming the bad value."""
    arr = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating, str)):
            raise BadType(f"value {i} is {type(v).__name__}, not a number: {v!r}")
        try:
            f = float(v)
        except ValueError:
            raise BadInput(f"value {i} is not a number: {v!r}") from None
        if not math.isfinite(f):
            raise BadInput(f"value {i} is {v!r}; values must be finite")
        arr.append(f)
    if len(arr) < max(min_len, 1):
        raise BadInput(f"need at least {max(min_len, 1)} values, got {len(arr)}")
    if max_len is not None and len(arr) > max_len:
        raise BadInput(f"got {len(arr)} values; the model supports at most {max_len}")
    return np.asarray(arr, dtype=np.float64)


@torch.no_grad()
def predict_next(values, model: nn.Module | None = None) -> Prediction:
    """Predict the next value of one sequence and return the attention over its steps.

    >>> p = predict_next([2, 4, 6, 8, 10])
    >>> round(p.prediction, 2), len(p.attention), round(sum(p.influence), 6)
    (12.0, 5, 1.0)
    """
    model = load_pretrained("next-value") if model is None else model
    if task_of(model) is not get_task("next-value"):
        raise BadInput("predict_next needs a next-value model; this one classifies")
    x = torch.from_numpy(check_values(values, model.config.max_len, min_len=2)).unsqueeze(0)
    out = forward_with_influence(model.eval(), x)
    return Prediction(float(out.prediction[0]), out.attention[0].double().tolist(), out.influence[0].tolist(),
                      contributions(out.influence, x, out.mask)[0].tolist())


@torch.no_grad()
def detect(values, model: nn.Module | None = None) -> Prediction:
    """Score one sequence ``[T]`` or ``[T, D]`` with a classifier: P(class = 1) and attention per step."""
    model = load_pretrained("signal") if model is None else model
    if task_of(model) is not get_task("classify"):
        raise BadInput("detect needs a classification model; this one predicts next values")
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != model.config.num_features:
        raise BadInput(f"model expects [T, {model.config.num_features}] input, got shape {arr.shape}")
    check_values(arr.ravel())
    if len(arr) > model.config.max_len:
        raise BadInput(f"got {len(arr)} steps; the model supports at most {model.config.max_len}")
    out = model.eval()(torch.from_numpy(arr).float().unsqueeze(0))
    return Prediction(float(task_of(model).score(out.prediction)[0]), out.attention[0].double().tolist())
