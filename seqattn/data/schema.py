"""What a model learned about its training file's columns: a JSON-able :class:`Schema`.

A schema is fitted once on the training data (:meth:`Schema.fit`, or :meth:`Schema.fit_stream` for a Parquet
file read in bounded memory) and applied to every later file (``read_long(path, schema=schema)``), so a test
file is encoded exactly like the training file:

- **columns by name**: the mapped id/time/label/target columns and the feature names, in the model's order;
  a test file may hold them in any order. A missing feature, or an extra column that is not in
  ``ignore_cols``, is a ValueError naming it.
- **feature kinds**: ``numeric``; ``categorical`` (strings, bools, pandas categories, or any column listed in
  ``categorical``), one-hot over the training vocabulary plus an ``<unknown>`` slot for values training never
  saw; and, when the time column holds datetimes, a derived ``gap`` feature: ``log1p(seconds since the
  previous event of the sequence) / gap_scale`` (0 on the first step). Not for next value (its input is the
  one value column), nor when every gap in the file is the same (a clock-sampled sensor: a constant input).
- **too many levels**: a text column with more than ``max_levels`` distinct values (default 64), or more than
  16 distinct values of which most rows are unique (a per-row id or free text), is a ValueError that
  suggests ``ignore_cols`` (or ``max_levels``).
- **classes**: labels may be integers or strings; ``classes`` lists them sorted (numbers numerically, strings
  lexicographically) and label codes index it. Labels that are all 0/1 keep ``classes == (0, 1)``.
- **missing values**: ``missing="error"`` (default) refuses them; ``"ffill"`` fills from the previous step of
  the sequence (leading gaps from the first observed value), ``"zero"`` fills 0 (all-zero one-hot); both add
  a ``<column>__missing`` 0/1 indicator after each feature's columns. A column with no value at all is an
  error under every policy.
- **input scaling**: ``mean``/``std`` per input column (see :attr:`Schema.input_names`), fitted on the
  training data over valid steps (numeric and gap columns; one-hot and indicator columns get 0/1).
  :meth:`Schema.standardize` applies them; whether training uses them is the trainer's choice.

Everything is stored with plain Python types, so ``schema.to_dict()`` fits in a ``torch.load(weights_only=True)``
checkpoint and ``Schema.from_dict`` rebuilds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

import numpy as np

ID, TIME, TARGET, LABEL = "sequence_id", "t", "target", "label"
FAMILY, ORACLE, SALIENT = "family", "oracle", "salient"
GROUND_TRUTH = (FAMILY, ORACLE, SALIENT)  # generated files' ground truth, never features

NUMERIC, CATEGORICAL, GAP_KIND = "numeric", "categorical", "gap"
DATETIME = "datetime"
GAP = "gap"  # name of the derived time-gap feature
UNKNOWN = "<unknown>"  # one-hot slot for categories training never saw
MISSING_SUFFIX = "__missing"
MISSING_POLICIES = ("error", "ffill", "zero")
MAX_LEVELS = 64  # more distinct values than this: not a category
ID_LIKE_LEVELS = 16  # above this, a column whose values are mostly unique is an id or free text
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Feature:
    """One feature column of the file: its name, kind and (categorical) training vocabulary."""

    name: str
    kind: str = NUMERIC  # "numeric" | "categorical" | "gap" (derived from datetime times)
    vocabulary: tuple[str, ...] = ()  # categorical: levels seen in training, sorted, as strings

    def input_names(self, missing: str) -> list[str]:
        """The model input columns this feature becomes."""
        if self.kind == CATEGORICAL:
            names = [f"{self.name}={v}" for v in self.vocabulary] + [f"{self.name}={UNKNOWN}"]
        else:
            names = [self.name]
        if missing != "error" and self.kind != GAP_KIND:
            names.append(self.name + MISSING_SUFFIX)
        return names


@dataclass(frozen=True)
class Schema:
    """Column mapping, feature encoding, classes and scaling learned from a training file.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"acct": ["a", "a", "b", "b"], "when": ["2024-01-01T00:00Z", "2024-01-01T01:00Z",
    ...                    "2024-01-02T00:00Z", "2024-01-02T00:00:10Z"], "kind": ["buy", "sell", "buy", "buy"],
    ...                    "amount": [1.0, 2.0, 3.0, 4.0], "fraud": ["no", "no", "yes", "yes"]})
    >>> s = Schema.fit(df, task="classify", id_col="acct", time_col="when", label_col="fraud")
    >>> s.input_names, s.classes, s.time_kind
    (('kind=buy', 'kind=sell', 'kind=<unknown>', 'amount', 'gap'), ('no', 'yes'), 'datetime')
    >>> Schema.from_dict(s.to_dict()) == s
    True
    """

    id_col: str = ID
    time_col: str = TIME
    label_col: str = LABEL
    target_col: str = TARGET
    features: tuple[Feature, ...] = ()  # file features in model order, then the derived gap (if any)
    ignore_cols: tuple[str, ...] = ()  # file columns that are neither features nor errors
    time_kind: str = NUMERIC  # "numeric" or "datetime" (ISO strings/timestamps, converted to UTC)
    gap_scale: float | None = None  # datetime only: gap = log1p(seconds) / gap_scale
    missing: str = "error"  # "error" | "ffill" | "zero"
    classes: tuple | None = None  # sorted labels (all int or all str); label codes index this
    task: str | None = None  # "classify" | "next-value" | None (not fitted for a task)
    mean: tuple[float, ...] = ()  # per input column, fitted on training data
    std: tuple[float, ...] = ()
    version: int = SCHEMA_VERSION

    @property
    def input_names(self) -> tuple[str, ...]:
        """Names of the D model input columns, in order (``LongData.features``)."""
        return tuple(n for f in self.features for n in f.input_names(self.missing))

    @property
    def columns(self) -> tuple[str, ...]:
        """The file columns holding features (the derived gap excluded)."""
        return tuple(f.name for f in self.features if f.kind != GAP_KIND)

    def role(self, name: str) -> str:
        """The file column for a role: ``"sequence_id"``, ``"t"``, ``"label"`` or ``"target"``."""
        return {ID: self.id_col, TIME: self.time_col, LABEL: self.label_col, TARGET: self.target_col}[name]

    @property
    def reserved(self) -> tuple[str, ...]:
        """File columns that are never features: the mapped roles and the generators' ground truth."""
        return (self.id_col, self.time_col, self.label_col, self.target_col, *GROUND_TRUTH)

    # --- fitting and applying -------------------------------------------------------------------------

    @classmethod
    def fit(cls, source, *, task=None, id_col: str = ID, time_col: str = TIME, label_col: str = LABEL,
            target_col: str = TARGET, features=None, ignore_cols=(), categorical=(), missing: str = "error",
            max_levels: int = MAX_LEVELS) -> Schema:
        """Learn the schema from training data (a DataFrame or ``.csv``/``.parquet`` path).

        Args:
            task: ``"classify"`` (needs the label column and at least 2 classes), ``"next-value"`` (needs the
                target column), a task object with such a ``name``, or None.
            features: the feature columns, exactly these, by name (default: every non-reserved column that
                is not in ``ignore_cols``, in file order).
            categorical: columns to one-hot even though they hold numbers (e.g. integer codes).
            missing / max_levels: see the module docstring.

        Raises:
            ValueError: naming the missing column, bad value or too-many-levels column.
        """
        from .io import load_table

        fitter = _Fitter(_columns(id_col, time_col, label_col, target_col), task=task, features=features,
                         ignore_cols=ignore_cols, categorical=categorical, missing=missing, max_levels=max_levels)
        df = load_table(source, id_col=id_col)
        try:
            fitter.update(df)
            return fitter.finish()
        except ValueError as e:
            raise ValueError(f"{_where(source)}{e}") from None

    @classmethod
    def fit_stream(cls, path, *, task=None, id_col: str = ID, time_col: str = TIME, label_col: str = LABEL,
                   target_col: str = TARGET, features=None, ignore_cols=(), categorical=(),
                   missing: str = "error", max_levels: int = MAX_LEVELS, read_rows: int | None = None) -> Schema:
        """:meth:`fit` over a long-format Parquet file in one pass of record batches (bounded memory).

        The rows of a sequence must be contiguous in the file (as for :class:`~seqattn.data.stream.ParquetStream`).
        Vocabulary collection stops with an error as soon as a column passes ``max_levels``.
        """
        from .stream import parquet_columns, parquet_sequences

        fitter = _Fitter(_columns(id_col, time_col, label_col, target_col), task=task, features=features,
                         ignore_cols=ignore_cols, categorical=categorical, missing=missing, max_levels=max_levels,
                         whole=False)
        names = parquet_columns(path)
        keep = [c for c in names if c not in set(ignore_cols) | set(GROUND_TRUTH)]
        if features is not None:
            wanted = {id_col, time_col, label_col, target_col, *features}
            keep = [c for c in names if c in wanted]
            fitter.ignore_cols += tuple(c for c in names if c not in wanted and c not in fitter.ignore_cols
                                        and c not in GROUND_TRUTH)
        try:
            for df in parquet_sequences(path, keep, id_col, read_rows):
                fitter.update(df)
            return fitter.finish()
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None

    def apply(self, source, **kwargs):
        """``read_long(source, schema=self, **kwargs)``: encode new data exactly like the training data."""
        from .io import read_long

        return read_long(source, schema=self, **kwargs)

    def standardize(self, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """``(values - mean) / std`` per input column, with padding (``mask`` False) kept at 0.

        Shape: values ``[N, T, D]`` with D = ``len(input_names)``; mask ``[N, T]``.
        """
        values = np.asarray(values, dtype=np.float64)
        if not self.mean or values.shape[-1] != len(self.mean):
            raise ValueError(f"values have {values.shape[-1]} input columns; the schema's scaling has "
                             f"{len(self.mean)}")
        out = (values - np.asarray(self.mean)) / np.asarray(self.std)
        if mask is not None:
            out = np.where(np.asarray(mask, dtype=bool)[..., None], out, 0.0)
        return out

    def check_task(self, task) -> None:
        """Raise ValueError when the schema cannot train ``task`` (e.g. a classifier on one class)."""
        name = getattr(task, "name", task)
        if name == "classify":
            if self.classes is None:
                raise ValueError(f"no label column {self.label_col!r}: cannot train a classifier")
            if len(self.classes) < 2:
                raise ValueError(f"column {self.label_col!r} holds a single class ({self.classes[0]!r}); "
                                 f"a classifier needs at least 2")

    # --- storage ---------------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Plain Python types only (str/int/float/None, lists, dicts): safe for weights-only checkpoints."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["features"] = [{"name": f.name, "kind": f.kind, "vocabulary": list(f.vocabulary)} for f in self.features]
        out["ignore_cols"] = list(self.ignore_cols)
        out["classes"] = None if self.classes is None else list(self.classes)
        out["mean"], out["std"] = [float(v) for v in self.mean], [float(v) for v in self.std]
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Schema:
        """Rebuild from :meth:`to_dict`; a malformed dict is a ValueError naming the field."""
        if not isinstance(d, dict):
            raise ValueError(f"schema must be a dict, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"schema has unknown field(s) {', '.join(map(repr, unknown))}")
        version = d.get("version", SCHEMA_VERSION)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ValueError(f"schema version {version!r} is not one this seqattn reads (up to {SCHEMA_VERSION})")
        try:
            feats = tuple(Feature(str(f["name"]), str(f["kind"]), tuple(str(v) for v in f.get("vocabulary", ())))
                          for f in d.get("features", ()))
            kw = dict(d, features=feats, ignore_cols=tuple(d.get("ignore_cols", ())),
                      classes=None if d.get("classes") is None else tuple(d["classes"]),
                      mean=tuple(float(v) for v in d.get("mean", ())), std=tuple(float(v) for v in d.get("std", ())))
            schema = cls(**kw)
        except (KeyError, TypeError) as e:
            raise ValueError(f"schema field is malformed: {e}") from None
        schema._validate()
        return schema

    def _validate(self) -> None:
        for name in ("id_col", "time_col", "label_col", "target_col", "missing", "time_kind"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"schema field {name!r} must be a string, got {getattr(self, name)!r}")
        if self.classes is not None and not (all(type(c) is int for c in self.classes)
                                             or all(isinstance(c, str) for c in self.classes)):
            raise ValueError("schema field 'classes' must hold only integers or only strings")
        if self.time_kind == DATETIME and not (isinstance(self.gap_scale, (int, float)) and self.gap_scale > 0
                                               and math.isfinite(self.gap_scale)):
            raise ValueError(f"schema field 'gap_scale' must be a positive number, got {self.gap_scale!r}")
        for f in self.features:
            if f.kind not in (NUMERIC, CATEGORICAL, GAP_KIND):
                raise ValueError(f"schema feature {f.name!r} has unknown kind {f.kind!r}")
        if self.missing not in MISSING_POLICIES:
            raise ValueError(f"schema field 'missing' must be one of {', '.join(MISSING_POLICIES)}, got {self.missing!r}")
        if self.time_kind not in (NUMERIC, DATETIME):
            raise ValueError(f"schema field 'time_kind' must be numeric or datetime, got {self.time_kind!r}")
        n = len(self.input_names)
        if len(self.mean) != n or len(self.std) != n:
            raise ValueError(f"schema scaling has {len(self.mean)} means and {len(self.std)} stds for {n} inputs")
        if not all(math.isfinite(v) for v in self.mean) or not all(math.isfinite(v) and v > 0 for v in self.std):
            raise ValueError("schema scaling holds a non-finite mean or a non-positive std")


@dataclass(frozen=True)
class Columns:
    """The column mapping of a file: which columns hold the id, time, label and target."""

    id: str = ID
    time: str = TIME
    label: str = LABEL
    target: str = TARGET


def _columns(id_col, time_col, label_col, target_col) -> Columns:
    names = [id_col, time_col, label_col, target_col]
    for role, name in zip(("id_col", "time_col", "label_col", "target_col"), names, strict=True):
        if not isinstance(name, str) or not name:
            raise ValueError(f"{role} must be a column name, got {name!r}")
    if len(set(names)) < 4:
        raise ValueError(f"id/time/label/target columns must differ, got {names}")
    return Columns(*names)


def _where(source) -> str:
    import pandas as pd

    return "" if isinstance(source, pd.DataFrame) else f"{source}: "


def task_role(task) -> str | None:
    """The per-sequence column role a task needs: ``"label"``, ``"target"`` or None."""
    name = getattr(task, "name", task)
    if name is None:
        return None
    if name not in ("classify", "next-value"):
        raise ValueError(f"unknown task {name!r}; choose next-value or classify")
    return LABEL if name == "classify" else TARGET


@dataclass
class _Moments:
    """Count, mean and sum of squared deviations, merged chunk by chunk (Chan et al.)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def update(self, x: np.ndarray) -> None:
        x = x[np.isfinite(x)]
        if not len(x):
            return
        nb, mb = len(x), float(x.mean())
        m2b = float(((x - mb) ** 2).sum())
        n = self.n + nb
        delta = mb - self.mean
        self.mean += delta * nb / n
        self.m2 += m2b + delta * delta * self.n * nb / n
        self.n = n

    @property
    def std(self) -> float:
        s = math.sqrt(self.m2 / self.n) if self.n else 0.0
        return s if s > 0 and math.isfinite(s) else 1.0


@dataclass
class _Fitter:
    """Accumulates a schema over chunks of complete sequences (one chunk for :meth:`Schema.fit`)."""

    cols: Columns
    task: object = None
    features: tuple | None = None
    ignore_cols: tuple = ()
    categorical: tuple = ()
    missing: str = "error"
    max_levels: int = MAX_LEVELS
    whole: bool = True  # update() sees the whole file at once (False for fit_stream's chunks)
    gap: bool | None = None  # derive the time-gap feature from datetime times (None: unless next value)
    kinds: dict | None = None  # feature -> kind, fixed by the first chunk
    time_kind: str | None = None
    levels: dict = field(default_factory=dict)  # categorical feature -> set of str levels
    counts: dict = field(default_factory=dict)  # categorical feature -> non-missing values seen
    present: dict = field(default_factory=dict)  # feature -> any non-missing value seen
    moments: dict = field(default_factory=dict)  # numeric feature / GAP -> _Moments
    gap_steps: _Moments = field(default_factory=_Moments)  # log1p gaps on non-first steps (the scale)
    classes: set | None = None

    def __post_init__(self):
        if self.missing not in MISSING_POLICIES:
            raise ValueError(f"missing must be one of {', '.join(MISSING_POLICIES)}, got {self.missing!r}")
        self.role = task_role(self.task)
        self.ignore_cols = tuple(self.ignore_cols)

    @property
    def derives_gap(self) -> bool:
        """Whether datetime times add the ``gap`` feature: not for next value, whose input is the one value
        column (the gap would be a second feature it cannot take)."""
        return self.gap if self.gap is not None else self.role != TARGET

    @property
    def regular_times(self) -> bool:
        """Every gap between consecutive steps is the same (a sensor sampled on a clock, or no second step):
        the gap feature would be a constant that tells the model nothing, and maps would rank it anyway."""
        g = self.gap_steps
        return g.n == 0 or math.sqrt(max(g.m2, 0.0) / g.n) <= 1e-9 * max(abs(g.mean), 1e-12)

    def update(self, df):
        """Validate one chunk and add it to the statistics; returns the prepared frame (see ``io``)."""
        from . import io

        df = io.clean_columns(df)
        if self.kinds is None:
            names = io.feature_columns(df, self.cols, self.features, self.ignore_cols, self.role)
            if self.features is not None:  # columns left out on purpose may come back in later files
                reserved = {self.cols.id, self.cols.time, self.cols.label, self.cols.target, *GROUND_TRUTH}
                self.ignore_cols += tuple(c for c in df.columns
                                          if c not in names and c not in reserved and c not in self.ignore_cols)
            self.kinds = {n: io.detect_kind(df[n], n, n in self.categorical) for n in names}
            self.moments = {n: _Moments() for n, k in self.kinds.items() if k == NUMERIC}
        else:
            io.feature_columns(df, self.cols, tuple(self.kinds), self.ignore_cols, self.role)
        frame = io.prepare(df, self.cols, self.time_kind)
        self.time_kind = frame.time_kind
        if frame.time_kind == DATETIME and GAP in self.kinds and self.derives_gap:
            raise ValueError(f"column {GAP!r} clashes with the derived time-gap feature; rename it or pass "
                             f"ignore_cols=({GAP!r},)")
        for name, kind in self.kinds.items():
            self._update_feature(io, frame, name, kind)
        if frame.time_kind == DATETIME:
            g = io.log_gaps(frame)
            self.moments.setdefault(GAP, _Moments()).update(g)
            self.gap_steps.update(g[frame.position > 0])
        if self.cols.label in frame.df.columns:
            _, names = io.label_values(frame, self.cols.label)
            self.classes = (self.classes or set()) | set(names)
        if self.cols.target in frame.df.columns:
            io.per_sequence(frame, self.cols.target)
        return frame

    def _update_feature(self, io, frame, name: str, kind: str) -> None:
        if kind == NUMERIC:
            x = io.numeric_column(frame, name)
            missing = np.isnan(x)
            self.moments[name].update(x)
        else:
            codes, uniques = io.factorized(frame, name)
            missing = codes < 0
            seen = self.levels.setdefault(name, set())
            seen.update(str(v) for v in uniques)
            self.counts[name] = self.counts.get(name, 0) + int((~missing).sum())
            self._check_levels(name)
        self.present[name] = self.present.get(name, False) or bool((~missing).any())
        io.check_missing(frame, name, missing, self.missing, all_missing=self.whole)

    def _check_levels(self, name: str, final: bool = False) -> None:
        n, count = len(self.levels[name]), self.counts[name]
        if n > self.max_levels or (final and n > ID_LIKE_LEVELS and n > count / 2):
            why = (f"more than {self.max_levels}" if n > self.max_levels
                   else f"{n} distinct values in {count} rows, mostly unique: an id or free text")
            raise ValueError(f"column {name!r} has {why} distinct values: too many levels for a category; "
                             f"leave it out with ignore_cols=({name!r},) (or raise max_levels)")

    def finish(self) -> Schema:
        """The fitted schema (raises if a column was all missing, or a task cannot be trained)."""
        if self.kinds is None:
            raise ValueError("no rows: the table holds no sequence")
        for name in self.kinds:
            if not self.present[name]:
                raise ValueError(f"column {name!r} has no value at all (every row is missing)")
            if self.kinds[name] == CATEGORICAL:
                self._check_levels(name, final=True)
        feats = [Feature(n, k, tuple(sorted(self.levels[n])) if k == CATEGORICAL else ()) for n, k in self.kinds.items()]
        gap_scale = None
        if self.time_kind == DATETIME:
            if self.derives_gap and not self.regular_times:
                feats.append(Feature(GAP, GAP_KIND))
            mean = self.gap_steps.mean if self.gap_steps.n else 0.0
            gap_scale = mean if mean > 0 else 1.0
        schema = Schema(self.cols.id, self.cols.time, self.cols.label, self.cols.target, tuple(feats),
                        self.ignore_cols, self.time_kind, gap_scale, self.missing, _sorted_classes(self.classes),
                        getattr(self.task, "name", self.task))
        mean, std = [], []
        for f in feats:
            m = self.moments.get(f.name) if f.kind != CATEGORICAL else None
            for input_name in f.input_names(self.missing):
                scale = gap_scale if f.kind == GAP_KIND else 1.0
                plain = m is None or input_name != f.name
                mean.append(0.0 if plain else m.mean / scale)
                std.append(1.0 if plain else m.std / scale)
        schema = replace(schema, mean=tuple(mean), std=tuple(std))
        if self.task is not None:
            schema.check_task(self.task)
            if self.role == LABEL and len(self.classes) < 2:  # (0, 1) may stand for a file of 0s only
                raise ValueError(f"column {self.cols.label!r} holds a single class ({next(iter(self.classes))!r}); "
                                 f"a classifier needs at least 2")
        return schema


def _sorted_classes(classes: set | None) -> tuple | None:
    """Numbers numerically, strings lexicographically; labels that are all 0/1 give (0, 1)."""
    if classes is None:
        return None
    if all(isinstance(c, int) for c in classes):
        return (0, 1) if classes <= {0, 1} else tuple(sorted(classes))
    return tuple(sorted(str(c) for c in classes))
