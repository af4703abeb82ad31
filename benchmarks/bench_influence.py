"""Next-value recipes: how readable the weights are, whether they are finite, and whose deletion curve wins.

On held-out next-value data (``generate_next_value(DataConfig(num_samples=4000, seed=2024, min_len=4))``):

- per family: the model's MAE (``seqattn.metrics.evaluate``), the median and 99th percentile of
  max_t |w_t| for both recipes (``seqattn.influence``: "rules", the default, and "gradient",
  w = ∂prediction/∂x), and how many rows have a non-finite weight;
- the original project's example table (``seqattn.metrics.example_table``);
- the sequences issue 14 and 16 list: prediction and max |w|;
- deletion / insertion areas (``seqattn.explain.deletion_insertion``, removed steps replaced by the
  sequence mean; deletion: higher is better) for |contributions|, |weights| and the contributions signed
  toward the forecast (largest c_t·sign(Σc) first) of both recipes, Integrated Gradients, occlusion, the
  consensus, the Shapley values, attention and a random map, on the first ``DELETION_N`` sequences, each
  paired with the best map on the same sequences (mean AUC difference, 95 % bootstrap interval).

On a tree without ``seqattn.influence`` the gradient is computed with plain autograd (and the rules recipe
is left out): ``python benchmarks/bench_influence.py --label before`` there writes
``influence-before.json``, which the default run (``--label after``) puts beside its own numbers.

Run: python benchmarks/bench_influence.py [--label after|before] [--out-dir benchmarks/results]
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import RESULTS, machine  # noqa: E402

from seqattn.api import load_pretrained  # noqa: E402
from seqattn.config import DataConfig  # noqa: E402
from seqattn.data import generate_next_value  # noqa: E402
from seqattn.explain import deletion_insertion, influence_maps  # noqa: E402
from seqattn.metrics import evaluate, example_table  # noqa: E402

DELETION_N = 512
PROBES = {
    "2 4 6 8 10": [2, 4, 6, 8, 10],
    "3 3 3 3 3": [3, 3, 3, 3, 3],
    "ten 1s then 6": [1] * 10 + [6],
    "sin t (7 steps)": [0, 0.84, 0.91, 0.14, -0.76, -0.96, -0.28],
    "1 -1 1 -1": [1, -1, 1, -1],
    "1 -1 1 -1 1 -1": [1, -1, 1, -1, 1, -1],
    "1 2 4 8 16": [1, 2, 4, 8, 16],
}


try:
    from seqattn.influence import RECIPES, forward_with_influence
except ImportError:  # a tree from before the recipes: the full gradient only
    RECIPES, forward_with_influence = ("gradient",), None


def recipe_weights(model, x: torch.Tensor, mask: torch.Tensor, method: str = "gradient") -> tuple[np.ndarray, np.ndarray]:
    """(prediction [B], recipe weights [B, T]) in float64, one backward pass."""
    if forward_with_influence is not None:
        out = forward_with_influence(model, x, mask, method)
        return out.prediction.numpy(), out.influence.numpy()
    x = x.detach().to(torch.float64).requires_grad_(True)
    prediction = model(x, mask).prediction
    (weights,) = torch.autograd.grad(prediction.sum(), x)
    return prediction.detach().numpy(), (weights * mask).numpy()


def weight_stats(max_w: np.ndarray) -> dict:
    finite = np.isfinite(max_w)
    return {"n": int(len(max_w)), "non_finite": int((~finite).sum()),
            "median_max_abs_w": float(np.median(max_w[finite])),
            "p99_max_abs_w": float(np.percentile(max_w[finite], 99)), "max_max_abs_w": float(max_w[finite].max())}


def deletion_table(model, data) -> dict:
    x = torch.tensor(data.values[:DELETION_N], dtype=torch.float64)
    mask = torch.tensor(data.mask[:DELETION_N])
    maps = {}
    for method in RECIPES:
        _, w = recipe_weights(model, x, mask, method)
        w = np.nan_to_num(w, nan=0.0, posinf=0.0, neginf=0.0)
        xs = x.numpy() * mask.numpy()
        mean = xs.sum(1, keepdims=True) / mask.numpy().sum(1, keepdims=True)
        c = w * (xs - mean) * mask.numpy()
        # first order, deleting step t moves the forecast by −c_t, so the largest move from deleting k steps
        # takes the k largest contributions of the forecast's own sign (|c| order mixes signs, which
        # cancel); shifted positive because deletion_insertion ranks padding at −1
        toward = c * np.sign(c.sum(1, keepdims=True))
        toward = np.where(mask.numpy(), toward - toward.min(1, keepdims=True) + 1.0, 0.0)
        suffix = "" if method == "gradient" else f" ({method})"
        maps.update({f"contributions{suffix}": np.abs(c), f"weights{suffix}": np.abs(w) * mask.numpy(),
                     f"contributions_toward_forecast{suffix}": toward})
    methods = ["integrated_gradients", "occlusion", "consensus", "shapley", "attention", "random"]
    maps.update({k: v.numpy() for k, v in influence_maps(model, x, mask, methods).items()})
    rows, per_sequence = {}, {}
    for name, m in maps.items():
        deletion, insertion = deletion_insertion(model, x, mask, torch.as_tensor(m), per_sequence=True)
        per_sequence[name] = deletion.mean(0)  # each sequence's deletion AUC
        deletion, insertion = deletion.mean(1), insertion.mean(1)
        rows[name] = {"deletion_auc": float(deletion.mean()), "insertion_auc": float(insertion.mean()),
                      "deletion_10pct": float(deletion[1]), "deletion_20pct": float(deletion[2]),
                      "deletion_30pct": float(deletion[3])}
    best = max(rows, key=lambda k: rows[k]["deletion_auc"])
    for name, row in rows.items():  # paired against the best map: is the gap more than sampling noise?
        row["vs_best"] = paired_difference(per_sequence[best], per_sequence[name]) if name != best else None
    return rows


def paired_difference(a: np.ndarray, b: np.ndarray, resamples: int = 2000, seed: int = 0) -> dict:
    """Mean of a − b over the same sequences, with a 95 % bootstrap interval and the share where a > b."""
    diff = a - b
    rng = np.random.default_rng(seed)
    boots = diff[rng.integers(0, len(diff), (resamples, len(diff)))].mean(1)
    return {"mean": float(diff.mean()), "ci95": [float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))],
            "share_better": float((diff > 0).mean())}


def measure() -> dict:
    torch.manual_seed(0)
    model = load_pretrained("next-value")
    data = generate_next_value(DataConfig(num_samples=4000, seed=2024, min_len=4))
    table = evaluate(model, data)
    by_method = {}
    for method in RECIPES:
        _, w = recipe_weights(model, torch.tensor(data.values), torch.tensor(data.mask), method)
        max_w = np.abs(w).max(1)
        weights = {"all": weight_stats(max_w)}
        weights.update({f: weight_stats(max_w[data.family == f]) for f in sorted(set(data.family))})
        probes = {}
        for name, seq in PROBES.items():
            x = torch.tensor([seq], dtype=torch.float64)
            p, pw = recipe_weights(model, x, torch.ones_like(x, dtype=torch.bool), method)
            probes[name] = {"prediction": float(p[0]), "max_abs_w": float(np.abs(pw).max()),
                            "weights": [float(v) for v in pw[0]]}
        by_method[method] = {"max_abs_weight": weights, "probes": probes}
    # the top-level max_abs_weight / probes stay the full gradient's, the quantity earlier runs recorded
    return {"accuracy": table[["n", "model_mae", "mae_vs_naive"]].reset_index().to_dict("records"),
            "examples": example_table(model)[["sequence", "truth", "ours", "ours_error"]].reset_index()
            .to_dict("records"),
            **by_method["gradient"], "recipes": by_method, "deletion": deletion_table(model, data)}


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def markdown(after: dict, before: dict | None) -> str:
    def side(section, key, field):
        rows_a = {r[key]: r for r in after[section]}
        rows_b = {r[key]: r for r in before[section]} if before else {}
        lines = [f"| {key} | before | after |", "|:--|--:|--:|"]
        for k, r in rows_a.items():
            lines.append(f"| {k} | {_fmt(rows_b[k][field]) if k in rows_b else '–'} | {_fmt(r[field])} |")
        return lines

    md = ["## Next-value MAE per family (4,000 held-out sequences, seed 2024)", ""]
    md += side("accuracy", "family", "model_mae")
    md += ["", "## Example table (prediction)", ""] + side("examples", "example", "ours")
    md += ["", "## max_t |w_t| per sequence (recipe weights): median / p99 / rows with a non-finite weight", "",
           "| family | before median | before p99 | before non-finite | after median | after p99 | after non-finite |",
           "|:--|--:|--:|--:|--:|--:|--:|"]
    for fam, s in after["max_abs_weight"].items():
        b = before["max_abs_weight"].get(fam) if before else None
        cells = [_fmt(b[k]) if b else "–" for k in ("median_max_abs_w", "p99_max_abs_w", "non_finite")]
        cells += [_fmt(s[k]) for k in ("median_max_abs_w", "p99_max_abs_w", "non_finite")]
        md.append(f"| {fam} | " + " | ".join(cells) + " |")
    rules = after.get("recipes", {}).get("rules")
    if rules:
        md += ["", "## max_t |w_t| per sequence, the default \"rules\" recipe (the table above is the full "
               "gradient's)", "", "| family | median | p99 | non-finite |", "|:--|--:|--:|--:|"]
        for fam, s in rules["max_abs_weight"].items():
            md.append(f"| {fam} | " + " | ".join(_fmt(s[k]) for k in ("median_max_abs_w", "p99_max_abs_w",
                                                                         "non_finite")) + " |")
    md += ["", "## Probes: prediction (max |w|)", "", "| input | before | after, gradient | after, rules |",
           "|:--|--:|--:|--:|"]
    for name, p in after["probes"].items():
        b = before["probes"].get(name) if before else None
        old = f"{b['prediction']:.4g} ({b['max_abs_w']:.3g})" if b else "–"
        r = rules["probes"][name] if rules else None
        new_rules = f"{r['prediction']:.4g} ({r['max_abs_w']:.3g})" if r else "–"
        md.append(f"| {name} | {old} | {p['prediction']:.4g} ({p['max_abs_w']:.3g}) | {new_rules} |")
    md += ["", f"## Deletion / insertion on the first {DELETION_N} sequences "
           "(mean |Δprediction| in mean steps; deletion: higher is better, insertion: lower is better)", "",
           "| map | deletion AUC | insertion AUC | deletion at 10 % | at 20 % | at 30 % "
           "| best map's AUC lead over it, 95 % bootstrap interval (share of sequences) |",
           "|:--|--:|--:|--:|--:|--:|:--|"]
    for name, r in sorted(after["deletion"].items(), key=lambda kv: -kv[1]["deletion_auc"]):
        v = r.get("vs_best")
        lead = (f"{v['mean']:+.3f} [{v['ci95'][0]:+.3f}, {v['ci95'][1]:+.3f}] ({v['share_better']:.0%})"
                if v else "(best)")
        md.append(f"| {name} | {r['deletion_auc']:.4g} | {r['insertion_auc']:.4g} | {r['deletion_10pct']:.4g} "
                  f"| {r['deletion_20pct']:.4g} | {r['deletion_30pct']:.4g} | {lead} |")
    return "\n".join(md) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", choices=("after", "before"), default="after")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = {"machine": machine(), **measure()}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    name = "influence" if args.label == "after" else "influence-before"
    (args.out_dir / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    if args.label == "after":
        before_path = args.out_dir / "influence-before.json"
        before = json.loads(before_path.read_text()) if before_path.exists() else None
        (args.out_dir / "influence.md").write_text(markdown(result, before))


if __name__ == "__main__":
    main()
