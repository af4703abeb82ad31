"""``make demo``: generate the data sets into ``data/`` and show what they hold."""

from __future__ import annotations

from .config import DATA_DIR, DataConfig, SignalConfig, is_fast


def write_datasets(data_dir=DATA_DIR, fast: bool | None = None):
    """Generate both tasks' data sets and write them to ``data_dir`` as long-format Parquet.

    Returns ``(next_value_data, signal_data, paths)``.
    """
    from .data import generate_next_value, generate_signal
    from .data.io import to_long, write_long

    fast = is_fast() if fast is None else fast
    nv = generate_next_value(DataConfig(num_samples=2_000 if fast else 20_000, seed=0))
    sig = generate_signal(SignalConfig(num_samples=1_000 if fast else 10_000, seed=0))
    paths = {
        "next_value": write_long(
            to_long(nv.values, nv.mask, target=nv.target, extra={"family": nv.family, "oracle": nv.oracle}),
            data_dir / "next_value.parquet",
        ),
        "signal": write_long(to_long(sig.values, sig.mask, label=sig.label, salient=sig.salient),
                             data_dir / "signal.parquet"),
    }
    return nv, sig, paths


def dataset_summary(nv) -> pd.DataFrame:  # noqa: F821
    """Per-family statistics of next-value data: count, lengths, value range, noise (target − oracle)."""
    import numpy as np
    import pandas as pd

    df = pd.DataFrame({
        "family": nv.family, "length": nv.lengths,
        "min": np.where(nv.mask, nv.values, np.inf).min(1),
        "max": np.where(nv.mask, nv.values, -np.inf).max(1),
        "noise": np.abs(nv.target - nv.oracle),
    })
    return df.groupby("family").agg(
        n=("length", "size"), min_len=("length", "min"), max_len=("length", "max"),
        smallest=("min", "min"), largest=("max", "max"), mean_abs_noise=("noise", "mean"),
    )


def run_demo() -> None:
    nv, sig, paths = write_datasets()
    import pandas as pd

    with pd.option_context("display.width", 120, "display.float_format", "{:.4g}".format):
        print(f"Next-value data: {len(nv)} sequences -> {paths['next_value']}")
        print(dataset_summary(nv).to_string(), "\n")
        print(f"Signal data: {len(sig)} sequences [N, T, D] = {sig.values.shape} -> {paths['signal']}")
        print(f"  class 1: {int(sig.label.sum())}, class 0 with a distractor: {int(sig.distractor.sum())}, "
              f"salient steps per event: {int(sig.salient[sig.label == 1].sum(1).mean())}")
