"""Training cost against sequence length: the file-classify recipe (patches for long inputs) at
T = 64 … 4096, 4 features, batch as the recipe picks for 2,000 sequences; each length in its own process so
peak memory is its own. Reported: seconds per optimizer step, sequences per second, and peak RSS above
``import torch``.

Run: python benchmarks/bench_length.py   (writes benchmarks/results/length.json and length.md)
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
LENGTHS = (64, 128, 256, 512, 1024, 2048, 4096)
STEPS = 20


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(t: int) -> dict:
    import torch

    torch.set_num_threads(2)
    base = _rss_mib()
    from seqattn.models import build_model
    from seqattn.recipes import DataShape, recipe_for_data

    recipe = recipe_for_data("classify", DataShape(n=2_000, max_len=t, num_features=4, num_classes=2))
    model = build_model(recipe.model, "classify", recipe.model_config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(recipe.batch_size, t, 4, generator=g)
    y = torch.randint(0, 2, (recipe.batch_size,), generator=g)
    mask = torch.ones(recipe.batch_size, t, dtype=torch.bool)
    for step in range(STEPS + 2):
        if step == 2:  # the first steps warm up allocators
            start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x, mask).prediction, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = (time.perf_counter() - start) / STEPS
    return {"T": t, "stride": recipe.model_config["stride"], "batch": recipe.batch_size,
            "seconds_per_step": seconds, "sequences_per_second": recipe.batch_size / seconds,
            "peak_rss_mib_above_torch": _rss_mib() - base}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]))))
        return
    from common import write

    rows = []
    for t in LENGTHS:
        r = subprocess.run([sys.executable, __file__, "--child", str(t)], capture_output=True, text=True, check=True)
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    write("length", {"steps_timed": STEPS, "rows": rows})
    lines = ["| T | patch (stride) | batch | s / step | sequences / s | peak RSS MiB above torch |",
             "|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['T']} | {r['stride']} | {r['batch']} | {r['seconds_per_step']:.3f} | "
              f"{r['sequences_per_second']:.0f} | {r['peak_rss_mib_above_torch']:.0f} |" for r in rows]
    (HERE / "results" / "length.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
