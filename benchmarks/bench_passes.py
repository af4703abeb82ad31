"""How many sequence-steps an influence map batches into one pass: the model's own ``explain_steps``
(``seqattn.explain.steps_per_pass``) against the flat ``STEP_BUDGET``, same run, same inputs.

For each model (the attention-pooling classifier, the Transformer, the random-kernel classifier) and input
shape, Integrated Gradients and occlusion are timed (best of 2) once with every pass allowed STEP_BUDGET
sequence-steps and once with the model's own setting, and the two maps are compared cell by cell (only the
batching differs, so they agree to float rounding). Models are built with seeded random weights; the
random-kernel classifier gets a seeded random read-out, since an unfitted one (all zero) explains nothing.
Speed depends on the weights' shapes, not their values.

Run: ``python benchmarks/bench_passes.py`` (about 10 minutes on 2 cores); writes ``results/passes.json``.
"""

from __future__ import annotations

import time

from common import write


def models(t: int, d: int) -> dict:
    import torch

    from seqattn.models import build_model
    from seqattn.recipes import signal_recipe

    torch.manual_seed(0)
    pooling = {**signal_recipe().model_config, "num_features": d, "max_len": t}
    out = {"pooling": build_model("pooling", "classify", pooling),
           "transformer": build_model("transformer", "classify", {"num_features": d, "d_model": 32, "num_heads": 4,
                                                                  "num_layers": 2, "dim_feedforward": 64, "max_len": t}),
           "kernels": build_model("kernels", "classify", {"num_features": d, "max_len": t})}
    with torch.no_grad():
        out["kernels"].readout.weight.normal_(0, 0.01)
    return {name: m.eval() for name, m in out.items()}


def main() -> None:
    import torch

    from seqattn import explain

    shapes = [(32, 200, 1), (256, 50, 4), (8, 500, 1)]  # (sequences, steps, features)
    rows = []
    for b, t, d in shapes:
        x = torch.randn(b, t, d, generator=torch.Generator().manual_seed(0))
        mask = torch.ones(b, t, dtype=torch.bool)
        for name, model in models(t, d).items():
            own = {"forward": explain.steps_per_pass(model), "gradient": explain.steps_per_pass(model, True)}
            settings = {"flat": {}, "own": getattr(type(model), "explain_steps", {})}  # set on the instance
            explain.influence_map(model, x[:2], mask[:2], "integrated_gradients", empty="zeros")  # warm-up
            for method in ("integrated_gradients", "occlusion"):
                timed = {}
                for setting, steps in settings.items():
                    model.explain_steps = steps
                    best, out = float("inf"), None
                    for _ in range(2):
                        start = time.perf_counter()
                        out = explain.influence_map(model, x, mask, method, reduce=None, empty="zeros")
                        best = min(best, time.perf_counter() - start)
                    timed[setting] = (best, out)
                row = {"model": name, "sequences": b, "steps": t, "features": d, "map": method,
                       "steps_per_pass": own["gradient" if method == "integrated_gradients" else "forward"],
                       "seconds_flat": round(timed["flat"][0], 3), "seconds_own": round(timed["own"][0], 3),
                       "speedup": round(timed["flat"][0] / timed["own"][0], 2),
                       "max_abs_difference": float((timed["flat"][1] - timed["own"][1]).abs().max())}
                rows.append(row)
                print(row, flush=True)
    path = write("passes", {"step_budget": explain.STEP_BUDGET, "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
