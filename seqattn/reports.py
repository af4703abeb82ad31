"""Re-execute the notebook series into ``reports/`` (executed copies + PNG figures).

The committed notebooks are never touched. ``make demo`` runs this with the small settings
(``SEQATTN_FAST=1`` in the kernels: the whole series in about a minute on 2 cores); pass ``fast=False``
for the full run (notebook 02 then retrains the shipped weights: ~12 minutes).
"""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

from .config import REPORTS_DIR, ROOT

NOTEBOOKS_DIR = ROOT / "notebooks"


def run_notebooks(out_dir=REPORTS_DIR, fast: bool = True, timeout: int = 1800) -> list[dict]:
    """Execute every ``notebooks/NN_*.ipynb`` in order into ``out_dir``; returns one summary per notebook
    (name, seconds, figures written). A failing cell raises nbclient's CellExecutionError."""
    import nbformat
    from nbclient import NotebookClient

    out_dir = Path(out_dir)
    figures = out_dir / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    saved_env = {k: os.environ.get(k) for k in ("SEQATTN_FAST", "OMP_WAIT_POLICY")}
    os.environ.update(OMP_WAIT_POLICY="PASSIVE")
    if fast:
        os.environ["SEQATTN_FAST"] = "1"
    else:
        os.environ.pop("SEQATTN_FAST", None)
    summary = []
    try:
        for path in sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
            if path.stem == "05_real_data":
                from .real import INSTALL_HINT, missing_packages

                if missing_packages():  # its data ship in the optional `real` extra
                    summary.append({"notebook": path.name, "seconds": 0.0, "figures": 0,
                                    "skipped": f"needs the 'real' extra: {INSTALL_HINT}"})
                    continue
            nb = nbformat.read(path, as_version=4)
            start = time.perf_counter()
            NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                           resources={"metadata": {"path": str(NOTEBOOKS_DIR)}}).execute()
            nbformat.write(nb, out_dir / path.name)
            written = 0
            for k, cell in enumerate(nb.cells):
                for m, output in enumerate(cell.get("outputs", [])):
                    png = output.get("data", {}).get("image/png")
                    if png:
                        (figures / f"{path.stem}_cell{k:02d}_{m}.png").write_bytes(base64.b64decode(png))
                        written += 1
            summary.append({"notebook": path.name, "seconds": round(time.perf_counter() - start, 1),
                            "figures": written})
    finally:
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return summary
