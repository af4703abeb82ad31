"""Train the shipped models: ``python -m seqattn.pretrain next-value|signal|all [--fast]``.

Each writes ``weights/<name>.pt`` (the one checkpoint format, weights + config + task + metrics),
``weights/<name>.json`` (the same config and metrics, readable) and ``saved_models/<name>.{ts,pt2}``
(the full exported program). Seeded: the same command gives the same weights on the same machine.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from .checkpoint import save_checkpoint
from .config import (
    SAVED_MODELS_DIR,
    WEIGHTS_DIR,
    SignalConfig,
    config_to_dict,
    hard_signal_config,
)
from .data import SignalData, generate_next_value, generate_signal
from .data.loaders import BucketLoader, NextValueStream
from .export import export_model, exported_suffix
from .models import build_model
from .recipes import next_value_recipe, signal_recipe, signal_transformer_recipe
from .train import TrainConfig, set_seed, train_model


def concat_signal(*parts: SignalData) -> SignalData:
    def joined(f):
        arrays = [getattr(p, f) for p in parts]
        return None if any(a is None for a in arrays) else np.concatenate(arrays)

    return SignalData(*(joined(f) for f in SignalData.__dataclass_fields__))


def _write(model, name: str, history, metrics: dict, train_cfg: TrainConfig, recipe: dict, out_dir: Path,
           saved_dir: Path) -> dict:
    paths = {
        "weights": save_checkpoint(model, out_dir / f"{name}.pt", metrics=metrics,
                                   train_config=config_to_dict(train_cfg), recipe=recipe),
        "exported": export_model(model, saved_dir / f"{name}{exported_suffix(model)}"),
    }
    info = {"task": model.task, "model": type(model).__name__, "config": config_to_dict(model.config),
            "train_config": config_to_dict(train_cfg), "recipe": recipe, "metrics": metrics,
            "epochs_run": int(len(history)), "command": f"python -m seqattn.pretrain {name}"}
    (out_dir / f"{name}.json").write_text(json.dumps(info, indent=2) + "\n")
    return {k: str(v) for k, v in paths.items()}


def next_value_validation(fast: bool = False):
    """The validation set of the shipped next-value recipe (generated, seed 999)."""
    data_cfg = next_value_recipe(fast).data
    return generate_next_value(replace(data_cfg, num_samples=2_000 if fast else 8_000, seed=999))


def signal_training_sets(fast: bool = False) -> tuple[SignalData, SignalData]:
    """(train, validation) of the shipped signal recipe: half default, half hard difficulty, so one
    model serves both benchmarks."""
    train = concat_signal(*(generate_signal(cfg) for cfg in signal_recipe(fast).signal_data))
    v = 200 if fast else 2_000
    val = concat_signal(generate_signal(SignalConfig(num_samples=v, seed=3)),
                        generate_signal(hard_signal_config(num_samples=v, seed=4)))
    return train, val


def pretrain_next_value(out_dir=WEIGHTS_DIR, saved_dir=SAVED_MODELS_DIR, fast: bool = False, progress=True,
                        val=None):
    """Train the shipped next-value model on a fresh generated stream; ``val`` (anything with values,
    mask and oracle or target, e.g. ``read_long`` of notebook 01's file) defaults to
    :func:`next_value_validation`. Returns ``(model, history, paths)``."""
    recipe = next_value_recipe(fast)
    train_cfg = replace(recipe.train, progress=progress)
    set_seed(train_cfg.seed)
    model = build_model(recipe.model, recipe.task, recipe.model_config)
    val = next_value_validation(fast) if val is None else val
    values = val.values[..., 0] if val.values.ndim == 3 else val.values
    y = val.oracle if getattr(val, "oracle", None) is not None else val.target
    val_loader = BucketLoader(values, val.mask, y, 1024, shuffle=False)
    start = time.perf_counter()
    model, history = train_model(model, NextValueStream(recipe.data, batch_size=recipe.batch_size), val_loader,
                                 train_cfg)
    metrics = {"val_mae_scaled": float(history.val_mae_scaled.min()), "train_seconds": time.perf_counter() - start}
    # "data" and "validation_seed": the keys earlier weights/*.json carry
    record = {**recipe.to_dict(), "data": config_to_dict(recipe.data), "validation_seed": 999}
    return model, history, _write(model, "next-value", history, metrics, train_cfg, record,
                                  Path(out_dir), Path(saved_dir))


def pretrain_signal(out_dir=WEIGHTS_DIR, saved_dir=SAVED_MODELS_DIR, fast: bool = False, progress=True,
                    train=None, val=None, name: str = "pooling"):
    """Train the shipped signal classifier (``name="pooling"``) or its Transformer variant
    (``"transformer"``, written as ``signal-transformer``). ``train``/``val`` (values, mask, label)
    default to :func:`signal_training_sets`. Returns ``(model, history, paths)``."""
    recipe = (signal_transformer_recipe if name == "transformer" else signal_recipe)(fast)
    train_cfg = replace(recipe.train, progress=progress)
    if train is None or val is None:
        train, val = signal_training_sets(fast)
    set_seed(train_cfg.seed)
    model = build_model(recipe.model, recipe.task, recipe.model_config)
    start = time.perf_counter()
    model, history = train_model(
        model, BucketLoader(train.values, train.mask, train.label, recipe.batch_size, seed=0, bucket=False),
        BucketLoader(val.values, val.mask, val.label, 1000, shuffle=False), train_cfg)
    metrics = {"val_accuracy": float(history.val_accuracy.max()), "train_seconds": time.perf_counter() - start}
    record = {**recipe.to_dict(), "train": [config_to_dict(cfg) for cfg in recipe.signal_data]}  # as before
    file = "signal" if name == "pooling" else f"signal-{name}"
    return model, history, _write(model, file, history, metrics, train_cfg, record, Path(out_dir), Path(saved_dir))


TRAINING_STATE = ("optimizer", "scheduler", "last_state", "rng", "stale")  # what only --resume needs


def _drop_training_state(path: Path) -> None:
    """Keep a shipped model file small: the weights, config, schema and recipe, not the resume state."""
    from .checkpoint import read_checkpoint, save_atomic

    ckpt = read_checkpoint(path)
    save_atomic({k: v for k, v in ckpt.items() if k not in TRAINING_STATE}, path)


def pretrain_events(out_dir=WEIGHTS_DIR, saved_dir=SAVED_MODELS_DIR, fast: bool = False, progress=True):
    """Train the shipped event-log classifier (``weights/events.pt``, notebook 04's account app) with
    :func:`seqattn.fit.fit` on a generated account log: what ``seqattn train --csv LOG --id-col account_id
    --time-col timestamp --label-col is_fraud`` runs. Returns ``(model, history, paths)``."""
    from .data.events import COLUMNS, EventConfig, generate_events
    from .data.io import read_long
    from .fit import fit

    data = read_long(generate_events(EventConfig(num_accounts=200 if fast else 2_000, seed=7)), task="classify",
                     **COLUMNS)
    path = Path(out_dir) / "events.pt"
    start = time.perf_counter()
    result = fit(data, "classify", seed=0, fast=fast, progress=progress, checkpoint=str(path),
                 file_extra={"schema": data.schema.to_dict()})
    _drop_training_state(path)
    info = {"task": "classify", "model": type(result.model).__name__, "recipe": result.recipe.name,
            "summary": result.summary, "train_seconds": time.perf_counter() - start,
            "data": "seqattn.data.events.generate_events(EventConfig(num_accounts=2000, seed=7))",
            "command": "python -m seqattn.pretrain events"}
    (Path(out_dir) / "events.json").write_text(json.dumps(info, indent=2) + "\n")
    return result.model, result.history, {"weights": str(path)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m seqattn.pretrain", description=__doc__.splitlines()[0])
    p.add_argument("which", choices=["next-value", "signal", "signal-transformer", "events", "all"],
                   help="which shipped model to train (all: next-value and signal)")
    p.add_argument("--fast", action="store_true", help="tiny settings (seconds), for tests")
    p.add_argument("--out-dir", default=str(WEIGHTS_DIR), help="where weights/*.pt and *.json go")
    p.add_argument("--saved-dir", default=str(SAVED_MODELS_DIR), help="where exported programs go")
    args = p.parse_args(argv)
    jobs = {"next-value": pretrain_next_value, "signal": pretrain_signal,
            "signal-transformer": lambda *a, **k: pretrain_signal(*a, name="transformer", **k),
            "events": pretrain_events}
    for name in (["next-value", "signal"] if args.which == "all" else [args.which]):
        _, history, paths = jobs[name](args.out_dir, args.saved_dir, fast=args.fast)
        print(history.to_string(index=False))
        print(json.dumps(paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
