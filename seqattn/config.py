"""Project paths and the typed configs every stage shares.

One module owns every path (``data/``, ``weights/``, ``saved_models/``) and every config dataclass, so a
checkpoint can store ``asdict(config)`` and rebuild its model without the notebook that made it.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .errors import BadInput

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"  # generated or user data (regenerated, never hand-edited)
WEIGHTS_DIR = ROOT / "weights"  # shipped state_dict checkpoints + JSON configs
SAVED_MODELS_DIR = ROOT / "saved_models"  # full exported programs (torch.export .pt2)
REPORTS_DIR = ROOT / "reports"  # executed notebooks and figures written by `make demo`


def is_fast() -> bool:
    """True when the small-settings switch ``SEQATTN_FAST=1`` is set (CI, quick demos)."""
    return os.environ.get("SEQATTN_FAST") == "1"


@dataclass(frozen=True)
class DataConfig:
    """Next-value sequences: one family per sample, variable length, right-padded."""

    num_samples: int = 100_000
    min_len: int = 3  # shortest sequence (values given to the model)
    max_len: int = 32  # longest sequence; arrays are padded to this
    families: tuple[str, ...] = ()  # empty = every registered family
    noise: float = 0.1  # noise std of noisy families, as a fraction of their per-step scale
    seed: int = 0


@dataclass(frozen=True)
class SignalConfig:
    """Signal-event sequences [N, T, D]: class 1 carries a planted pattern at a random position."""

    num_samples: int = 20_000
    max_len: int = 64  # T
    min_len: int = 32  # lengths are drawn in [min_len, max_len]
    num_features: int = 4  # D
    event_len: int = 6  # steps covered by the planted pattern
    amplitude: float = 1.5  # peak of the planted pattern, in units of the noise std (matched filter ~95%)
    noise: float = 1.0  # Gaussian background std
    distractor_prob: float = 0.5  # probability that a sample (either class) carries a distractor
    positive_fraction: float = 0.5
    seed: int = 0
    event_features: int = 0  # features carrying the pattern, drawn per sample (0 = every feature)


def config_from_dict(cls, d: dict):
    """Rebuild a config dataclass from ``asdict`` output; unknown keys are a ValueError."""
    names = {f.name for f in fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise BadInput(f"unknown {cls.__name__} field(s): {sorted(unknown)}")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
    return cls(**kwargs)


def config_to_dict(cfg) -> dict:
    """``asdict`` with tuples as lists, so the result is JSON- and ``weights_only``-safe."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}


def hard_signal_config(**overrides) -> SignalConfig:
    """The harder signal benchmark: lower amplitude and a distractor in every sample."""
    return SignalConfig(**{"amplitude": 1.2, "distractor_prob": 1.0, **overrides})


@dataclass(frozen=True)
class BoxConfig:
    """Planted-box benchmark (after Ismail et al. 2020): a box of steps × features carries the class."""

    num_samples: int = 4_000
    max_len: int = 50
    num_features: int = 8
    box_len: int = 8  # steps in the informative box (small = the "rare time" variant)
    box_features: int = 3  # features in the box
    amplitude: float = 1.0  # +amplitude inside the box for class 1, −amplitude for class 0
    background: str = "gaussian"  # "gaussian" or "ar" (AR(1), phi = 0.8, unit variance)
    moving: bool = True  # random box position per sample; False = the same position for all
    seed: int = 0


@dataclass(frozen=True)
class HMMConfig:
    """Two-state hidden-Markov benchmark (after FIT, Tonekaboni et al. 2020): the label is the state at
    the last step; the truth marks the steps where the state switches."""

    num_samples: int = 4_000
    max_len: int = 50
    num_features: int = 3
    switch_prob: float = 0.08  # per-step probability of changing state
    separation: float = 1.2  # distance between the two states' means (per feature, noise std 1)
    seed: int = 0
