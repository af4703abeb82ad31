"""Long-format ("tidy") files in and out.

One row per event or time step: a sequence id column (``sequence_id``), a time column (``t``) that orders the
rows of one sequence, feature columns, and optionally a per-sequence ``target`` (next value) or ``label``
(class) that is constant within a sequence. Every column name can be mapped (``id_col=``, ``time_col=``,
``label_col=``, ``target_col=``). ``.csv`` and ``.parquet`` are read and written by extension.

- **Ids are labels, not numbers**: a CSV's id column is read as text and echoed as written (``007`` stays
  ``007``; ``1`` and ``01`` are different sequences); ids from Parquet or a DataFrame keep their type.
- **Time**: numbers; ISO-8601 strings with or without a timezone (aware values are converted to UTC, naive
  ones are taken as UTC); or pandas datetimes. Rows may come in any order: each sequence's rows are sorted
  by time with a *stable* sort, so two events with the same time keep their file order. Sequences keep the
  order in which their ids first appear. ``LongData.times`` keeps each step's original time as a string.
- **Numbers in a CSV** follow pandas' parser: a value it does not read as a number (``1_000``, ``1,5``) in a
  column whose other values are numbers is a ValueError naming the row and the value.
- Features, categories, classes, missing values and scaling: see :mod:`seqattn.data.schema`. Without a
  schema, ``read_long`` fits one on the file itself (``LongData.schema``); with ``schema=``, it encodes the
  file exactly like the training file, matching columns by name.
- Rows are named 0-based in the order of the data rows of the file (CSV line = row + 2).

Three more names are ground truth that generated files carry and that are never features: ``family`` and
``oracle`` (per sequence: the family name and the noise-free next value) and ``salient`` (per step: 1 where
a planted event lies). Evaluation uses them when present.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..files import atomic_path
from .schema import (
    CATEGORICAL,
    DATETIME,
    FAMILY,
    GAP_KIND,
    GROUND_TRUTH,
    ID,
    LABEL,
    MAX_LEVELS,
    NUMERIC,
    ORACLE,
    SALIENT,
    TARGET,
    TIME,
    Columns,
    Schema,
    _columns,
    _Fitter,
    task_role,
)

RESERVED = (ID, TIME, TARGET, LABEL, *GROUND_TRUTH)  # default column names that are never features
SUFFIXES = (".csv", ".parquet", ".pq")
_NA_STRINGS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
               "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")  # pandas' defaults


@dataclass(frozen=True)
class LongData:
    """Sequences read from a long-format table, right-padded."""

    values: np.ndarray  # [N, T, D] float64, 0 on padding; D = len(features)
    mask: np.ndarray  # [N, T] bool, True = real step
    lengths: np.ndarray  # [N] int64
    ids: list  # [N] sequence ids in order of first appearance (str from CSV; int/str from Parquet)
    features: tuple[str, ...]  # the D input column names (e.g. "x", "channel=web", "gap")
    target: np.ndarray | None = None  # [N] float64
    label: np.ndarray | None = None  # [N] int64 codes into classes; -1 = a class the schema never saw
    family: np.ndarray | None = None  # [N] str, ground truth when the file carries it
    oracle: np.ndarray | None = None  # [N] float64 noise-free next value, when carried
    salient: np.ndarray | None = None  # [N, T] bool planted-event steps, when carried
    times: np.ndarray | None = None  # [N, T] object: each step's original time as a string, None on padding
    classes: tuple | None = None  # the labels that codes 0..K-1 stand for (from the schema)
    label_names: np.ndarray | None = None  # [N] object: each sequence's label as written (str)
    schema: Schema | None = None  # the schema that encoded the data

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: np.ndarray) -> LongData:
        """The sequences at integer positions ``rows``, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        pick = {f: (None if getattr(self, f) is None else getattr(self, f)[rows])
                for f in ("values", "mask", "lengths", "target", "label", "family", "oracle", "salient",
                          "times", "label_names")}
        return replace(self, ids=[self.ids[i] for i in rows], **pick)


MAX_WINDOWS = 200_000  # series_windows: more end points than this are thinned evenly (the latest kept)


def series_windows(d: LongData, window: int = 32, min_context: int = 8, max_windows: int = MAX_WINDOWS) -> LongData:
    """One-step windows cut from whole series (a next-value file without a target column): for every step
    ``i ≥ max(2, min(min_context, n − 1))`` of a series of ``n`` values, the up to ``window`` values before it, with
    ``values[i]`` as the target. Ids are ``"<id>@<i>"``. When the file holds more end points than
    ``max_windows``, each series keeps evenly spaced ones, its last always among them.

    >>> d = read_long(pd.DataFrame({"sequence_id": ["a"] * 5, "t": range(5), "x": [1.0, 2, 3, 4, 5]}))
    >>> w = series_windows(d, window=3, min_context=2)
    >>> w.ids, w.target.tolist(), w.values[-1, :, 0].tolist()
    (['a@2', 'a@3', 'a@4'], [3.0, 4.0, 5.0], [2.0, 3.0, 4.0])
    """
    if window < 2 or min_context < 2:
        raise ValueError(f"need window >= 2 and min_context >= 2, got window={window}, min_context={min_context}")
    ends = [np.arange(max(2, min(min_context, n - 1)), n) for n in d.lengths]
    total = sum(len(e) for e in ends)
    if total == 0:
        raise ValueError("no series has 3 values: a window needs 2 values and the one that follows them")
    keep = min(1.0, max_windows / total)
    ends = [e[np.unique(np.round(np.linspace(len(e) - 1, 0, max(1, int(len(e) * keep)))).astype(int))]
            if keep < 1 and len(e) else e for e in ends]
    rows = np.repeat(np.arange(len(d)), [len(e) for e in ends])
    end = np.concatenate(ends).astype(np.int64)
    start = np.maximum(end - window, 0)
    width = int((end - start).max())
    offsets = start[:, None] + np.arange(width)[None, :]  # (W, width) steps of each window
    mask = offsets < end[:, None]
    steps = (rows[:, None], np.minimum(offsets, d.values.shape[1] - 1))
    values = np.where(mask[..., None], d.values[steps], 0.0)
    times = None if d.times is None else np.where(mask, d.times[steps], None)
    return LongData(values=values, mask=mask, lengths=mask.sum(1).astype(np.int64),
                    ids=[f"{d.ids[r]}@{e}" for r, e in zip(rows, end, strict=True)], features=d.features,
                    target=d.values[rows, end, 0].astype(np.float64), times=times, schema=d.schema)


def latest_windows(w: LongData, fraction: float) -> np.ndarray:
    """Rows of :func:`series_windows` output to validate on: the latest ``fraction`` of each series' windows
    (at least one where a series has two or more), so validation forecasts come after the training ones.

    >>> d = read_long(pd.DataFrame({"sequence_id": ["a"] * 12, "t": range(12), "x": np.arange(12.0)}))
    >>> latest_windows(series_windows(d, window=4, min_context=2), 0.2).tolist()
    [8, 9]
    """
    series = [i.rsplit("@", 1)[0] for i in w.ids]
    starts = [k for k in range(len(series)) if k == 0 or series[k] != series[k - 1]] + [len(series)]
    val = []
    for a, b in zip(starts[:-1], starts[1:], strict=True):  # a series' windows: contiguous, oldest first
        n = b - a
        if n >= 2:
            val.extend(range(b - min(n - 1, max(1, round(n * fraction))), b))
    return np.asarray(val, dtype=np.int64)


def table_columns(source) -> list[str]:
    """The column names of a ``.csv``/``.parquet`` file (its header only) or a DataFrame."""
    if isinstance(source, pd.DataFrame):
        return [str(c) for c in source.columns]
    path = Path(source)
    if _suffix(path) != ".csv":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    return [str(c) for c in pd.read_csv(path, nrows=0).columns]


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path}: unsupported file type {suffix!r}; use .csv or .parquet")
    return suffix


def load_table(source, *, id_col: str = ID) -> pd.DataFrame:
    """A DataFrame from a DataFrame, or from a ``.csv``/``.parquet`` path (a CSV's ``id_col`` read as text)."""
    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    suffix = _suffix(path)
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    try:
        if suffix == ".csv":
            return _read_csv(path, id_col)
        return pd.read_parquet(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read as {suffix[1:]}: {str(e).splitlines()[0]}") from None
    except Exception as e:  # pyarrow raises its own error types for corrupt files
        if type(e).__module__.startswith("pyarrow"):
            raise ValueError(f"{path}: cannot read as parquet: {str(e).splitlines()[0]}") from None
        raise


def _read_csv(path: Path, id_col: str) -> pd.DataFrame:
    """pandas' parser for every column but ``id_col``, which stays text exactly as written ("NA" included)."""
    header = pd.read_csv(path, nrows=0).columns
    na = {str(c): list(_NA_STRINGS) for c in header if str(c) != id_col}
    return pd.read_csv(path, dtype={id_col: str} if id_col in header else None, keep_default_na=False,
                       na_values=na)


def read_long(source, *, schema: Schema | None = None, task=None, max_len: int | None = None,
              require: str | None = None, id_col: str = ID, time_col: str = TIME, label_col: str = LABEL, target_col: str = TARGET,
              features: tuple[str, ...] | None = None, ignore_cols=(), categorical=(), missing: str = "error",
              max_levels: int = MAX_LEVELS, keep_times: bool = True, gap: bool | None = None) -> LongData:
    """Read a long-format table (path or DataFrame) into padded arrays, validating everything.

    Args:
        source: a ``.csv``/``.parquet`` path or a pandas DataFrame.
        schema: encode like this training schema (columns by name; unseen categories to ``<unknown>``;
            unseen classes get code -1). Without one, a schema is fitted on this file (``LongData.schema``).
        task: ``"classify"``/``"next-value"`` (or a task object with that ``name``) when this is a training
            file: requires the label/target column and, for classify, at least 2 classes; the fitted
            ``LongData.schema`` is then ready to store in the model file (one read, no separate fit).
        max_len: longest sequence the caller's model supports; longer ones are a ValueError.
        require: ``"target"`` or ``"label"`` to insist on that per-sequence column (by role; mapped names
            apply).
        id_col, time_col, label_col, target_col: the file's column names for each role (with a schema, the
            schema's mapping is used and these must be left at their defaults or agree).
        features: exactly these feature columns, by name (default: every non-reserved column).
        ignore_cols: columns to leave out (with a schema, extra columns not listed here are an error).
        categorical / missing / max_levels: see :mod:`seqattn.data.schema` (only without ``schema``).
        keep_times: fill ``LongData.times`` (the original time of each step, as a string).
        gap: derive the ``gap`` feature from datetime times (only without ``schema``; default: yes, unless
            ``task`` is next value, whose input is the one value column).

    Returns:
        LongData with values ``[N, T, D]`` where T is the longest sequence.

    Raises:
        ValueError: naming the missing column (and the columns that exist), the bad value with its row,
            a label that changes within a sequence, or a too-long sequence.

    >>> df = pd.DataFrame({"sequence_id": ["a", "a", "b"], "t": [1, 0, 0], "x": [2.0, 1.0, 5.0]})
    >>> d = read_long(df)
    >>> d.ids, d.values[..., 0].tolist(), d.lengths.tolist()
    (['a', 'b'], [[1.0, 2.0], [5.0, 0.0]], [2, 1])
    """
    df = load_table(source, id_col=schema.id_col if schema is not None else id_col)
    name = f"{source}: " if not isinstance(source, pd.DataFrame) else ""
    try:
        return read_frame(df, schema=schema, task=task, max_len=max_len, require=require, id_col=id_col,
                          time_col=time_col, label_col=label_col, target_col=target_col, features=features,
                          ignore_cols=ignore_cols, categorical=categorical, missing=missing, max_levels=max_levels,
                          keep_times=keep_times, gap=gap)
    except ValueError as e:
        raise ValueError(f"{name}{e}") from None


def read_frame(df: pd.DataFrame, *, schema: Schema | None = None, task=None, max_len: int | None = None,
               require: str | None = None, id_col: str = ID, time_col: str = TIME, label_col: str = LABEL,
               target_col: str = TARGET, features=None, ignore_cols=(), categorical=(), missing: str = "error",
               max_levels: int = MAX_LEVELS, keep_times: bool = True, gap: bool | None = None) -> LongData:
    """:func:`read_long` on a DataFrame already in memory (errors carry no file name)."""
    if require not in (None, LABEL, TARGET):
        raise ValueError(f"require must be 'label', 'target' or None, got {require!r}")
    require = require or task_role(task)
    df = clean_columns(df)
    if schema is None:
        fitter = _Fitter(_columns(id_col, time_col, label_col, target_col), task=task, features=features,
                         ignore_cols=tuple(ignore_cols), categorical=tuple(categorical), missing=missing,
                         max_levels=max_levels, gap=gap)
        fitter.role = require
        frame = fitter.update(df)
        schema = fitter.finish()
    else:
        if features is not None and tuple(features) != schema.columns:
            raise ValueError(f"features={tuple(features)!r} disagree with the schema's {schema.columns!r}")
        cols = _schema_columns(schema, id_col, time_col, label_col, target_col)
        _check_against_schema(df, schema, tuple(ignore_cols), require)
        frame = prepare(df, cols, schema.time_kind)
    return _encode(frame, schema, require=require, max_len=max_len, keep_times=keep_times)


def clean_columns(df: pd.DataFrame) -> pd.DataFrame:
    """The frame with string column names and a 0..R-1 index (the row numbers errors quote)."""
    df = df.reset_index(drop=True)
    df.columns = [str(c) for c in df.columns]
    return df


def _missing_column(column: str, df: pd.DataFrame, what: str = "column") -> ValueError:
    return ValueError(f"missing {what} {column!r} (columns: {', '.join(df.columns)})")


def feature_columns(df: pd.DataFrame, cols: Columns, features, ignore_cols: tuple, role: str | None) -> tuple:
    """Check the mapped columns exist and return the feature columns (given ones, or every other column)."""
    for column in (cols.id, cols.time):
        if column not in df.columns:
            raise _missing_column(column, df)
    if role is not None and getattr(cols, role) not in df.columns:
        raise _missing_column(getattr(cols, role), df)
    reserved = {cols.id, cols.time, cols.label, cols.target, *GROUND_TRUTH}
    if features is None:
        features = tuple(c for c in df.columns if c not in reserved and c not in ignore_cols)
    else:
        features = tuple(str(c) for c in features)
        missing = [c for c in features if c not in df.columns]
        if missing:
            raise _missing_column(missing[0], df, "feature column")
        clash = [c for c in features if c in reserved]
        if clash:
            raise ValueError(f"feature column {clash[0]!r} is the id, time, label or target column")
        if len(set(features)) < len(features):
            raise ValueError(f"feature columns repeat a name: {', '.join(features)}")
    if not features:
        raise ValueError(f"no feature columns: every column is one of {', '.join(sorted(reserved))} "
                         f"or ignored")
    if len(df) == 0:
        raise ValueError("no rows: the table holds no sequence")
    return features


def _schema_columns(schema: Schema, id_col, time_col, label_col, target_col) -> Columns:
    given = {"id_col": (id_col, ID, schema.id_col), "time_col": (time_col, TIME, schema.time_col),
             "label_col": (label_col, LABEL, schema.label_col), "target_col": (target_col, TARGET, schema.target_col)}
    for key, (value, default, stored) in given.items():
        if value not in (default, stored):
            raise ValueError(f"{key}={value!r} disagrees with the schema's {stored!r}")
    return Columns(schema.id_col, schema.time_col, schema.label_col, schema.target_col)


def _check_against_schema(df: pd.DataFrame, schema: Schema, ignore_cols: tuple, require: str | None) -> None:
    """Columns by name: every schema feature present, nothing else unless reserved or ignored."""
    for column in (schema.id_col, schema.time_col) + ((schema.role(require),) if require else ()):
        if column not in df.columns:
            raise _missing_column(column, df)
    missing = [c for c in schema.columns if c not in df.columns]
    if missing:
        raise ValueError(f"missing feature column(s) {', '.join(map(repr, missing))} that the model was "
                         f"trained on (columns: {', '.join(df.columns)})")
    allowed = set(schema.columns) | set(schema.reserved) | set(schema.ignore_cols) | set(ignore_cols)
    extra = [c for c in df.columns if c not in allowed]
    if extra:
        raise ValueError(f"unexpected column(s) {', '.join(map(repr, extra))}: the model's features are "
                         f"{', '.join(schema.columns)}; leave them out with ignore_cols={tuple(extra)!r}")
    if len(df) == 0:
        raise ValueError("no rows: the table holds no sequence")


def detect_kind(series: pd.Series, name: str, categorical: bool = False) -> str:
    """``"categorical"`` for text, bool and pandas categories (or when asked); ``"numeric"`` otherwise.

    A text column whose values are mostly numbers is numeric: its non-numbers are then errors naming the
    row (a typo like ``1_000`` in a number column must not turn it into a category).
    """
    if categorical or isinstance(series.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(series):
        return CATEGORICAL
    if pd.api.types.is_datetime64_any_dtype(series):
        raise ValueError(f"column {name!r} holds timestamps; only the time column may (or ignore it)")
    if pd.api.types.is_numeric_dtype(series):
        return NUMERIC
    codes, uniques = pd.factorize(series)  # parse each distinct value once, then weigh by its count
    numbers = pd.to_numeric(pd.Series(np.asarray(uniques, dtype=object)), errors="coerce").notna().to_numpy()
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    return NUMERIC if counts[numbers].sum() * 2 > counts.sum() else CATEGORICAL


@dataclass
class Frame:
    """A table sorted for reading: sequences in order of first appearance, rows by time (stable)."""

    df: pd.DataFrame  # sorted rows; the index is the row number in the file
    cols: Columns
    codes: np.ndarray  # [R] sequence of each sorted row
    ids: list  # [N]
    time: np.ndarray  # [R] sort key: float64 numbers, or int64 ns since the epoch (UTC)
    time_kind: str  # "numeric" | "datetime"
    position: np.ndarray  # [R] step of each row within its sequence
    lengths: np.ndarray  # [N]
    starts: np.ndarray  # [N] first sorted row of each sequence
    cache: dict = field(default_factory=dict)

    def where(self, pos: int) -> str:
        """``sequence_id='a' at t='...'`` for sorted row ``pos``."""
        return (f"{self.cols.id}={_plain(self.ids[self.codes[pos]])!r} at "
                f"{self.cols.time}={_plain(self.df[self.cols.time].iloc[pos])!r}")


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def prepare(df: pd.DataFrame, cols: Columns, time_kind: str | None = None) -> Frame:
    """Check ids and times, then sort: sequences by first appearance, rows by time, ties in file order."""
    ids = df[cols.id]
    bad = ids.isna().to_numpy().copy()
    if not pd.api.types.is_numeric_dtype(ids):
        bad |= (ids == "").to_numpy(dtype=bool)
    if bad.any():
        raise ValueError(f"column {cols.id!r} has a missing value at row {int(np.flatnonzero(bad)[0])}")
    key, time_kind = _parse_time(df[cols.time], cols.time, time_kind)
    codes, uniques = pd.factorize(ids, sort=False)  # codes follow first appearance
    order = np.lexsort((key, codes))  # lexsort is stable: equal times keep file order
    lengths = np.bincount(codes, minlength=len(uniques)).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    codes = codes[order]
    position = np.arange(len(df)) - starts[codes]
    return Frame(df.iloc[order], cols, codes, uniques.tolist(), key[order], time_kind, position, lengths, starts)


def _parse_time(series: pd.Series, name: str, kind: str | None) -> tuple[np.ndarray, str]:
    """The sort key of the time column and its kind; unparseable or missing values name the row."""
    if pd.api.types.is_bool_dtype(series):
        raise ValueError(f"column {name!r} must hold numbers or timestamps, not booleans")
    missing = series.isna().to_numpy()
    if missing.any():
        raise ValueError(f"column {name!r} has a missing value at row {int(np.flatnonzero(missing)[0])}")
    is_dt, is_num = pd.api.types.is_datetime64_any_dtype(series), pd.api.types.is_numeric_dtype(series)
    fast = None if is_dt or is_num or kind == NUMERIC else _arrow_datetime(series)
    if kind is None:
        if is_dt or fast is not None:
            kind = DATETIME
        else:
            kind = NUMERIC if is_num or detect_kind(series, name) == NUMERIC else DATETIME
    if kind == NUMERIC:
        if is_dt:
            raise ValueError(f"column {name!r} holds timestamps, but the model was trained on numeric times")
        return _to_float(series, name), kind
    if is_num:
        raise ValueError(f"column {name!r} holds numbers, but the model was trained on timestamps")
    if fast is not None:
        return fast, kind
    if is_dt:
        parsed = series.dt.tz_convert("UTC") if series.dt.tz is not None else series.dt.tz_localize("UTC")
    else:
        parsed = pd.to_datetime(series, utc=True, format="ISO8601", errors="coerce")
        bad = parsed.isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(f"column {name!r}: row {row} has {_plain(series.iloc[row])!r}, which is not a "
                             f"timestamp (use ISO 8601, e.g. 2024-05-01T12:00:00+02:00)")
    return parsed.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]").view(np.int64), kind


def _arrow_datetime(series: pd.Series) -> np.ndarray | None:
    """ns since the epoch (UTC) when every value is an ISO string that pyarrow parses (all with a zone,
    converted to UTC, or all without, taken as UTC); None otherwise (pandas then parses, slower: ~7 s per
    million rows with mixed offsets, against ~0.05 s here)."""
    import pyarrow as pa

    try:
        strings = pa.array(series.to_numpy(dtype=object), type=pa.large_string())
    except (pa.ArrowException, TypeError, ValueError):
        return None
    for kind in (pa.timestamp("ns", tz="UTC"), pa.timestamp("ns")):
        try:
            return strings.cast(kind).cast(pa.int64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowException, ValueError):
            continue
    return None


def _to_float(series: pd.Series, name: str, frame: Frame | None = None) -> np.ndarray:
    """float64 values (NaN = missing); a value that is not a number, or is infinite, names its row."""
    if pd.api.types.is_bool_dtype(series):
        raise ValueError(f"column {name!r} must be numeric, not boolean")
    if not pd.api.types.is_numeric_dtype(series):
        converted = pd.to_numeric(series, errors="coerce")
        bad = (converted.isna() & series.notna()).to_numpy()
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            where = f" ({frame.where(pos)})" if frame is not None else ""
            raise ValueError(f"column {name!r} must be numeric; row {series.index[pos]} has "
                             f"{_plain(series.iloc[pos])!r}{where}")
        series = converted
    arr = series.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(arr)
    if infinite.any():
        pos = int(np.flatnonzero(infinite)[0])
        where = frame.where(pos) if frame is not None else f"row {series.index[pos]}"
        raise ValueError(f"column {name!r} has a missing or non-finite value ({arr[pos]}) in {where}")
    return arr


def numeric_column(frame: Frame, name: str) -> np.ndarray:
    """A numeric feature of the sorted rows, float64 with NaN where missing (cached per frame)."""
    if ("num", name) not in frame.cache:
        frame.cache[("num", name)] = _to_float(frame.df[name], name, frame)
    return frame.cache[("num", name)]


def factorized(frame: Frame, name: str) -> tuple[np.ndarray, list]:
    """Codes (-1 = missing) and unique values of a categorical column of the sorted rows (cached)."""
    if ("cat", name) not in frame.cache:
        codes, uniques = pd.factorize(frame.df[name], sort=False)
        frame.cache[("cat", name)] = (codes, list(uniques))
    return frame.cache[("cat", name)]


def check_missing(frame: Frame, name: str, missing: np.ndarray, policy: str, all_missing: bool = True) -> None:
    """Missing values are an error under ``policy="error"``; a column with no value is always one."""
    if all_missing and missing.all():
        raise ValueError(f"column {name!r} has no value at all (every row is missing)")
    if policy == "error" and missing.any():
        pos = int(np.flatnonzero(missing)[0])
        raise ValueError(f"column {name!r} has a missing or non-finite value (nan) in {frame.where(pos)}; "
                         f"pass missing='ffill' or 'zero' to fill it")


def log_gaps(frame: Frame) -> np.ndarray:
    """log1p(seconds since the previous event of the same sequence) per sorted row; 0 on first steps."""
    seconds = np.zeros(len(frame.time))
    seconds[1:] = np.diff(frame.time) / 1e9
    seconds[frame.position == 0] = 0.0
    return np.log1p(seconds)


def label_values(frame: Frame, name: str) -> tuple[np.ndarray, list]:
    """Per sequence: the label's index into the returned list of distinct labels (int or str).

    Raises when a label is missing, is a non-integer number, or changes within a sequence.
    """
    codes, uniques = pd.factorize(frame.df[name], sort=False)
    if (codes < 0).any():
        raise ValueError(f"column {name!r} has a missing value in {frame.where(int(np.flatnonzero(codes < 0)[0]))}")
    normal = [_label(v, name) for v in uniques]
    if not all(isinstance(v, int) for v in normal):
        normal = [str(v) for v in normal]
    distinct, remap = np.unique(np.array(normal, dtype=object), return_inverse=True) if normal else ([], [])
    codes = np.asarray(remap, dtype=np.int64)[codes]
    first = codes[frame.starts][frame.codes]
    varies = codes != first
    if varies.any():
        pos = int(np.flatnonzero(varies)[0])
        raise ValueError(f"column {name!r} must be constant within a sequence; {frame.cols.id}="
                         f"{_plain(frame.ids[frame.codes[pos]])!r} has both {distinct[first[pos]]!r} and "
                         f"{distinct[codes[pos]]!r}")
    return codes[frame.starts], list(distinct)


def _label(value, name: str):
    """A label as int (integers, bools, integral floats) or str; other numbers are an error."""
    if isinstance(value, (bool, np.bool_, int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not float(value).is_integer():
            raise ValueError(f"column {name!r} holds {float(value)!r}; a label must be an integer or a string")
        return int(value)
    return str(value)


def per_sequence(frame: Frame, name: str) -> np.ndarray:
    """The value of a numeric per-sequence column, checked present and constant within each sequence."""
    arr = _to_float(frame.df[name], name, frame)
    missing = np.isnan(arr)
    if missing.any():
        raise ValueError(f"column {name!r} has a missing or non-finite value (nan) in "
                         f"{frame.where(int(np.flatnonzero(missing)[0]))}")
    first = arr[frame.starts][frame.codes]
    varies = arr != first
    if varies.any():
        pos = int(np.flatnonzero(varies)[0])
        raise ValueError(f"column {name!r} must be constant within a sequence; {frame.cols.id}="
                         f"{_plain(frame.ids[frame.codes[pos]])!r} has both {first[pos]} and {arr[pos]}")
    return arr[frame.starts]


def _encode(frame: Frame, schema: Schema, *, require, max_len, keep_times) -> LongData:
    """Padded arrays for a prepared frame under ``schema``."""
    from ..masks import valid_mask

    lengths = frame.lengths
    if max_len is not None and lengths.max() > max_len:
        k = int(np.argmax(lengths))
        raise ValueError(f"{schema.id_col}={_plain(frame.ids[k])!r} has {lengths[k]} steps; the model supports "
                         f"at most {max_len}")
    n, t = len(frame.ids), int(lengths.max())
    values = np.zeros((n, t, len(schema.input_names)))
    rows = (frame.codes, frame.position)
    j = 0
    for feat in schema.features:
        j = _encode_feature(values, rows, frame, feat, schema, j)
    mask = valid_mask(np.asarray(lengths), t)
    times = None
    if keep_times:
        times = np.full((n, t), None, dtype=object)
        times[rows] = frame.df[schema.time_col].astype(str).to_numpy(dtype=object)
    target = per_sequence(frame, schema.target_col) if schema.target_col in frame.df.columns else None
    label = label_names = None
    if schema.label_col in frame.df.columns:
        label, label_names = _label_codes(frame, schema)
    return LongData(values, mask, lengths, frame.ids, schema.input_names, target, label, *_ground_truth(frame, mask),
                    times=times, classes=schema.classes, label_names=label_names, schema=schema)


def _encode_feature(values, rows, frame: Frame, feat, schema: Schema, j: int) -> int:
    """Write one feature's input columns from column ``j`` on; returns the next free column."""
    if feat.kind == GAP_KIND:
        values[(*rows, j)] = log_gaps(frame) / schema.gap_scale
        return j + 1
    if feat.kind == NUMERIC:
        x = numeric_column(frame, feat.name)
        missing = np.isnan(x)
    else:
        codes, uniques = factorized(frame, feat.name)
        index = {v: i for i, v in enumerate(feat.vocabulary)}
        lookup = np.array([index.get(str(v), len(feat.vocabulary)) for v in uniques] + [-1], dtype=np.int64)
        x = lookup[codes].astype(np.float64)  # codes -1 (missing) pick the trailing -1
        missing = codes < 0
        x[missing] = np.nan
    check_missing(frame, feat.name, missing, schema.missing)
    if missing.any():
        x = _fill(x, frame.codes, schema.missing)
    if feat.kind == NUMERIC:
        values[(*rows, j)] = np.nan_to_num(x, nan=0.0)  # "zero", or a sequence with no value at all
        width = 1
    else:
        width = len(feat.vocabulary) + 1
        ok = ~np.isnan(x)  # "zero" leaves a missing category all-zero
        values[rows[0][ok], rows[1][ok], j + x[ok].astype(np.int64)] = 1.0
    if schema.missing != "error":
        values[(*rows, j + width)] = missing
        width += 1
    return j + width


def _fill(x: np.ndarray, seq: np.ndarray, policy: str) -> np.ndarray:
    """``ffill``: previous value of the sequence (leading gaps: the first observed one); what stays NaN
    (``zero``, or a sequence without any value) is written as 0 / an all-zero one-hot by the caller."""
    if policy == "zero":
        return x
    s = pd.Series(x).groupby(seq).ffill()
    return pd.Series(s.to_numpy()).groupby(seq).bfill().to_numpy()


def _label_codes(frame: Frame, schema: Schema) -> tuple[np.ndarray, np.ndarray]:
    """Codes into ``schema.classes`` (-1 for a class it never saw) and the labels as strings."""
    codes, distinct = label_values(frame, schema.label_col)
    classes = schema.classes or ()
    ints = bool(classes) and all(isinstance(c, int) for c in classes)
    index = {c: i for i, c in enumerate(classes)}
    mapped = np.array([index.get(_as_class(v, ints), -1) for v in distinct] or [-1], dtype=np.int64)
    names = np.array([str(v) for v in distinct] or [""], dtype=object)
    return mapped[codes], names[codes]


def _as_class(value, ints: bool):
    if ints and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return value
    return value if ints else str(value)


def _ground_truth(frame: Frame, mask: np.ndarray) -> tuple:
    """``family``, ``oracle`` and ``salient`` when the file carries them."""
    family = oracle = salient = None
    if FAMILY in frame.df.columns:
        family = frame.df[FAMILY].astype(str).to_numpy(dtype=object)[frame.starts]
    if ORACLE in frame.df.columns:
        oracle = per_sequence(frame, ORACLE)
    if SALIENT in frame.df.columns:
        salient = np.zeros(mask.shape, dtype=bool)
        salient[frame.codes, frame.position] = np.nan_to_num(_to_float(frame.df[SALIENT], SALIENT, frame)) != 0
    return family, oracle, salient


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
