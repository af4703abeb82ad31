"""The next-value and signal apps (seqattn.widgets), measured without a browser.

1. Latency: wall time of one update (the model, its recipe, the selected map, the PNG) after a slider
   moves, per map of the next-value app and for the signal app; median and 95th percentile over many
   updates. The goal is ≤ 150 ms, so sliders update while they are dragged.
2. Faithfulness in the app: pick a preset, a length and a step at random, move that step's slider to a
   random value inside its range; among the edits that move the prediction by more than 3 mean steps
   (the mean |first difference| of the edited sequence), how often is the edited step the largest
   |contribution|? The goal is ≥ 95 % of such trials. (The same rate for other maps, and for the
   contributions of the full-gradient recipe, for comparison; and the rate split by how far the edited
   step itself moved, in mean steps: a small edit that moves the forecast a lot switched the model's rule;
   and how many misses put the edited value closer to the sequence mean than the top step's value: a
   contribution w_t·(x_t − mean) is near 0 there whatever the step's weight.)

Run: python benchmarks/bench_app.py   (~2 minutes on 2 cores; --quick for a smoke run)
Writes benchmarks/results/app.json.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import write  # noqa: E402

from seqattn.explain import influence_map  # noqa: E402
from seqattn.influence import recipe  # noqa: E402
from seqattn.widgets import NEXT_VALUE_MAPS, PRESETS, next_value_app, signal_app  # noqa: E402

OTHER_MAPS = ("shapley", "occlusion", "consensus", "attention", "grad_input")


def timed_updates(change, n: int) -> dict:
    """Median and p95 wall time (ms) of ``n`` calls of ``change(k)`` (each one slider move)."""
    times = []
    for k in range(n):
        t = time.perf_counter()
        change(k)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"median_ms": round(statistics.median(times), 1), "p95_ms": round(times[int(0.95 * (n - 1))], 1),
            "n": n}


def next_value_latency(app, n: int) -> dict:
    result = {}
    app.preset.value = "noisy linear"
    app.length.value = 10
    slider = app.sliders[6]
    grid = np.linspace(slider.min, slider.max, 41)
    for name in NEXT_VALUE_MAPS:
        app.map_select.value = name
        result[name] = timed_updates(lambda k: setattr(slider, "value", float(grid[k % len(grid)])), n)
    app.map_select.value = "contributions"
    return result


def signal_latency(n: int) -> dict:
    app = signal_app()
    return timed_updates(lambda k: setattr(app.position, "value", 5 + (k * 7) % 50), n)


def edit_trials(app, trials: int, seed: int = 0) -> dict:
    """Random strong single-step edits in the app: is the edited step the largest |contribution|?"""
    rng = np.random.default_rng(seed)
    names = list(PRESETS)
    hits, strong, misses, by_size, nearer_mean = 0, 0, [], {}, 0
    by_map = dict.fromkeys((*OTHER_MAPS, "contributions (gradient recipe)"), 0)
    for _ in range(trials):
        app.preset.value = names[rng.integers(len(names))]
        app.length.value = int(rng.integers(4, len(app.sliders) + 1))
        before = app.result.prediction
        k = int(rng.integers(app.length.value))
        slider = app.sliders[k]
        old = slider.value
        slider.value = float(np.round(rng.uniform(slider.min, slider.max), 6))
        values = np.asarray(app.values())
        mean_step = float(np.abs(np.diff(values)).mean())
        if abs(app.result.prediction - before) <= 3 * mean_step:
            continue
        strong += 1
        top = int(np.argmax(np.abs(app.result.contributions)))
        hits += top == k
        size = "step moved ≥ 3 mean steps" if abs(slider.value - old) >= 3 * mean_step else "step moved < 3 mean steps"
        by_size.setdefault(size, []).append(int(top == k))
        x = torch.from_numpy(np.asarray(values, dtype=np.float64)[None])
        for name in OTHER_MAPS:  # the same question of the other maps, for comparison
            other = influence_map(app.model, x, method=name, empty="zeros")[0].numpy()
            by_map[name] += int(np.argmax(other)) == k
        gradient = recipe(app.model, x, method="gradient").contributions[0].numpy()
        by_map["contributions (gradient recipe)"] += int(np.argmax(np.abs(gradient))) == k
        distance = np.abs(values - values.mean())
        nearer_mean += int(top != k and distance[k] < distance[top])
        if top != k and len(misses) < 10:
            misses.append({"preset": app.preset.value, "values": values.round(3).tolist(), "edited": k,
                           "top": top, "prediction": round(app.result.prediction, 3)})
    return {"trials": trials, "strong_edits": strong, "edited_step_is_top": hits,
            "rate": round(hits / max(strong, 1), 4),
            "rate_by_other_map": {m: round(v / max(strong, 1), 4) for m, v in by_map.items()},
            "rate_by_edit_size": {k: {"strong_edits": len(v), "rate": round(float(np.mean(v)), 4)}
                                  for k, v in sorted(by_size.items())},
            "misses_with_the_edited_value_nearer_the_mean": nearer_mean, "misses": misses}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a few updates and trials (smoke run)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    n, trials = (10, 60) if args.quick else (80, 1000)
    app = next_value_app()
    latency = next_value_latency(app, n)
    latency["signal app (consensus map)"] = signal_latency(n)
    for name, row in latency.items():
        print(f"{name:28s} median {row['median_ms']:7.1f} ms   p95 {row['p95_ms']:7.1f} ms", flush=True)
    edits = edit_trials(app, trials)
    print(f"strong edits: {edits['strong_edits']} of {edits['trials']} trials; the edited step is the largest "
          f"|contribution| in {edits['rate']:.1%}; the top step of other maps: {edits['rate_by_other_map']}; "
          f"by how far the edited step itself moved: {edits['rate_by_edit_size']}; misses with the edited value "
          f"nearer the mean than the top step: {edits['misses_with_the_edited_value_nearer_the_mean']} of "
          f"{edits['strong_edits'] - edits['edited_step_is_top']}")
    if not args.quick:
        write("app", {"latency": latency, "edits": edits, "goal": {"latency_ms": 150, "edit_rate": 0.95}})


if __name__ == "__main__":
    main()
