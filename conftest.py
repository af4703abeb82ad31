"""Root pytest set-up: runs before torch is imported anywhere in the session."""

import os
from pathlib import Path

# Two torch processes at once (pytest + a notebook kernel) otherwise spin on each other's cores and run
# ~50x slower on 2 cores; notebook kernels inherit these variables.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("SEQATTN_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_configure(config):
    # nbval resolves --nbval-sanitize-with against the CWD; anchor it to the repository root
    if hasattr(config.option, "nbval_sanitize_with"):
        config.option.nbval_sanitize_with = str(Path(__file__).parent / "nbval_sanitize.cfg")
