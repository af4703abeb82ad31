"""The one model file format: what ``seqattn train --out`` writes and every loader accepts.

A checkpoint is a plain dict saved with ``torch.save`` and read with ``torch.load(weights_only=True)``
(nothing in it can run code)::

    {"format": "seqattn-checkpoint", "version": 1, "task": "next-value" | "classify",
     "model": "lstm" | "pooling" | "transformer", "config": {...}, "num_features": D, "max_len": T,
     "state_dict": {...}, "metrics": {...},            # always
     "recipe": {...},                                  # how it was trained (Recipe.to_dict()), when known
     "schema": {...},                                  # the training file's columns (Schema.to_dict()), when
                                                       # trained on a file; absent = legacy (columns by position)
     "train_config": {...}, "optimizer": ..., "scheduler": ..., "epoch": n,
     "best_metric": x, "rng": ..., "history": {...}}  # training checkpoints, for resume

Writes are atomic: a temp file in the same folder, then a rename. A model file is untrusted input: its
config is sized before anything is allocated (:data:`MAX_PARAMETERS`), and weights that are not finite are
refused.
"""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from pathlib import Path

import torch
from torch import nn

from .errors import BadInput
from .files import atomic_path, check_readable_file

FORMAT, VERSION = "seqattn-checkpoint", 1
MAX_PARAMETERS = 200_000_000  # a config asking for more is refused before it allocates (our models: < 1e6)


def checkpoint_dict(model: nn.Module, **extra) -> dict:
    """The file contents for ``model`` (weights + everything needed to rebuild it) plus ``extra`` keys."""
    from .config import config_to_dict
    from .models import model_name

    return {
        "format": FORMAT, "version": VERSION, "task": model.task, "model": model_name(model),
        "config": config_to_dict(model.config), "num_features": model.config.num_features,
        "max_len": model.config.max_len, "state_dict": model.state_dict(), **extra,
    }


def save_atomic(obj, path) -> Path:
    """``torch.save`` to a temp file beside ``path``, then rename: a crash never leaves half a file."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    return path


def save_checkpoint(model: nn.Module, path, **extra) -> Path:
    return save_atomic(checkpoint_dict(model, **extra), path)


def read_checkpoint(path, task: str | None = None) -> dict:
    """Load and validate a checkpoint dict; every problem is a ValueError naming the file.

    Args:
        path: the file.
        task: when given, a checkpoint for the other task is refused.
    """
    path = check_readable_file(path, "checkpoint")
    try:
        with warnings.catch_warnings():  # a foreign pickle makes the safe unpickler warn before it refuses
            warnings.simplefilter("ignore", UserWarning)
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "unsafe content"
        raise BadInput(f"{path}: refused to load: not a plain seqattn checkpoint ({first[:160]})") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError, KeyError, AttributeError, IndexError,
            TypeError, UnicodeDecodeError, MemoryError, OverflowError) as e:
        raise BadInput(f"{path}: corrupt or truncated checkpoint, or not a seqattn model file ({type(e).__name__})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise BadInput(f"{path}: not a seqattn checkpoint (no format={FORMAT!r} marker)")
    if ckpt.get("version") != VERSION:
        raise BadInput(f"{path}: checkpoint version {ckpt.get('version')!r}; this seqattn reads {VERSION}")
    for key in ("task", "model", "config", "state_dict", "num_features"):
        if key not in ckpt:
            raise BadInput(f"{path}: checkpoint lacks {key!r}")
    if task is not None and ckpt["task"] != task:
        raise BadInput(f"{path}: checkpoint is for task {ckpt['task']!r}, not {task!r}")
    return ckpt


def parameter_count(name: str, task: str, config: dict) -> int:
    """Parameters and buffers the model a config describes would hold, counted without allocating them
    (the model is built on PyTorch's ``meta`` device)."""
    from .models import build_model

    with torch.device("meta"):
        model = build_model(name, task, config)
    return sum(t.numel() for t in (*model.parameters(), *model.buffers()))


def _check_size(ckpt: dict, source) -> None:
    try:
        n = parameter_count(ckpt["model"], ckpt["task"], ckpt["config"])
    except (ValueError, TypeError, RuntimeError, OverflowError) as e:
        raise BadInput(f"{source}: the stored config cannot build a model ({_first(e)[:200]})") from None
    if n > MAX_PARAMETERS:
        raise BadInput(f"{source}: the stored config asks for {n:.3g} parameters (more than {MAX_PARAMETERS:.0e}); "
                       f"refusing to allocate it")


def _check_finite(state_dict: dict, source) -> None:
    for key, value in state_dict.items():
        if torch.is_tensor(value) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise BadInput(f"{source}: weight {key!r} holds NaN or infinite values; the file is damaged")


def _first(e: BaseException) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def model_from_checkpoint(ckpt: dict, source="checkpoint") -> nn.Module:
    """Rebuild the model a checkpoint dict describes and load its weights (eval mode).

    The model gets ``model.schema``: the training file's :class:`~seqattn.data.schema.Schema`, or None for
    a file without one (trained on generated data, or by an earlier seqattn).
    """
    from .models import build_model

    _check_size(ckpt, source)
    if not isinstance(ckpt["state_dict"], dict):
        raise BadInput(f"{source}: checkpoint 'state_dict' is not a dict of tensors")
    _check_finite(ckpt["state_dict"], source)
    schema = _schema(ckpt, source)
    model = build_model(ckpt["model"], ckpt["task"], ckpt["config"])
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        detail = next((line.strip() for line in first[1:] if line.strip()), first[0])
        raise BadInput(f"{source}: weights do not match the stored config ({detail[:200]})") from None
    model.schema = schema
    return model.eval()


def _schema(ckpt: dict, source):
    if ckpt.get("schema") is None:
        return None
    from .data.schema import Schema

    try:
        schema = Schema.from_dict(ckpt["schema"])
    except ValueError as e:
        raise BadInput(f"{source}: stored schema is malformed ({_first(e)[:200]})") from None
    if len(schema.input_names) != ckpt["num_features"] and ckpt["task"] == "classify":
        raise BadInput(f"{source}: stored schema has {len(schema.input_names)} input columns but the model "
                       f"takes {ckpt['num_features']}")
    return schema


def load_model(path, task: str | None = None) -> nn.Module:
    """Load any seqattn model file (``train --out``, ``weights/*.pt``) as a ready model in eval mode.

    >>> from seqattn.config import WEIGHTS_DIR
    >>> load_model(WEIGHTS_DIR / "signal.pt", task="classify").task
    'classify'
    """
    return model_from_checkpoint(read_checkpoint(path, task), source=path)
