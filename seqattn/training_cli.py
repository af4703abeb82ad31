"""``seqattn train``: data (generated or a long-format file) → model → ``train_model`` → metrics.

Kept apart from ``cli.py`` so the other subcommands never import pandas or the training loop. The
command line becomes a typed :class:`TrainJob`; the model's sizes and training settings come from its
recipe (:func:`seqattn.recipes.recipe_for`), with the job's options on top, and the model file records
the resulting recipe and, for a training file, its schema (column mapping, features, classes).

A model file is never lost: an existing ``--out`` is kept unless ``--force`` (or ``--resume``); the run
holds ``<out>.lock`` (:func:`seqattn.files.exclusive`), so a second training to the same path fails at
once; a resume with another model or config is refused before anything is loaded into the model.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from . import distributed as ddp
from .config import SignalConfig, is_fast
from .data import generate_next_value, generate_signal
from .data.loaders import BucketLoader, NextValueStream
from .data.schema import TARGET
from .errors import BadInput, UsageError
from .files import exclusive
from .metrics import evaluate
from .models import build_model
from .recipes import DataShape, Recipe, recipe_for, recipe_for_data
from .tasks import Task, get_task
from .train import NonFiniteLossError, set_seed, train_model

SERIES_WINDOW = 32  # a next-value file of whole series is cut into one-step windows of up to this many values


@dataclass(frozen=True)
class TrainJob:
    """One ``seqattn train`` run, as the command line gives it (None: the recipe's value)."""

    task: str
    model: str | None = None
    csv: str | None = None
    epochs: int | None = None
    lr: float | None = None
    batch_size: int | None = None  # None: the recipe's (fit: follows N; generated and --stream: 256)
    steps: int | None = None  # optimizer steps (--csv: seqattn.fit; None: the recipe's)
    num_samples: int | None = None
    val_fraction: float = 0.1
    seed: int = 0
    out: str = "model.pt"
    resume: bool = False
    fast: bool = False
    dry_run: bool = False
    no_progress: bool = False
    stream: bool = False
    force: bool = False
    id_col: str | None = None  # column mapping (None: today's names); see seqattn.cli.add_column_options
    time_col: str | None = None
    label_col: str | None = None
    target_col: str | None = None
    features: str | None = None  # "a,b,c"
    ignore_cols: str | None = None  # "a,b"
    missing: str | None = None  # "error" | "ffill" | "zero"

    @classmethod
    def from_args(cls, args) -> TrainJob:
        """From an argparse namespace (or a TrainJob, returned as is)."""
        if isinstance(args, cls):
            return args
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})

    def check(self) -> None:
        """Refuse bad settings before any data is read."""
        if not 0.0 < self.val_fraction < 1.0:
            raise UsageError(f"--val-fraction must be between 0 and 1, got {self.val_fraction}")
        for name in ("epochs", "batch_size", "num_samples", "steps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
        if self.lr is not None and not self.lr > 0:
            raise UsageError(f"--lr must be > 0, got {self.lr}")
        out = Path(self.out)
        if out.is_dir():
            raise UsageError(f"--out {out} is a directory; give a file path")
        if self.resume and not out.is_file():
            raise UsageError(f"--resume: no training state at {out}")
        if out.exists() and not (self.resume or self.force or self.dry_run):
            raise UsageError(f"--out {out} already exists; give --force to replace it, --resume to continue "
                             f"its training, or another --out")
        if not (self.csv or self.stream) and any(v is not None for v in self.columns().values()):
            raise UsageError("column options (--id-col, --features, ...) need a training file: give --csv FILE")
        if self.steps is not None and (not self.csv or self.stream):
            raise UsageError("--steps counts seqattn.fit's optimizer steps: give a training file with --csv "
                             "(generated data and --stream count --epochs)")
        if self.stream and not (self.csv and Path(self.csv).suffix.lower() in (".parquet", ".pq")):
            raise UsageError("--stream reads a long-format .parquet file: give it with --csv FILE.parquet")

    @property
    def batch(self) -> int:
        """Sequences per batch on the epoch-based paths (generated data, --stream)."""
        return self.batch_size or 256

    def columns(self) -> dict:
        """read_long/ParquetStream column keywords from the column options that were given."""
        from .cli import column_options

        return column_options(self)


def _split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if n < 2:
        raise UsageError(f"need at least 2 sequences to hold some out for validation, got {n}")
    order = np.random.default_rng(seed).permutation(n)
    n_val = min(n - 1, max(1, round(n * fraction)))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _check_features(job: TrainJob, task: Task, features) -> None:
    if not task.per_step_features and len(features) != 1:
        raise UsageError(f"{job.csv}: {task.name} training takes one feature column, found "
                         f"{len(features)} ({', '.join(features)})")


def _file_overrides(task: Task, max_len: int, features, schema=None) -> dict:
    """Model sizes a training file dictates: its longest sequence, its feature count when per step, and
    its number of classes."""
    classes = {"num_classes": len(schema.classes)} if schema is not None and schema.classes else {}
    # per-feature input scaling fitted on the training file (Schema.fit_stream for --stream): raw amounts in
    # the thousands beside one-hot columns otherwise keep a streamed model at chance (measured: 0.501)
    scaling = ({"input_mean": tuple(schema.mean), "input_std": tuple(schema.std)}
               if schema is not None and schema.mean and len(schema.mean) == len(features) else {})
    per_step = {"num_features": len(features), **classes, **scaling}
    return {"max_len": int(max_len), **(per_step if task.per_step_features else {})}


def _stream(job: TrainJob, task: Task, rank: int, world: int):
    """Train/validation streams over one Parquet file, never loaded whole (--stream)."""
    from .data.stream import ParquetStream, with_split

    val_every = max(2, round(1 / job.val_fraction))
    from .files import check_readable_file

    check_readable_file(job.csv, "data file")
    train = ParquetStream(job.csv, task.name, batch_size=job.batch, seed=job.seed, split="train",
                          val_every=val_every, rank=rank, world=world, **job.columns())
    _check_features(job, task, train.features)
    val = with_split(train, "val", shuffle=False)
    scan = train.scan()
    if scan["sequences"] == 0 or val.scan()["sequences"] == 0:
        raise UsageError(f"{job.csv}: too few sequences to hold every {val_every}th out for validation")
    return train, val, _file_overrides(task, scan["max_len"], train.features, train.schema), train.schema


def _check_range(job: TrainJob, d) -> None:
    """Values beyond float32 (the training precision) would make the loss non-finite: name one."""
    from .api import check_float32

    t, k = d.values.shape[1], len(d.features)
    id_col = d.schema.id_col if d.schema is not None else "sequence_id"
    check_float32(d.values, where=lambda i: f"{job.csv}: {id_col}={d.ids[i // (t * k)]!r}, column "
                                            f"{d.features[i % k]!r}")


def _read_training_file(job: TrainJob, task: Task):
    """``(data, cut)``: the ``--csv`` training file, checked; a next-value file without its target column holds
    whole series (a sensor log, say), which are cut into one-step windows (``cut``,
    :func:`seqattn.data.io.series_windows`)."""
    from .data.io import read_long, series_windows, table_columns
    from .files import check_readable_file

    check_readable_file(job.csv, "data file")
    columns = job.columns()
    target = columns.get("target_col", TARGET)
    cut = task.name == "next-value" and target not in table_columns(job.csv)
    d = read_long(job.csv, gap=False, **columns) if cut else read_long(job.csv, task=task.name, **columns)
    _check_features(job, task, d.features)
    if cut:
        series = len(d)
        d = series_windows(d, window=SERIES_WINDOW)
        print(f"{job.csv}: no {target!r} column, so each sequence is a whole series: training on {len(d)} "
              f"one-step windows of up to {SERIES_WINDOW} values cut from its {series} series")
    return d, cut


def _file_data(job: TrainJob, task: Task, rank: int, world: int):
    """Train loader and validation data from a long-format file read whole."""
    d, _ = _read_training_file(job, task)
    if not task.per_step_features and d.lengths.min() < 2:
        raise UsageError(f"{job.csv}: every sequence needs at least 2 values")
    _check_range(job, d)
    schema = d.schema
    d = replace(d, values=task.model_values(d.values))
    train_rows, val_rows = _split(len(d), job.val_fraction, job.seed)
    tr, val = d.subset(train_rows), d.subset(val_rows)
    loader = BucketLoader(tr.values, tr.mask, task.targets(tr), job.batch, seed=job.seed, rank=rank, world=world)
    return loader, val, _file_overrides(task, d.values.shape[1], d.features, schema), schema


def _generated_data(job: TrainJob, recipe: Recipe, rank: int, world: int):
    """Train loader and validation data generated as the recipe says (a stream, or a fixed set)."""
    if recipe.data is not None:  # a fresh stream every epoch
        data_cfg = recipe.data  # the job's seed and size already applied (_job_recipe)
        val = generate_next_value(replace(data_cfg, num_samples=max(200, round(data_cfg.num_samples * job.val_fraction)),
                                          seed=job.seed + 999))
        loader = NextValueStream(data_cfg, batch_size=job.batch, rank=rank, world=world)
        return loader, val, {"max_len": data_cfg.max_len}, None
    d = generate_signal(SignalConfig(num_samples=job.num_samples or recipe.num_samples, seed=job.seed))
    train_rows, val_rows = _split(len(d), job.val_fraction, job.seed)
    tr, val = d.subset(train_rows), d.subset(val_rows)
    loader = BucketLoader(tr.values, tr.mask, tr.label, job.batch, seed=job.seed, rank=rank, world=world)
    return loader, val, {"max_len": d.values.shape[1]}, None


def run_train(args) -> int:
    """``seqattn train`` (``args``: a :class:`TrainJob` or the parsed command line); under ``torchrun``
    with N > 1 processes, DistributedDataParallel training."""
    job = TrainJob.from_args(args)
    job.check()
    if ddp.env_world_size() <= 1:
        return _run(job, ddp.DistInfo())
    finished = False
    try:
        status = _run(job, ddp.init_from_env())
        finished = True
        return status
    finally:
        ddp.shutdown(finished)


def _job_recipe(job: TrainJob, fast: bool) -> Recipe:
    """The model's recipe with the job's options applied: what the model file records."""
    task = get_task(job.task)
    recipe = recipe_for(task.name, job.model or task.default_model, fast)
    train = replace(recipe.train, epochs=job.epochs or recipe.train.epochs, lr=job.lr or recipe.train.lr,
                    seed=job.seed, checkpoint=str(job.out), resume=str(job.out) if job.resume else None,
                    progress=not job.no_progress)
    data = None if recipe.data is None else replace(recipe.data, seed=job.seed,
                                                    num_samples=job.num_samples or recipe.data.num_samples)
    return replace(recipe, train=train, data=data, batch_size=job.batch, val_fraction=job.val_fraction,
                   num_samples=job.num_samples or recipe.num_samples, source=job.csv or "generated")


def _dry_run(job: TrainJob, recipe: Recipe, model, loader, val, dist: ddp.DistInfo) -> int:
    if not dist.main:
        return 0
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps({"task": job.task, "model": recipe.model, "parameters": params, "epochs": recipe.train.epochs,
                      "train_batches_per_epoch": len(loader), "processes": dist.world,
                      "validation_sequences": val.scan()["sequences"] if job.stream else len(val),
                      "out": str(job.out), "dry_run": True}))
    return 0


def _run(job: TrainJob, dist: ddp.DistInfo) -> int:
    """Hold ``<out>.lock`` from the start (a second training to the same path fails at once), then train."""
    if not dist.main or job.dry_run:
        return _train(job, dist)
    with exclusive(job.out):
        if Path(job.out).exists() and not (job.resume or job.force):  # written by another run meanwhile
            raise UsageError(f"--out {job.out} already exists; give --force to replace it or another --out")
        return _train(job, dist)


def _train(job: TrainJob, dist: ddp.DistInfo) -> int:
    if job.resume:
        job = _resume_model(job)
    if job.csv and not job.stream and dist.world == 1:
        return _fit_file(job, get_task(job.task))
    if job.model == "kernels":  # a closed-form fit of a whole file: no batches to stream, generate or shard
        raise UsageError("--model kernels is fitted in closed form on one --csv file (not on generated data, "
                         "--stream or several processes); give --csv, or another --model")
    task, recipe = get_task(job.task), _job_recipe(job, job.fast or is_fast())
    set_seed(job.seed)
    if job.stream:
        loader, val, overrides, schema = _stream(job, task, dist.rank, dist.world)
    elif job.csv:
        loader, val, overrides, schema = _file_data(job, task, dist.rank, dist.world)
    else:
        loader, val, overrides, schema = _generated_data(job, recipe, dist.rank, dist.world)
    model = build_model(recipe.model, task.name, {**recipe.model_config, **overrides})
    if job.resume:
        _check_resume_config(job, model)
    if job.dry_run:
        return _dry_run(job, recipe, model, loader, val, dist)
    val_loader = val if job.stream else BucketLoader(val.values, val.mask, task.targets(val), 1024, shuffle=False,
                                                     rank=dist.rank, world=dist.world)
    recorded = replace(recipe, model_config={**recipe.model_config, **overrides},
                       train=replace(recipe.train, checkpoint=None, resume=None))
    try:
        model, history = train_model(model, loader, val_loader, recipe.train, recipe=recorded.to_dict())
    except NonFiniteLossError as e:
        raise BadInput(_non_finite_message(job, recipe, val, e)) from None
    if dist.main and schema is not None:
        _store_schema(job.out, schema)
    if not dist.main:
        return 0
    where = f" on {dist.world} processes" if dist.world > 1 else ""
    print(f"trained {recipe.model} for {task.name}{where}: {len(history)} epochs -> {job.out}")
    if job.stream:  # the validation sequences were streamed too: report the row whose weights were saved
        best = task.best_row(history)
        print(f"validation: {task.metric}={best[task.metric]:.6g} val_loss={best.val_loss:.6g}")
        return 0
    metrics = task.summary(evaluate(model, val), full=False)
    print("validation: " + " ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                                     for k, v in metrics.items()))
    return 0


def _fit_file(job: TrainJob, task: Task) -> int:
    """``train --csv``: read the file with the column mapping, then :func:`seqattn.fit.fit` chooses the
    recipe, schedule and scaling; the model file stores the file's schema."""
    from .data.io import latest_windows
    from .fit import fit

    d, cut = _read_training_file(job, task)
    if not task.per_step_features and d.lengths.min() < 2:
        raise UsageError(f"{job.csv}: every sequence needs at least 2 values")
    _check_range(job, d)
    fast = job.fast or is_fast()
    steps = job.steps or _epochs_as_steps(job, task, d, fast)
    if job.dry_run:
        recipe = recipe_for_data(task.name, _data_shape(task, d), job.model, fast)
        print(json.dumps({"task": job.task, "model": recipe.model, "recipe": recipe.name,
                          "steps": steps or recipe.steps, "batch_size": job.batch_size or recipe.batch_size,
                          "sequences": len(d), "features": list(d.features), "out": str(job.out), "dry_run": True}))
        return 0
    # windows cut from whole series validate on each series' latest ones (a random split would validate on
    # windows whose neighbours, one step apart, were trained on)
    val_rows = latest_windows(d, job.val_fraction) if cut else None
    try:
        result = fit(d, task.name, model=job.model, seed=job.seed, fast=fast, progress=not job.no_progress,
                     steps=steps, lr=job.lr, batch_size=job.batch_size, checkpoint=str(job.out),
                     resume=str(job.out) if job.resume else None, file_extra={"schema": d.schema.to_dict()},
                     val_rows=val_rows)
    except NonFiniteLossError as e:
        raise BadInput(_non_finite_message(job, recipe_for_data(task.name, _data_shape(task, d), job.model, fast),
                                           d, e)) from None
    except RuntimeError as e:
        if job.resume and "state_dict" in str(e):
            raise UsageError(f"--resume: the training state in {job.out} does not fit the model this data "
                             f"and these options build; resume with the same data and options") from None
        raise
    how = f"{result.recipe.steps} steps" if result.recipe.steps else "ridge read-out, closed form"
    print(f"trained {result.recipe.model} for {task.name}: {how} -> {job.out}")
    print(result.summary)
    if result.warning:
        print(result.warning, file=sys.stderr)
    return 0


def _data_shape(task: Task, d) -> DataShape:
    return DataShape(n=len(d), max_len=int(d.lengths.max()), num_features=len(d.features) if task.per_step_features
                     else 1, num_classes=len(d.classes) if d.classes else 0)


def _epochs_as_steps(job: TrainJob, task: Task, d, fast: bool) -> int | None:
    """--epochs E on a training file: E passes over its training sequences, as optimizer steps."""
    if job.epochs is None:
        return None
    batch = job.batch_size or recipe_for_data(task.name, _data_shape(task, d), job.model, fast).batch_size
    return job.epochs * max(1, -(-round(len(d) * (1 - job.val_fraction)) // batch))


def _store_schema(out, schema) -> None:
    """Add the training file's schema to the model file train_model wrote (atomically, like every save)."""
    from .checkpoint import read_checkpoint, save_atomic

    ckpt = read_checkpoint(out)
    ckpt["schema"] = schema.to_dict()
    save_atomic(ckpt, out)


def _resume_model(job: TrainJob) -> TrainJob:
    """The model the file was trained as; another --model (or task) is refused."""
    from .checkpoint import read_checkpoint

    ckpt = read_checkpoint(job.out)
    if ckpt["task"] != job.task:
        raise UsageError(f"--resume: {job.out} was trained for task {ckpt['task']!r}, not {job.task!r}")
    if job.model is not None and job.model != ckpt["model"]:
        raise UsageError(f"--resume: {job.out} was trained as --model {ckpt['model']}, not {job.model}; "
                         f"resume it with --model {ckpt['model']} (or without --model)")
    return replace(job, model=ckpt["model"])


def _check_resume_config(job: TrainJob, model) -> None:
    from .checkpoint import read_checkpoint
    from .config import config_to_dict

    stored, now = read_checkpoint(job.out)["config"], config_to_dict(model.config)
    differ = [k for k in sorted(set(stored) | set(now)) if stored.get(k) != now.get(k)]
    if differ:
        k = differ[0]
        raise UsageError(f"--resume: {job.out} was trained with {k}={stored.get(k)!r} but this data and these "
                         f"options give {k}={now.get(k)!r}; resume with the same data and options")


def _non_finite_message(job: TrainJob, recipe: Recipe, val, e: Exception) -> str:
    """Say whether the learning rate or the data made the loss non-finite."""
    default_lr = recipe_for(job.task, recipe.model, job.fast or is_fast()).train.lr
    if job.lr is not None and job.lr > 10 * default_lr:
        return (f"training diverged: the loss became non-finite with --lr {job.lr:g}; lower --lr "
                f"(the recipe's is {default_lr:g})")
    values = getattr(val, "values", None)
    if values is not None and values.size:
        big = float(np.abs(values).max())
        if big > 1e6:
            return (f"training diverged: the loss became non-finite; the data holds values up to |{big:g}|: "
                    f"rescale it (or lower --lr)")
    return f"training diverged: {str(e).strip().splitlines()[0]}"
