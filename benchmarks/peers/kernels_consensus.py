"""Which consensus parts suit the random-kernel classifier? A one-off check behind a README paragraph.

The same protocol as ``bench_saliency.py --models kernels --trainer fit --n-explain 32``: the classifier
trained by ``seqattn.fit`` on 1,500 training rows, 32 test sequences explained (their predicted class), AUPRC
in both conventions. It scores each part (occlusion, the class activation map, grad × input, Integrated
Gradients with 32 and 256 steps), the library's consensus, and the consensus built from other part sets.

Run: .venv-saliency/bin/python benchmarks/peers/kernels_consensus.py   (~12 minutes on 2 cores)
Writes benchmarks/results/kernels_consensus.json.
"""

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_saliency as bench  # noqa: E402
import torch  # noqa: E402
from common import write  # noqa: E402

from seqattn.data.saliency_benchmarks import BENCHMARKS, generate_benchmark  # noqa: E402
from seqattn.explain import influence_map  # noqa: E402

SETS = ("freqshapes", "seqcomb_uv", "lowvar")


def run(name: str) -> dict:
    model, info = bench.train_front_door(name, "kernels", generate_benchmark(name, min(BENCHMARKS[name].n_train, 1500),
                                                                             seed=1))
    test = generate_benchmark(name, max(100, BENCHMARKS[name].n_test), seed=3)
    x, mask, truth, reduce = bench.explain_set(name, test, 32)
    with torch.no_grad():
        explained = bench.Explained(model, model(x, mask).prediction.argmax(-1)).eval()
    maps = {m: influence_map(explained, x, mask, m, reduce=None).numpy()
            for m in ("occlusion", "attention", "grad_input", "consensus")}
    seconds = {}
    for steps in (32, 256):
        start = time.perf_counter()
        maps[f"integrated_gradients ({steps} steps)"] = influence_map(explained, x, mask, "integrated_gradients",
                                                                      reduce=None, ig_steps=steps).numpy()
        seconds[steps] = round(time.perf_counter() - start, 1)
    # unsigned maps from influence_map are already >= 0, as shares() needs
    occ, cam, ig = (bench.shares(maps[m]) for m in ("occlusion", "attention", "integrated_gradients (256 steps)"))
    maps["occlusion + CAM (no IG)"] = (occ + cam) / 2
    maps["occlusion + IG (no CAM)"] = (occ + ig) / 2
    maps["occlusion + CAM + IG (256 steps)"] = (occ + cam + ig) / 3
    rows = {m: bench.scores(reduce(v), truth) for m, v in maps.items()}
    return {"model": info, "ig_seconds": seconds, "rows": rows}


def main() -> None:
    torch.set_num_threads(bench.THREADS)
    results = {}
    for name in SETS:
        results[name] = run(name)
        for method, row in results[name]["rows"].items():
            print(f"{name:11s} {method:34s} AUPRC timex {row['auprc_timex']:.3f} tint {row['auprc_tint']:.3f}", flush=True)
    print(f"wrote {write('kernels_consensus', results)}")


if __name__ == "__main__":
    main()
