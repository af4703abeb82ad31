"""CLI speed: ``seqattn predict 2 4 6 8 10`` cold start as a ratio to ``python -c "import torch"``
(interleaved, best of 7 each, same run; goal <= 1.3x), and ``predict --csv --json`` on 100,000 sequences.

Run: python benchmarks/bench_cli.py
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write  # noqa: E402

from seqattn.config import DataConfig  # noqa: E402
from seqattn.data import generate_next_value  # noqa: E402
from seqattn.data.io import to_long, write_long  # noqa: E402

ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=ENV)
    return time.perf_counter() - start


def main() -> None:
    torch_cmd = [sys.executable, "-c", "import torch"]
    predict_cmd = [sys.executable, "-m", "seqattn", "predict", "2", "4", "6", "8", "10"]
    wall(torch_cmd), wall(predict_cmd)  # warm the file cache
    t_torch, t_predict = [], []
    for _ in range(7):
        t_torch.append(wall(torch_cmd))
        t_predict.append(wall(predict_cmd))
    with tempfile.TemporaryDirectory() as tmp:
        d = generate_next_value(DataConfig(num_samples=100_000, seed=8))
        path = write_long(to_long(d.values, d.mask), Path(tmp) / "100k.parquet")
        start = time.perf_counter()
        with open(Path(tmp) / "out.jsonl", "wb") as out:
            subprocess.run([sys.executable, "-m", "seqattn", "predict", "--csv", str(path), "--json"],
                           check=True, stdout=out, env=ENV)
        t_csv = time.perf_counter() - start
        lines = sum(1 for _ in open(Path(tmp) / "out.jsonl"))
    write("cli", {
        "import_torch_seconds": min(t_torch), "predict_seconds": min(t_predict),
        "predict_cold_start_ratio_vs_import_torch": min(t_predict) / min(t_torch),
        "predict_csv_100k_seconds": t_csv, "predict_csv_100k_seq_per_s": lines / t_csv, "lines": lines,
    })


if __name__ == "__main__":
    main()
