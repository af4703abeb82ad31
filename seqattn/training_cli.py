"""``seqattn train``: data (generated or a long-format file) → model → ``train_model`` → metrics.

Kept apart from ``cli.py`` so the other subcommands never import pandas or the training loop.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import distributed as ddp
from .cli import UsageError
from .config import SignalConfig, is_fast
from .data import generate_next_value, generate_signal
from .data.loaders import BucketLoader, NextValueStream
from .metrics import evaluate
from .models import build_model
from .pretrain import next_value_recipe, signal_recipe
from .train import set_seed, train_model

DEFAULT_MODEL = {"next-value": "lstm", "classify": "pooling"}


def _split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if n < 2:
        raise UsageError(f"need at least 2 sequences to hold some out for validation, got {n}")
    order = np.random.default_rng(seed).permutation(n)
    n_val = min(n - 1, max(1, round(n * fraction)))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _check(args) -> None:
    if not 0.0 < args.val_fraction < 1.0:
        raise UsageError(f"--val-fraction must be between 0 and 1, got {args.val_fraction}")
    for name in ("epochs", "batch_size", "num_samples"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.lr is not None and not args.lr > 0:
        raise UsageError(f"--lr must be > 0, got {args.lr}")
    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"--out {out} is a directory; give a file path")
    if args.resume and not out.is_file():
        raise UsageError(f"--resume: no training state at {out}")
    if args.stream and not (args.csv and Path(args.csv).suffix.lower() in (".parquet", ".pq")):
        raise UsageError("--stream reads a long-format .parquet file: give it with --csv FILE.parquet")


def _stream(args, rank: int, world: int):
    """Train/validation streams over one Parquet file, never loaded whole (--stream)."""
    from .data.stream import ParquetStream, with_split

    val_every = max(2, round(1 / args.val_fraction))
    train = ParquetStream(args.csv, args.task, batch_size=args.batch_size, seed=args.seed, split="train",
                          val_every=val_every, rank=rank, world=world)
    if args.task == "next-value" and len(train.features) != 1:
        raise UsageError(f"{args.csv}: next-value training takes one feature column, found "
                         f"{len(train.features)} ({', '.join(train.features)})")
    val = with_split(train, "val", shuffle=False)
    scan = train.scan()
    if scan["sequences"] == 0 or val.scan()["sequences"] == 0:
        raise UsageError(f"{args.csv}: too few sequences to hold every {val_every}th out for validation")
    overrides = {"max_len": scan["max_len"]}
    if args.task == "classify":
        overrides["num_features"] = len(train.features)
    return train, val, overrides


def _data(args, fast: bool, rank: int = 0, world: int = 1):
    """Returns (train_loader, val_data, model overrides); the loader yields this rank's shard."""
    task, bs = args.task, args.batch_size
    if args.csv:
        from .data.io import read_long

        d = read_long(args.csv, require="target" if task == "next-value" else "label")
        if task == "next-value" and len(d.features) != 1:
            raise UsageError(f"{args.csv}: next-value training takes one feature column, found "
                             f"{len(d.features)} ({', '.join(d.features)})")
        if task == "next-value" and d.lengths.min() < 2:
            raise UsageError(f"{args.csv}: every sequence needs at least 2 values")
        if task == "next-value":
            d = replace(d, values=d.values[..., 0])
        train_rows, val_rows = _split(len(d), args.val_fraction, args.seed)
        tr, val = d.subset(train_rows), d.subset(val_rows)
        y = tr.target if task == "next-value" else tr.label
        loader = BucketLoader(tr.values, tr.mask, y, bs, seed=args.seed, rank=rank, world=world)
        overrides = {"max_len": int(d.values.shape[1])}
        if task == "classify":
            overrides["num_features"] = len(d.features)
        return loader, val, overrides
    if task == "next-value":
        _, data_cfg, _ = next_value_recipe(fast)
        data_cfg = replace(data_cfg, seed=args.seed, num_samples=args.num_samples or data_cfg.num_samples)
        val = generate_next_value(replace(data_cfg, num_samples=max(200, round(data_cfg.num_samples * args.val_fraction)),
                                          seed=args.seed + 999))
        return NextValueStream(data_cfg, batch_size=bs, rank=rank, world=world), val, {"max_len": data_cfg.max_len}
    _, n, _ = signal_recipe(fast)
    d = generate_signal(SignalConfig(num_samples=args.num_samples or n, seed=args.seed))
    train_rows, val_rows = _split(len(d), args.val_fraction, args.seed)
    tr, val = d.subset(train_rows), d.subset(val_rows)
    loader = BucketLoader(tr.values, tr.mask, tr.label, bs, seed=args.seed, rank=rank, world=world)
    return loader, val, {"max_len": d.values.shape[1]}


def run_train(args) -> int:
    """``seqattn train``; under ``torchrun`` with N > 1 processes, DistributedDataParallel training."""
    _check(args)
    if ddp.env_world_size() <= 1:
        return _run(args, ddp.DistInfo())
    try:
        return _run(args, ddp.init_from_env())
    finally:
        ddp.shutdown()


def _run(args, dist: ddp.DistInfo) -> int:
    fast = args.fast or is_fast()
    task, name = args.task, args.model or DEFAULT_MODEL[args.task]
    recipe_model, _, recipe_train = (next_value_recipe if task == "next-value" else signal_recipe)(fast)
    recipe_cfg = recipe_model if name == DEFAULT_MODEL[task] else {}  # the shipped architecture's sizes
    set_seed(args.seed)
    if args.stream:
        loader, val, overrides = _stream(args, dist.rank, dist.world)
    else:
        loader, val, overrides = _data(args, fast, dist.rank, dist.world)
    model = build_model(name, task, {**recipe_cfg, **overrides})
    cfg = replace(recipe_train, epochs=args.epochs or recipe_train.epochs, lr=args.lr or recipe_train.lr,
                  seed=args.seed, checkpoint=str(args.out), resume=str(args.out) if args.resume else None,
                  progress=not args.no_progress)
    if args.dry_run:
        if not dist.main:
            return 0
        params = sum(p.numel() for p in model.parameters())
        print(json.dumps({"task": task, "model": name, "parameters": params, "epochs": cfg.epochs,
                          "train_batches_per_epoch": len(loader), "processes": dist.world,
                          "validation_sequences": val.scan()["sequences"] if args.stream else len(val),
                          "out": str(args.out), "dry_run": True}))
        return 0
    if args.stream:
        val_loader = val
    else:
        val_y = val.target if task == "next-value" else val.label
        val_loader = BucketLoader(val.values, val.mask, val_y, 1024, shuffle=False, rank=dist.rank, world=dist.world)
    model, history = train_model(model, loader, val_loader, cfg)
    if not dist.main:
        return 0
    where = f" on {dist.world} processes" if dist.world > 1 else ""
    if args.stream:  # the validation sequences were streamed too: report the loop's own best metrics
        best = history.loc[history.val_loss.idxmin()]
        metric = "val_mae_scaled" if task == "next-value" else "val_accuracy"
        print(f"trained {name} for {task}{where}: {len(history)} epochs -> {args.out}")
        print(f"validation: {metric}={best[metric]:.6g} val_loss={best.val_loss:.6g}")
        return 0
    table = evaluate(model, val)
    if task == "next-value":
        row = table.loc["all"]
        metrics = {"mae": row.model_mae, "rmse": row.model_rmse, "n": int(row.n),
                   "naive_mae": row.naive_mae, "linear_mae": row.linear_mae}
    else:
        metrics = {k: (int(v) if k == "n" else float(v)) for k, v in table.iloc[0].items()}
    print(f"trained {name} for {task}{where}: {len(history)} epochs -> {args.out}")
    print("validation: " + " ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                                     for k, v in metrics.items()))
    return 0

