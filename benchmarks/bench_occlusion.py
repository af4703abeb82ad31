"""Occlusion on the random-kernel classifier: its own occluded logits, which recompute only the steps a
window reaches (``KernelClassifier.occlusion_logits``), against Captum's ``Occlusion`` (one full forward
pass per window), same run, same inputs, same model.

For each input shape both maps are timed (best of 2) and compared cell by cell (they agree to float
rounding). The model is fitted (``fit_kernels``) on seeded synthetic data with a planted bump, so its
biases and read-out are a real model's, not random.

Run: ``python benchmarks/bench_occlusion.py`` (about 3 minutes on 2 cores); writes ``results/occlusion.json``.
"""

from __future__ import annotations

import time

from common import write


def fitted(t: int, d: int):
    import numpy as np

    from seqattn.models import build_model
    from seqattn.models.kernels import fit_kernels

    rng = np.random.default_rng(0)
    y = np.arange(200) % 2
    x = rng.normal(size=(200, t, d))
    where = rng.integers(0, t - 10, 200)
    for i in np.flatnonzero(y):
        x[i, where[i] : where[i] + 10, 0] += 2.0
    model = build_model("kernels", "classify", {"num_features": d, "max_len": t})
    fit_kernels(model, x, np.ones((200, t), bool), y)
    return model.eval()


def main() -> None:
    import torch

    from seqattn import explain

    shapes = [(32, 200, 1), (32, 200, 3), (128, 50, 1), (8, 500, 1), (4, 1000, 1)]  # (sequences, steps, features)
    rows = []
    for b, t, d in shapes:
        model = fitted(t, d)
        x = torch.randn(b, t, d, generator=torch.Generator().manual_seed(1))
        mask = torch.ones(b, t, dtype=torch.bool)
        timed = {}
        for local in (False, True):
            best, out = float("inf"), None
            for _ in range(2):
                start = time.perf_counter()
                out = explain.MAPS["occlusion"](model, x, mask, local=local)
                best = min(best, time.perf_counter() - start)
            timed[local] = (best, out)
        scale = float(timed[False][1].abs().max())
        row = {"sequences": b, "steps": t, "features": d, "seconds_captum": round(timed[False][0], 3),
               "seconds_local": round(timed[True][0], 3), "speedup": round(timed[False][0] / timed[True][0], 2),
               "max_abs_difference": float((timed[False][1] - timed[True][1]).abs().max()), "max_abs_map": scale}
        rows.append(row)
        print(row, flush=True)
    path = write("occlusion", {"rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
