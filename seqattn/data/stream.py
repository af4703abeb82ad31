"""Train on a long-format Parquet file larger than memory: read it one row group at a time.

:class:`ParquetStream` is a torch ``IterableDataset`` that yields ready :class:`Batch` objects. It holds at
most one record batch of rows plus a shuffle buffer of sequences, never the file. The rows of one sequence
must be contiguous in the file (what :func:`seqattn.data.io.write_long` writes, and what sorting by
``sequence_id`` gives); a sequence may span row groups. Every chunk is encoded by the same
:class:`~seqattn.data.schema.Schema` (fitted before streaming, by :meth:`Schema.fit_stream`, when none is
given) and goes through the same validation as :func:`seqattn.data.io.read_long`, so a bad value is a
ValueError naming the column and sequence, and categories map to the same one-hot columns in every chunk.

Splits and shards are decided per sequence from its position ``k`` in the file: ``split="val"`` keeps
``k % val_every == 0``, ``"train"`` the rest, ``"all"`` everything; then a distributed rank keeps every
``world``-th of those (and a DataLoader worker every ``num_workers``-th of its rank's).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ..tasks import get_task
from .io import ID, LABEL, TARGET, TIME, LongData, read_frame
from .loaders import Batch
from .schema import MAX_LEVELS, Schema


def _open(path):
    import pyarrow.parquet as pq

    # pre_buffer=False: pyarrow's default pre-buffering keeps every row group it has read cached,
    # which made memory grow with the file (measured: +250 MiB from 200k to 400k sequences)
    return pq.ParquetFile(path, pre_buffer=False)


def parquet_columns(path) -> list[str]:
    """The column names of a Parquet file (from its footer)."""
    return list(_open(path).schema_arrow.names)


def parquet_sequences(path, columns, id_col: str = ID, read_rows: int | None = None):
    """Yield DataFrames of complete sequences, in file order, one record batch at a time.

    A sequence may span record batches (it is carried over to the next); the rows of a sequence must be
    contiguous, otherwise a ValueError names it.
    """
    import pandas as pd

    pf = _open(path)
    rows = read_rows or max(1, pf.metadata.row_group(0).num_rows if pf.metadata.num_row_groups else 1)
    carry, seen = None, set()
    for rb in pf.iter_batches(batch_size=rows, columns=list(columns)):
        df = rb.to_pandas()
        if carry is not None:
            df = pd.concat([carry, df], ignore_index=True)
        if len(df) == 0:
            continue
        ids = df[id_col].to_numpy()
        new = np.concatenate([[True], ids[1:] != ids[:-1]])
        last_start = int(np.flatnonzero(new)[-1])
        for i in ids[new][:-1].tolist():  # the last run may continue in the next batch
            _first_time(i, seen, id_col)
        complete, carry = df.iloc[:last_start], df.iloc[last_start:]
        if len(complete):
            yield complete
    if carry is not None and len(carry):
        _first_time(carry[id_col].tolist()[0], seen, id_col)
        yield carry


def _first_time(i, seen: set, id_col: str) -> None:
    if i in seen:
        raise ValueError(f"rows of {id_col}={i!r} are not contiguous; sort the file by {id_col} to stream it")
    seen.add(i)


class ParquetStream(IterableDataset):
    """Batches from a long-format Parquet file, streamed in row-group batches.

    Args:
        path: the ``.parquet`` file.
        task: ``"next-value"`` (needs ``target``) or ``"classify"`` (needs ``label``).
        schema: how to encode the file (a :class:`~seqattn.data.schema.Schema`, e.g. from the model file or
            :meth:`Schema.fit_stream`). Without one, it is fitted on this file in one extra pass
            (``self.schema``); the column keywords below are then used, as in ``read_long``.
        id_col, time_col, label_col, target_col, features, ignore_cols, categorical, missing, max_levels:
            as in :func:`seqattn.data.io.read_long`.
        batch_size: sequences per batch.
        shuffle: shuffle within a buffer of ``buffer_size`` sequences, seeded by ``(seed, epoch)``;
            batches are cut from the buffer sorted by length, so padding stays small.
        split / val_every: which sequences this stream yields (see the module docstring).
        rank / world: this process's shard of a distributed run.
        read_rows: rows per read (default: the file's row-group size).

    >>> import pandas as pd, tempfile, os
    >>> df = pd.DataFrame({"sequence_id": [0, 0, 1, 1, 1], "t": [0, 1, 0, 1, 2],
    ...                    "x": [1., 2., 3., 4., 5.], "label": [0, 0, 1, 1, 1]})
    >>> path = os.path.join(tempfile.mkdtemp(), "d.parquet"); df.to_parquet(path, row_group_size=2)
    >>> stream = ParquetStream(path, "classify", batch_size=8, shuffle=False)
    >>> [(tuple(b.x.shape), b.y.tolist()) for b in stream]
    [((2, 3, 1), [0, 1])]
    """

    def __init__(self, path, task: str, *, schema: Schema | None = None, id_col: str = ID, time_col: str = TIME,
                 label_col: str = LABEL, target_col: str = TARGET, features: tuple[str, ...] | None = None,
                 ignore_cols=(), categorical=(), missing: str = "error", max_levels: int = MAX_LEVELS,
                 batch_size: int = 256, shuffle: bool = True, buffer_size: int = 8192, seed: int = 0,
                 split: str = "all", val_every: int = 10, rank: int = 0, world: int = 1,
                 read_rows: int | None = None):
        self.path = Path(path)
        if self.path.suffix.lower() not in (".parquet", ".pq"):
            raise ValueError(f"{self.path}: streaming reads .parquet files, not {self.path.suffix!r}")
        if not self.path.is_file():
            raise ValueError(f"{self.path}: no such file")
        if task not in ("next-value", "classify"):
            raise ValueError(f"unknown task {task!r}; choose next-value or classify")
        if split not in ("all", "train", "val"):
            raise ValueError(f"split must be all, train or val, got {split!r}")
        if batch_size < 1 or buffer_size < 1 or val_every < 2 or not 0 <= rank < world:
            raise ValueError(f"bad settings: batch_size={batch_size}, buffer_size={buffer_size}, "
                             f"val_every={val_every}, rank={rank}, world={world}")
        self.task, self.require = task, get_task(task).target
        if schema is None:
            schema = Schema.fit_stream(self.path, task=task, id_col=id_col, time_col=time_col, label_col=label_col,
                                       target_col=target_col, features=features, ignore_cols=ignore_cols,
                                       categorical=categorical, missing=missing, max_levels=max_levels,
                                       read_rows=read_rows)
        self.schema, self.ignore_cols = schema, tuple(ignore_cols)
        self.features = schema.input_names
        self.columns = [schema.id_col, schema.time_col, *schema.columns, schema.role(self.require)]
        self._check_columns(parquet_columns(self.path))
        self.batch_size, self.shuffle, self.buffer_size, self.seed = batch_size, shuffle, buffer_size, seed
        self.split, self.val_every, self.rank, self.world = split, val_every, rank, world
        self.read_rows, self.epoch, self._scan = read_rows, 0, None

    def _check_columns(self, names: list[str]) -> None:
        """The file's columns against the schema, by name, before any row is read."""
        import pandas as pd

        from .io import _check_against_schema

        try:
            _check_against_schema(pd.DataFrame(columns=names, index=[0]), self.schema, self.ignore_cols,
                                  self.require)
        except ValueError as e:
            raise ValueError(f"{self.path}: {e}") from None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _keep(self, k: np.ndarray, shards: int, shard: int) -> np.ndarray:
        """Which global sequence positions ``k`` this stream (and shard) yields."""
        if self.split == "all":
            chosen = np.ones(len(k), dtype=bool)
            order = k
        else:
            is_val = k % self.val_every == 0
            chosen = is_val if self.split == "val" else ~is_val
            # position within the split, so shards stay balanced
            order = k // self.val_every if self.split == "val" else k - k // self.val_every - 1
        return chosen & (order % shards == shard)

    def scan(self) -> dict:
        """``{"sequences": N in this stream's split and shard, "max_len": longest sequence in the file}``,
        from one pass over the id column only, cached per file (copies from :func:`with_split` share it)."""
        if self._scan is None:
            last, run, longest, count = None, 0, 0, 0
            for rb in _open(self.path).iter_batches(batch_size=self.read_rows or 65536,
                                                   columns=[self.schema.id_col]):
                ids = rb.column(0).to_numpy(zero_copy_only=False)
                if len(ids) == 0:
                    continue
                new = np.concatenate([[last is None or ids[0] != last], ids[1:] != ids[:-1]])
                starts = np.flatnonzero(new)
                if len(starts) == 0:  # the whole chunk continues the current sequence
                    run += len(ids)
                else:
                    lengths = np.diff(np.append(starts, len(ids)))
                    run += starts[0]
                    longest = max(longest, run, int(lengths[:-1].max(initial=0)))
                    run, count = int(lengths[-1]), count + len(starts)
                last = ids[-1]
            self._scan = {"count": count, "max_len": int(max(longest, run))}
        kept = int(self._keep(np.arange(self._scan["count"]), self.world, self.rank).sum())
        return {"sequences": kept, "max_len": self._scan["max_len"]}

    def __len__(self) -> int:
        """Batches per epoch for this rank (exact for one DataLoader worker)."""
        n, per_buffer = self.scan()["sequences"], math.ceil(self.buffer_size / self.batch_size)
        return (n // self.buffer_size) * per_buffer + math.ceil((n % self.buffer_size) / self.batch_size)

    def _sequences(self):
        """Yield LongData chunks of complete sequences that this stream keeps, in file order."""
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        shards, shard = self.world * workers, self.rank * workers + worker
        k0 = 0
        try:
            for df in parquet_sequences(self.path, self.columns, self.schema.id_col, self.read_rows):
                k0 = yield from self._emit(df, k0, shards, shard)
        except ValueError as e:
            raise ValueError(f"{self.path}: {e}") from None

    def _emit(self, df, k0: int, shards: int, shard: int):
        data = read_frame(df, schema=self.schema, require=self.require, keep_times=False)
        if data.label is not None and (data.label < 0).any():
            k = int(np.flatnonzero(data.label < 0)[0])
            raise ValueError(f"{self.schema.id_col}={data.ids[k]!r} has class {data.label_names[k]!r}, "
                             f"which is not among the schema's classes {list(self.schema.classes)}")
        keep = np.flatnonzero(self._keep(k0 + np.arange(len(data)), shards, shard))
        if len(keep):
            yield data.subset(keep)
        return k0 + len(data)

    def _flush(self, parts: list[LongData], rng) -> list[Batch]:
        n = sum(len(p) for p in parts)
        t = max(p.values.shape[1] for p in parts)
        values = np.zeros((n, t, len(self.features)))
        mask = np.zeros((n, t), dtype=bool)
        ys, at = [], 0
        for p in parts:
            values[at : at + len(p), : p.values.shape[1]] = p.values
            mask[at : at + len(p), : p.values.shape[1]] = p.mask
            ys.append(get_task(self.task).targets(p))
            at += len(p)
        y = np.concatenate(ys)
        values = get_task(self.task).model_values(values)
        lengths = mask.sum(1)
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        order = order[np.argsort(lengths[order], kind="stable")]  # similar lengths together
        batches = []
        for i in range(0, n, self.batch_size):
            rows = order[i : i + self.batch_size]
            longest = int(lengths[rows].max())
            batches.append(Batch(torch.from_numpy(values[rows, :longest]), torch.from_numpy(mask[rows, :longest]),
                                 torch.from_numpy(y[rows]), torch.from_numpy(rows)))
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def __iter__(self):
        rng = np.random.default_rng((self.seed, self.epoch, self.rank))
        buffer: list[LongData] = []
        size = 0
        for part in self._sequences():
            while len(part):
                take = min(len(part), self.buffer_size - size)
                buffer.append(part.subset(np.arange(take)))
                part, size = part.subset(np.arange(take, len(part))), size + take
                if size == self.buffer_size:
                    yield from self._flush(buffer, rng)
                    buffer, size = [], 0
        if size:
            yield from self._flush(buffer, rng)


def with_split(stream: ParquetStream, split: str, shuffle: bool | None = None) -> ParquetStream:
    """A copy of ``stream`` yielding another split (e.g. the validation sequences)."""
    if split not in ("all", "train", "val"):
        raise ValueError(f"split must be all, train or val, got {split!r}")
    other = copy.copy(stream)  # same file, settings and cached file scan
    other.split = split
    other.shuffle = stream.shuffle if shuffle is None else shuffle
    return other
