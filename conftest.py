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


def pytest_collection_modifyitems(config, items):
    # notebook 05 runs on data bundled in the optional `real` extra (make test installs it): without it,
    # skip the notebook's cells, saying how to install it, instead of failing on an ImportError
    from seqattn.real import INSTALL_HINT, missing_packages

    missing = missing_packages()
    if not missing:
        return
    import pytest

    reason = f"notebook 05 needs {', '.join(missing)} (the 'real' extra): {INSTALL_HINT}"
    for item in items:
        if "05_real_data" in str(getattr(item, "fspath", "")):
            item.add_marker(pytest.mark.skip(reason=reason))
