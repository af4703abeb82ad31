"""Reference predictors the models are measured against.

Next value: naive last value, linear extrapolation from the last two steps. Signal detection: the matched
filter that knows the planted shape (the practical ceiling at a given difficulty).
"""

from __future__ import annotations

import numpy as np


def _last(values: np.ndarray, lengths: np.ndarray, back: int = 0) -> np.ndarray:
    rows = np.arange(len(values))
    return values[rows, np.clip(lengths - 1 - back, 0, None)]


def naive_last_value(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Predict the last observed value. values [N, T], lengths [N]."""
    return _last(values, lengths)


def linear_extrapolation(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Continue the last step: 2·x[L−1] − x[L−2] (the last value when L = 1)."""
    last, prev = _last(values, lengths), _last(values, lengths, 1)
    return np.where(lengths >= 2, 2 * last - prev, last)


def matched_filter_scores(values: np.ndarray, mask: np.ndarray, pattern: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correlate the known pattern [E, D] with every window of values [N, T, D].

    Returns ``(score [N], start [N])``: the best window's correlation and where it starts. Windows that
    run past a sequence's valid steps are excluded.
    """
    n, t, _ = values.shape
    e = len(pattern)
    windows = np.lib.stride_tricks.sliding_window_view(values, e, axis=1)  # (N, T-E+1, D, E)
    corr = np.einsum("nsde,ed->ns", windows, pattern)
    ok = np.lib.stride_tricks.sliding_window_view(mask, e, axis=1).all(-1)  # window fully valid
    corr = np.where(ok, corr, -np.inf)
    start = corr.argmax(1)
    return corr[np.arange(n), start], start


def fit_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The threshold on ``scores`` that maximises accuracy on (scores, labels)."""
    order = np.argsort(scores)
    s, y = scores[order], labels[order]
    # predicting 1 above position i: correct = (#0 at or below i) + (#1 above i)
    zeros_below = np.cumsum(y == 0)
    ones_above = (y == 1).sum() - np.cumsum(y == 1)
    i = int(np.argmax(zeros_below + ones_above))
    return float((s[i] + s[min(i + 1, len(s) - 1)]) / 2)


def majority_class(train_label: np.ndarray, n: int) -> np.ndarray:
    """The most frequent training class (ties: the smallest code), ``n`` times."""
    counts = np.bincount(np.asarray(train_label)[np.asarray(train_label) >= 0])
    return np.full(n, int(np.argmax(counts)), dtype=np.int64)


def one_nearest_neighbour(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
                          chunk: int = 512) -> np.ndarray:
    """Label of the nearest training sequence in Euclidean distance over the padded arrays ``[N, T, ...]``
    (shorter sequences padded with 0; ties: the first), computed in chunks of test rows."""
    a = np.asarray(train_x, dtype=np.float64).reshape(len(train_x), -1)
    b = np.asarray(test_x, dtype=np.float64).reshape(len(test_x), -1)
    width = max(a.shape[1], b.shape[1])
    a, b = np.pad(a, ((0, 0), (0, width - a.shape[1]))), np.pad(b, ((0, 0), (0, width - b.shape[1])))
    norms = (a**2).sum(1)
    out = np.empty(len(b), dtype=np.asarray(train_y).dtype)
    for i in range(0, len(b), chunk):
        d = norms[None, :] - 2 * b[i : i + chunk] @ a.T
        out[i : i + chunk] = np.asarray(train_y)[d.argmin(1)]
    return out
