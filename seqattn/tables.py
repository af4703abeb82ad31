"""One sequence's events as a table, with the influence of each event as a bar beside its row.

The picture a fraud or operations analyst reads: the account's events in time order, the model's influence
per event (any map from :mod:`seqattn.explain`, or attention), the most influential rows highlighted and,
when a feature × time map is available, the column that mattered most within each row.

pandas' Styler renders it (HTML in a notebook, ``.to_html()`` elsewhere); it needs jinja2, imported by
pandas only when rendering.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

INFLUENCE = "influence"
TOP_COLUMN = "top column"
HIGHLIGHT = "background-color: #fde2c8; font-weight: bold"  # the top rows
CELL = "background-color: #f9b27a"  # the column that mattered within a highlighted row


def sequence_rows(df: pd.DataFrame, sequence_id, *, id_col: str, time_col: str) -> pd.DataFrame:
    """The rows of one sequence in the order a model reads them: by time, ties in file order.

    ``time_col`` may hold numbers, ISO-8601 strings (with or without a zone) or pandas datetimes, as
    :func:`seqattn.data.io.read_long` accepts. A missing id is a ValueError naming it.
    """
    for column in (id_col, time_col):
        if column not in df.columns:
            raise ValueError(f"missing column {column!r} (columns: {', '.join(map(str, df.columns))})")
    rows = df[df[id_col].astype(str) == str(sequence_id)]
    if rows.empty:
        raise ValueError(f"no rows with {id_col}={sequence_id!r}")
    time = rows[time_col]
    if not pd.api.types.is_numeric_dtype(time):
        time = pd.to_datetime(time, utc=True, format="ISO8601")
    return rows.iloc[np.argsort(time.to_numpy(), kind="stable")]


def event_table(events: pd.DataFrame, influence, columns=None, top_feature=None, top: int = 3,
                precision: int = 3, first_step: int = 0):
    """A pandas Styler of one sequence's events with an influence bar beside each row.

    Args:
        events: the sequence's rows, in the model's step order (see :func:`sequence_rows`).
        influence: ``[T]`` one value per row (T = ``len(events)``; a padded ``[T_max]`` map is cut to T).
        columns: the columns to show, in this order (default: all).
        top_feature: optional ``[T]`` name of the column that mattered most within each row (from a
            feature × time map); shown as a column, and its cell is marked in the top rows.
        top: how many of the most influential rows to highlight.
        precision: decimals shown for floats.
        first_step: the step number of the first row (when ``events`` is a window of a longer sequence).

    Returns:
        ``pandas.io.formats.style.Styler``; display it in a notebook or call ``.to_html()``.

    Raises:
        ValueError: influence (or top_feature) of the wrong length, non-finite influence, an unknown column.

    >>> ev = pd.DataFrame({"event": ["login", "transfer", "logout"], "amount": [0.0, 950.0, 0.0]})
    >>> html = event_table(ev, [0.1, 0.8, 0.1], top=1).to_html()
    >>> "transfer" in html and "950.000" in html
    True
    """
    influence = np.asarray(influence, dtype=np.float64).reshape(-1)
    n = len(events)
    if len(influence) < n or not np.isfinite(influence[:n]).all():
        raise ValueError(f"influence must hold {n} finite values (one per event), got {len(influence)}")
    if len(influence) > n and np.any(influence[n:] != 0):
        raise ValueError(f"influence has {len(influence)} values for {n} events and is not 0 past them")
    columns = list(events.columns) if columns is None else list(columns)
    unknown = [c for c in columns if c not in events.columns]
    if unknown:
        raise ValueError(f"unknown column {unknown[0]!r} (columns: {', '.join(map(str, events.columns))})")
    table = events[columns].reset_index(drop=True)
    table.index = pd.RangeIndex(first_step, first_step + n, name="step")
    table[INFLUENCE] = influence[:n]
    if top_feature is not None:
        top_feature = [str(c) for c in top_feature][:n] if len(top_feature) >= n else None
        if top_feature is None:
            raise ValueError(f"top_feature must name one column per event ({n})")
        table[TOP_COLUMN] = top_feature
    top_rows = first_step + np.argsort(-table[INFLUENCE].to_numpy(), kind="stable")[: max(0, top)]
    styler = table.style.format(precision=precision)
    styler = styler.bar(subset=[INFLUENCE], color="#d65f5f", vmin=min(0.0, float(influence[:n].min())))
    styler = styler.apply(lambda row: [HIGHLIGHT if row.name in top_rows else "" for _ in row], axis=1,
                          subset=[c for c in table.columns if c != INFLUENCE])
    if top_feature is not None:
        styler = styler.apply(lambda row: [CELL if row.name in top_rows and _matches(c, row[TOP_COLUMN]) else ""
                                           for c in row.index], axis=1, subset=list(table.columns[:-2]) + [TOP_COLUMN])
    return styler


def _matches(column: str, feature: str) -> bool:
    """A table column against a model input name (``channel`` matches ``channel=web``)."""
    return str(feature) == str(column) or str(feature).startswith(f"{column}=")


def top_columns(feature_map, features) -> list[str]:
    """The input name with the largest absolute influence in each row of a feature × time map ``[T, D]``.

    ``features`` are the D input names (``LongData.features``, e.g. ``event_type=transfer``, ``amount``).
    """
    feature_map = np.asarray(feature_map, dtype=np.float64)
    if feature_map.ndim != 2 or feature_map.shape[1] != len(features):
        raise ValueError(f"feature_map must be [T, {len(features)}] (one column per input), got "
                         f"{list(feature_map.shape)}")
    return [str(features[j]) for j in np.abs(feature_map).argmax(1)]
