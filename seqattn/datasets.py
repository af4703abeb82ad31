"""The project's data sets in ``data/``: written by notebook 01 (and ``make demo``), read by 02–04.

| file | what |
|---|---|
| ``next_value_val.parquet`` | validation set of the shipped next-value recipe (seed 999) |
| ``next_value_test.parquet`` | held-out test set: every family, lengths 4–32 (seed 2024) |
| ``signal_train.parquet`` / ``signal_val.parquet`` | the shipped signal recipe: half default, half hard |

All long format with ground truth (``family``/``oracle`` or ``salient``); sizes shrink under
``SEQATTN_FAST=1``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .config import DATA_DIR, DataConfig, is_fast
from .errors import BadInput

NAMES = ("next_value_val", "next_value_test", "signal_train", "signal_val")


def next_value_test(fast: bool = False):
    """The held-out next-value test set (generated, seed 2024, lengths 4–32)."""
    from .data import generate_next_value

    return generate_next_value(DataConfig(num_samples=4_000 if fast else 40_000, min_len=4, max_len=32, seed=2024))


def write_datasets(data_dir=DATA_DIR, fast: bool | None = None) -> dict[str, Path]:
    """Generate every data set and write it to ``data_dir`` as long-format Parquet; returns the paths."""
    from .data.io import to_long, write_long
    from .pretrain import next_value_validation, signal_training_sets

    fast = is_fast() if fast is None else fast
    data_dir = Path(data_dir)
    paths = {}
    for name, d in (("next_value_val", next_value_validation(fast)), ("next_value_test", next_value_test(fast))):
        df = to_long(d.values, d.mask, target=d.target, extra={"family": d.family, "oracle": d.oracle})
        paths[name] = write_long(df, data_dir / f"{name}.parquet")
    for name, d in zip(("signal_train", "signal_val"), signal_training_sets(fast), strict=True):
        df = to_long(d.values, d.mask, label=d.label, salient=d.salient)
        paths[name] = write_long(df, data_dir / f"{name}.parquet")
    return paths


def load_dataset(name: str, data_dir=DATA_DIR):
    """Read one of :data:`NAMES` back (``LongData``); next-value sets come back with values ``[N, T]``."""
    from dataclasses import replace

    from .data.io import read_long

    if name not in NAMES:
        raise BadInput(f"unknown data set {name!r}; choose from {', '.join(NAMES)}")
    path = Path(data_dir) / f"{name}.parquet"
    if not path.is_file():
        raise BadInput(f"{path} is missing: run notebook 01 (or `make demo`) first")
    d = read_long(path, require="target" if name.startswith("next") else "label")
    return replace(d, values=d.values[..., 0]) if name.startswith("next") else d


def dataset_summary(d) -> pd.DataFrame:  # noqa: F821
    """Per-family statistics of next-value data: count, lengths, value range, noise (target − oracle)."""
    import pandas as pd

    df = pd.DataFrame({
        "family": d.family, "length": d.lengths,
        "min": np.where(d.mask, d.values, np.inf).min(1),
        "max": np.where(d.mask, d.values, -np.inf).max(1),
        "noise": np.abs(d.target - d.oracle),
    })
    return df.groupby("family").agg(
        n=("length", "size"), min_len=("length", "min"), max_len=("length", "max"),
        smallest=("min", "min"), largest=("max", "max"), mean_abs_noise=("noise", "mean"),
    )
