"""How many sequence-steps an influence map batches into one pass: 8,192 (``model.explain_steps``, read by
``seqattn.explain.steps_per_pass``) against the flat ``STEP_BUDGET``, same run, same inputs. No built-in
model declares its own size now; this measures whether one should.

For each model (the attention-pooling classifier, the Transformer, the random-kernel classifier) and input
shape, Integrated Gradients and occlusion are timed (best of 2) once with every pass allowed STEP_BUDGET
sequence-steps and once with 8,192 ("own"), and the two maps are compared cell by cell (only the
batching differs, so they agree to float rounding). Models are built with seeded random weights; the
random-kernel classifier gets a seeded random read-out, since an unfitted one (all zero) explains nothing.
Speed depends on the weights' shapes, not their values.

Then, for the Transformer, the same maps with its full forward (every layer's attention weights, as a
plain ``model(x)`` returns them) against the prediction-only forward the maps now use
(``seqattn.models.output.prediction_only``: fused attention, no weights).

Run: ``python benchmarks/bench_passes.py`` (about 5 minutes on 2 cores); writes ``results/passes.json``.
"""

from __future__ import annotations

import time

from common import write

SMALL = {"forward": 1 << 13, "gradient": 1 << 13}  # the smaller pass size compared with the flat one


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


def timed_map(model, x, mask, method: str):
    """Best of 2 wall times (s) of one per-cell influence map, and the map."""
    from seqattn import explain

    best, out = float("inf"), None
    for _ in range(2):
        start = time.perf_counter()
        out = explain.influence_map(model, x, mask, method, reduce=None, empty="zeros")
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    import torch

    from seqattn import explain

    shapes = [(32, 200, 1), (256, 50, 4), (8, 500, 1)]  # (sequences, steps, features)
    rows = []
    for b, t, d in shapes:
        x = torch.randn(b, t, d, generator=torch.Generator().manual_seed(0))
        mask = torch.ones(b, t, dtype=torch.bool)
        for name, model in models(t, d).items():
            settings = {"flat": {}, "own": SMALL}  # set on the instance
            explain.influence_map(model, x[:2], mask[:2], "integrated_gradients", empty="zeros")  # warm-up
            for method in ("integrated_gradients", "occlusion"):
                timed = {}
                for setting, steps in settings.items():
                    model.explain_steps = steps
                    timed[setting] = timed_map(model, x, mask, method)
                row = {"model": name, "sequences": b, "steps": t, "features": d, "map": method,
                       "steps_per_pass": SMALL["forward"],
                       "seconds_flat": round(timed["flat"][0], 3), "seconds_own": round(timed["own"][0], 3),
                       "speedup": round(timed["flat"][0] / timed["own"][0], 2),
                       "max_abs_difference": float((timed["flat"][1] - timed["own"][1]).abs().max())}
                rows.append(row)
                print(row, flush=True)
    forward = prediction_only_rows(shapes)
    path = write("passes", {"step_budget": explain.STEP_BUDGET, "rows": rows, "prediction_only": forward})
    print(f"wrote {path}")


def prediction_only_rows(shapes) -> list[dict]:
    """The Transformer's maps with its full forward (every layer's [B, H, T, T] weights materialised, as
    before ``prediction_only``) against its prediction-only forward (fused attention), both at the flat
    pass size; the maps agree to float rounding."""
    import torch

    from seqattn.models import transformer

    rows = []
    for b, t, d in shapes:
        x = torch.randn(b, t, d, generator=torch.Generator().manual_seed(0))
        mask = torch.ones(b, t, dtype=torch.bool)
        model = models(t, d)["transformer"]
        for method in ("integrated_gradients", "occlusion"):
            timed = {}
            for setting, wanted in (("full", lambda: True), ("prediction_only", transformer.attention_weights_wanted)):
                original, transformer.attention_weights_wanted = transformer.attention_weights_wanted, wanted
                try:
                    timed[setting] = timed_map(model, x, mask, method)
                finally:
                    transformer.attention_weights_wanted = original
            row = {"model": "transformer", "sequences": b, "steps": t, "features": d, "map": method,
                   "seconds_full": round(timed["full"][0], 3),
                   "seconds_prediction_only": round(timed["prediction_only"][0], 3),
                   "speedup": round(timed["full"][0] / timed["prediction_only"][0], 2),
                   "max_abs_difference": float((timed["full"][1] - timed["prediction_only"][1]).abs().max())}
            rows.append(row)
            print(row, flush=True)
    return rows


if __name__ == "__main__":
    main()
