"""Long-format ("tidy") files in and out.

One row per time step: ``sequence_id``, ``t`` (orders the rows of one sequence), one or more numeric
feature columns (every column except ``sequence_id``, ``t``, ``target`` and ``label``), and optionally a
per-sequence ``target`` (next value) or ``label`` (0/1) that is constant within a sequence. Rows may come in
any order; results keep the order in which sequence ids first appear. ``.csv`` and ``.parquet`` are read
and written by extension.

Three more names are ground truth that generated files carry and that are never features: ``family`` and
``oracle`` (per sequence: the family name and the noise-free next value) and ``salient`` (per step: 1 where
a planted event lies). Evaluation uses them when present.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..files import atomic_path

ID, TIME, TARGET, LABEL = "sequence_id", "t", "target", "label"
FAMILY, ORACLE, SALIENT = "family", "oracle", "salient"
RESERVED = (ID, TIME, TARGET, LABEL, FAMILY, ORACLE, SALIENT)
SUFFIXES = (".csv", ".parquet", ".pq")


@dataclass(frozen=True)
class LongData:
    """Sequences read from a long-format table, right-padded."""

    values: np.ndarray  # [N, T, D] float64, 0 on padding
    mask: np.ndarray  # [N, T] bool
    lengths: np.ndarray  # [N] int64
    ids: list  # [N] sequence ids in order of first appearance
    features: tuple[str, ...]  # the D feature column names
    target: np.ndarray | None = None  # [N] float64
    label: np.ndarray | None = None  # [N] int64
    family: np.ndarray | None = None  # [N] str, ground truth when the file carries it
    oracle: np.ndarray | None = None  # [N] float64 noise-free next value, when carried
    salient: np.ndarray | None = None  # [N, T] bool planted-event steps, when carried

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: np.ndarray) -> LongData:
        """The sequences at integer positions ``rows``, in that order."""
        rows = np.asarray(rows)
        pick = {f: (None if getattr(self, f) is None else getattr(self, f)[rows])
                for f in ("values", "mask", "lengths", "target", "label", "family", "oracle", "salient")}
        return replace(self, ids=[self.ids[i] for i in rows], **pick)


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path}: unsupported file type {suffix!r}; use .csv or .parquet")
    return suffix


def load_table(source) -> pd.DataFrame:
    """A DataFrame from a DataFrame, or from a ``.csv``/``.parquet`` path."""
    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    suffix = _suffix(path)
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read as {suffix[1:]}: {str(e).splitlines()[0]}") from None
    except Exception as e:  # pyarrow raises its own error types for corrupt files
        if type(e).__module__.startswith("pyarrow"):
            raise ValueError(f"{path}: cannot read as parquet: {str(e).splitlines()[0]}") from None
        raise


def _numeric(df: pd.DataFrame, column: str) -> np.ndarray:
    col = df[column]
    if col.dtype == bool or not pd.api.types.is_numeric_dtype(col):
        converted = pd.to_numeric(col, errors="coerce")
        bad = col[converted.isna() & col.notna()]
        if len(bad) or col.dtype == bool:
            row = bad.index[0] if len(bad) else col.index[0]
            raise ValueError(
                f"column {column!r} must be numeric; row {row} has {col.loc[row]!r} "
                f"(sequence_id={df.loc[row, ID]!r})"
            )
        col = converted
    arr = col.to_numpy(dtype=np.float64)
    finite = np.isfinite(arr)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise ValueError(
            f"column {column!r} has a missing or non-finite value ({arr[row]}) "
            f"in sequence_id={df[ID].iloc[row]!r} at t={df[TIME].iloc[row]!r}"
        )
    return arr


def _per_sequence(df: pd.DataFrame, column: str, codes: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The value of a per-sequence column, checked constant within each sequence."""
    arr = _numeric(df, column)
    first = arr[starts][codes]
    varies = arr != first
    if varies.any():
        row = int(np.flatnonzero(varies)[0])
        raise ValueError(
            f"column {column!r} must be constant within a sequence; sequence_id={df[ID].iloc[row]!r} "
            f"has both {first[row]} and {arr[row]}"
        )
    return arr[starts]


def read_long(source, *, max_len: int | None = None, require: str | None = None,
              features: tuple[str, ...] | None = None) -> LongData:
    """Read a long-format table (path or DataFrame) into padded arrays, validating everything.

    Args:
        source: a ``.csv``/``.parquet`` path or a pandas DataFrame.
        max_len: longest sequence the caller's model supports; longer ones are a ValueError.
        require: ``"target"`` or ``"label"`` to insist on that per-sequence column.
        features: the feature columns to use (default: every non-reserved column), in this order.

    Returns:
        LongData with values ``[N, T, D]`` where T is the longest sequence.

    Raises:
        ValueError: naming the missing column, bad value, duplicate ``t``, non-constant target,
            label other than 0/1, or too-long sequence.

    >>> df = pd.DataFrame({"sequence_id": ["a", "a", "b"], "t": [1, 0, 0], "x": [2.0, 1.0, 5.0]})
    >>> d = read_long(df)
    >>> d.ids, d.values[..., 0].tolist(), d.lengths.tolist()
    (['a', 'b'], [[1.0, 2.0], [5.0, 0.0]], [2, 1])
    """
    df = load_table(source)
    name = f"{source}: " if not isinstance(source, pd.DataFrame) else ""
    try:
        return _read_frame(df, max_len=max_len, require=require, features=features)
    except ValueError as e:
        raise ValueError(f"{name}{e}") from None


def _read_frame(df, *, max_len, require, features) -> LongData:
    df = df.reset_index(drop=True)
    df.columns = [str(c) for c in df.columns]
    for column in (ID, TIME):
        if column not in df.columns:
            raise ValueError(f"missing column {column!r} (columns: {', '.join(df.columns)})")
    if require is not None and require not in df.columns:
        raise ValueError(f"missing column {require!r} (columns: {', '.join(df.columns)})")
    if features is None:
        features = tuple(c for c in df.columns if c not in RESERVED)
    else:
        missing = [c for c in features if c not in df.columns]
        if missing:
            raise ValueError(f"missing feature column {missing[0]!r} (columns: {', '.join(df.columns)})")
    if not features:
        raise ValueError(f"no feature columns: every column is one of {', '.join(RESERVED)}")
    if len(df) == 0:
        raise ValueError("no rows: the table holds no sequence")
    if df[ID].isna().any():
        raise ValueError(f"column {ID!r} has a missing value at row {int(np.flatnonzero(df[ID].isna())[0])}")
    time = _numeric(df, TIME)
    codes, uniques = pd.factorize(df[ID], sort=False)  # codes follow first appearance
    ids = uniques.tolist()  # Python ints/strs, not numpy scalars
    order = np.lexsort((time, codes))
    df, codes, time = df.iloc[order].reset_index(drop=True), codes[order], time[order]
    dup = (codes[1:] == codes[:-1]) & (time[1:] == time[:-1])
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise ValueError(f"duplicate t={time[row]:g} in sequence_id={ids[codes[row]]!r}")
    lengths = np.bincount(codes, minlength=len(ids)).astype(np.int64)
    if max_len is not None and lengths.max() > max_len:
        k = int(np.argmax(lengths))
        raise ValueError(
            f"sequence_id={ids[k]!r} has {lengths[k]} steps; the model supports at most {max_len}"
        )
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    position = np.arange(len(df)) - starts[codes]
    values = np.zeros((len(ids), int(lengths.max()), len(features)))
    for j, column in enumerate(features):
        values[codes, position, j] = _numeric(df, column)
    mask = np.arange(values.shape[1])[None, :] < lengths[:, None]
    target = label = None
    if TARGET in df.columns:
        target = _per_sequence(df, TARGET, codes, starts)
    if LABEL in df.columns:
        label_f = _per_sequence(df, LABEL, codes, starts)
        bad = ~np.isin(label_f, (0.0, 1.0))
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(f"column 'label' must be 0 or 1; sequence_id={ids[k]!r} has {label_f[k]:g}")
        label = label_f.astype(np.int64)
    family = oracle = salient = None
    if FAMILY in df.columns:
        family = df[FAMILY].astype(str).to_numpy()[starts]
    if ORACLE in df.columns:
        oracle = _per_sequence(df, ORACLE, codes, starts)
    if SALIENT in df.columns:
        salient = np.zeros(mask.shape, dtype=bool)
        salient[codes, position] = _numeric(df, SALIENT) != 0
    return LongData(values, mask, lengths, ids, tuple(features), target, label, family, oracle, salient)


def to_long(values: np.ndarray, mask: np.ndarray | None = None, *, target=None, label=None, ids=None,
            features: tuple[str, ...] | None = None, extra: dict | None = None,
            salient=None) -> pd.DataFrame:
    """A long-format DataFrame from padded arrays ``[N, T]`` or ``[N, T, D]``.

    ``extra`` adds per-sequence columns (e.g. ``{"family": ..., "oracle": ...}``), repeated on every
    row; ``salient`` ([N, T] bool) adds the per-step ground-truth column.
    """
    values = np.asarray(values)
    if values.ndim == 2:
        values = values[:, :, None]
    if values.ndim != 3:
        raise ValueError(f"values must be [N, T] or [N, T, D], got shape {values.shape}")
    n, t, d = values.shape
    mask = np.ones((n, t), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    features = features or (("value",) if d == 1 else tuple(f"x{j}" for j in range(d)))
    if len(features) != d:
        raise ValueError(f"{len(features)} feature names for {d} features")
    ids = np.arange(n) if ids is None else np.asarray(ids)
    seq, step = np.nonzero(mask)
    out = {ID: ids[seq], TIME: step}
    for j, f in enumerate(features):
        out[f] = values[seq, step, j]
    for column, per_seq in (extra or {}).items():
        out[column] = np.asarray(per_seq)[seq]
    if salient is not None:
        out[SALIENT] = np.asarray(salient, dtype=np.int8)[seq, step]
    if target is not None:
        out[TARGET] = np.asarray(target, dtype=np.float64)[seq]
    if label is not None:
        out[LABEL] = np.asarray(label, dtype=np.int64)[seq]
    return pd.DataFrame(out)


def write_long(df: pd.DataFrame, path) -> Path:
    """Write a long table to ``.csv``/``.parquet`` atomically (temp file + rename); returns the path."""
    path = Path(path)
    suffix = _suffix(path)
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
    return path
