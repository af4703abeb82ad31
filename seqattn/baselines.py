"""Reference predictors the models are measured against.

Next value: naive last value, linear extrapolation from the last two steps. Signal detection: the matched
filter that knows the planted shape (the practical ceiling at a given difficulty). Event logs: the majority
class, and a bag-of-events logistic regression that sees counts and amounts but neither order nor timing.
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
def bag_of_events_features(df, *, id_col: str, categorical=("event_type", "channel"), numeric=("amount",),
                           levels: dict | None = None):
    """One row per sequence: its length, counts of every level of each categorical column, and the sum, mean
    and max of each numeric column; nothing about order or timing.

    Args:
        df: a long-format DataFrame (one row per event).
        id_col: the sequence id column.
        categorical / numeric: the columns to count / to summarise.
        levels: ``{column: [level, ...]}`` to count (from the training frame; unseen levels are not
            counted); None: the levels present in ``df``.

    Returns:
        ``(features DataFrame indexed by id in order of first appearance, levels)``.
    """
    import pandas as pd

    for column in (id_col, *categorical, *numeric):
        if column not in df.columns:
            raise ValueError(f"missing column {column!r} (columns: {', '.join(map(str, df.columns))})")
    levels = levels or {c: sorted(df[c].astype(str).unique()) for c in categorical}
    ids = pd.unique(df[id_col])
    groups = df.groupby(id_col, sort=False)
    parts = [groups.size().rename("events")]
    for column in categorical:
        counts = pd.crosstab(df[id_col], df[column].astype(str))
        parts.append(counts.reindex(columns=levels[column], fill_value=0).add_prefix(f"{column}="))
    for column in numeric:
        stats = groups[column].agg(["sum", "mean", "max"])
        parts.append(stats.add_prefix(f"{column}_"))
    return pd.concat(parts, axis=1).reindex(ids).fillna(0.0), levels


def bag_of_events_baseline(train_df, test_df, *, id_col: str = "account_id", label_col: str = "is_fraud",
                           categorical=("event_type", "channel"), numeric=("amount",), seed: int = 0) -> dict:
    """Test accuracy of a logistic regression on bag-of-events features, and of the majority class.

    The features (:func:`bag_of_events_features`) are standardised on the training sequences; the label is
    the per-sequence ``label_col``.

    Returns:
        ``{"bag_of_events": accuracy, "majority": accuracy, "train_sequences": n, "test_sequences": m}``.

    >>> from seqattn.data.events import EventConfig, generate_events
    >>> tr, te = generate_events(EventConfig(num_accounts=60, seed=1)), generate_events(EventConfig(num_accounts=40))
    >>> sorted(bag_of_events_baseline(tr, te))
    ['bag_of_events', 'majority', 'test_sequences', 'train_sequences']
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train, levels = bag_of_events_features(train_df, id_col=id_col, categorical=categorical, numeric=numeric)
    x_test, _ = bag_of_events_features(test_df, id_col=id_col, categorical=categorical, numeric=numeric,
                                       levels=levels)
    y_train = train_df.groupby(id_col, sort=False)[label_col].first().reindex(x_train.index).to_numpy()
    y_test = test_df.groupby(id_col, sort=False)[label_col].first().reindex(x_test.index).to_numpy()
    classes, counts = np.unique(y_train, return_counts=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    model.fit(x_train.to_numpy(), y_train)
    return {"bag_of_events": float((model.predict(x_test.to_numpy()) == y_test).mean()),
            "majority": float((y_test == classes[np.argmax(counts)]).mean()),
            "train_sequences": len(x_train), "test_sequences": len(x_test)}
