"""The one model file format: what ``seqattn train --out`` writes and every loader accepts.

A checkpoint is a plain dict saved with ``torch.save`` and read with ``torch.load(weights_only=True)``
(nothing in it can run code)::

    {"format": "seqattn-checkpoint", "version": 1, "task": "next-value" | "classify",
     "model": "lstm" | "pooling" | "transformer", "config": {...}, "num_features": D, "max_len": T,
     "state_dict": {...}, "metrics": {...},            # always
     "recipe": {...},                                  # how it was trained (Recipe.to_dict()), when known
     "train_config": {...}, "optimizer": ..., "scheduler": ..., "epoch": n,
     "best_metric": x, "rng": ..., "history": {...}}  # training checkpoints, for resume

Writes are atomic: a temp file in the same folder, then a rename.
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
from .files import atomic_path

FORMAT, VERSION = "seqattn-checkpoint", 1


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
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: checkpoint not found")
    try:
        with warnings.catch_warnings():  # a foreign pickle makes the safe unpickler warn before it refuses
            warnings.simplefilter("ignore", UserWarning)
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "unsafe content"
        raise BadInput(f"{path}: refused to load: not a plain seqattn checkpoint ({first[:160]})") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError, KeyError, AttributeError) as e:
        raise BadInput(f"{path}: corrupt or truncated checkpoint ({type(e).__name__})") from None
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


def model_from_checkpoint(ckpt: dict, source="checkpoint") -> nn.Module:
    """Rebuild the model a checkpoint dict describes and load its weights (eval mode)."""
    from .models import build_model

    model = build_model(ckpt["model"], ckpt["task"], ckpt["config"])
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        detail = next((line.strip() for line in first[1:] if line.strip()), first[0])
        raise BadInput(f"{source}: weights do not match the stored config ({detail[:200]})") from None
    return model.eval()


def load_model(path, task: str | None = None) -> nn.Module:
    """Load any seqattn model file (``train --out``, ``weights/*.pt``) as a ready model in eval mode.

    >>> from seqattn.config import WEIGHTS_DIR
    >>> load_model(WEIGHTS_DIR / "signal.pt", task="classify").task
    'classify'
    """
    return model_from_checkpoint(read_checkpoint(path, task), source=path)
