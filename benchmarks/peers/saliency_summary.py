"""One table from every saliency-benchmark run: where the default map stands against the published number.

Reads the runs of ``bench_saliency.py`` stored in ``benchmarks/results/saliency*.json`` (each names the
command that made it) and writes ``benchmarks/results/saliency_summary.md``: per run, model and benchmark,
the published number in its own convention (tint's pooled AUPRC/AUP/AUR or TimeX's per-sample AUPRC), the
default map's score in that convention and the gap (default − published), the free map (the model's
attention, returned by ``forward``), the best seqattn map and the best peer of that run, and the default
map's seconds per 1,000 sequences against each mask-learning method's in the same run (with the epochs it
ran: tint trains DynaMask for 1,000 epochs and ExtremalMask for 500, 2,000 on ARMA). Nothing is re-run: every
number comes from a stored run, so the table changes only when a run does.

A later run of the same benchmark and model replaces an earlier one (``RUNS`` lists the runs,
oldest first; a run not listed there comes last); ``--all`` keeps every run.

Where a run has no default map (the ARMA white box has no attention, so no consensus), the row reads the
map the white box does have, Integrated Gradients, and says so.

Run: python benchmarks/peers/saliency_summary.py [--all]   (a second; no torch)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"
DEFAULT, FREE, FALLBACK = "seqattn:consensus", "seqattn:attention", "seqattn:integrated_gradients"
MASKS = {"tint:ExtremalMask": ("extremal_epochs", "extremal_epochs_arma"), "tint:DynaMask": ("dyna_epochs",) * 2}
RUNS = ("saliency", "saliency_cells", "saliency_cells_arma", "saliency_fit", "saliency_kernels",
        "saliency_transformer", "saliency_transformer_hmm", "saliency_univariate", "saliency_dynamask_epochs")
DISPLAY = {"hmm": "HMM", "arma_rare_feature": "ARMA rare-feature", "arma_rare_time": "ARMA rare-time",
           "freqshapes": "FreqShapes", "seqcomb_uv": "SeqComb-UV", "seqcomb_mv": "SeqComb-MV", "lowvar": "LowVar"}


def _best(rows: dict, column: str, prefixes: tuple) -> tuple:
    """``(score, method)`` of the best-scoring method whose name starts with one of ``prefixes``."""
    scored = [(r[column], m) for m, r in rows.items() if m.startswith(prefixes) and r.get(column) is not None]
    return max(scored) if scored else (None, None)


def summarise(run: dict, source: str) -> list[dict]:
    """One row per (model, benchmark, published metric) of one stored run."""
    settings, rows = run["meta"].get("settings", {}), []
    for bench in run["results"]:
        for model in sorted({r["model"] for r in bench["rows"]}):
            white = model == "white_box"  # the ARMA benchmark's fixed model: its mask methods' own epochs
            mine = {r["method"]: r for r in bench["rows"] if r["model"] == model}
            default = DEFAULT if DEFAULT in mine else FALLBACK if FALLBACK in mine else None
            seconds = mine[default]["seconds_per_1k"] if default else None
            masks = {}
            for method, keys in MASKS.items():
                if method in mine and seconds:
                    cost = mine[method]["seconds_per_1k"]
                    masks[method] = {"seconds_per_1k": cost, "epochs": settings.get(keys[white]),
                                     "times_default": round(cost / seconds, 1)}
            info = bench.get("models", {}).get(model, {})
            for metric, (published, by, convention) in bench["published"].items():
                column = f"{metric}_{convention}"
                value = mine[default][column] if default else None
                rows.append({
                    "benchmark": bench["benchmark"], "model": model, "source": source,
                    "trainer": info.get("trainer"), "val_accuracy": info.get("val_accuracy"),
                    "metric": metric, "convention": convention, "published": published, "published_by": by,
                    "default_map": default, "default": value,
                    "gap": None if value is None else round(value - published, 4),
                    "free_map": mine.get(FREE, {}).get(column),
                    "best_seqattn": _best(mine, column, ("seqattn:",)),
                    "best_peer": _best(mine, column, ("captum:", "tint:")),
                    "default_seconds_per_1k": seconds, "masks": masks,
                })
    return rows


def current(rows: list[dict]) -> list[dict]:
    """Drop the rows that a later run of the same benchmark and model replaced."""
    def order(source):
        stem = source.removesuffix(".json")
        return RUNS.index(stem) if stem in RUNS else len(RUNS)

    latest = {}
    for r in rows:
        key = (r["benchmark"], r["model"])
        latest[key] = max(latest.get(key, r["source"]), r["source"], key=order)
    return [r for r in rows if latest[(r["benchmark"], r["model"])] == r["source"]]


def _fmt(v, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _times(mask: dict | None) -> str:
    if not mask:
        return "–"
    ratio = mask["times_default"]
    return f"{'**' if ratio >= 10 else ''}{ratio:g}×{'**' if ratio >= 10 else ''} ({mask['epochs']} ep.)"


def markdown(rows: list[dict]) -> str:
    lines = [
        "# Where the default map stands against the published numbers",
        "",
        "Written by `python benchmarks/peers/saliency_summary.py` from the stored runs of "
        "`benchmarks/peers/bench_saliency.py` (the source column names each run's file; its command is in the "
        "file; a later run of the same benchmark and model replaces an earlier one). Metric and "
        "convention are the published number's: `tint` = pooled over every cell of every sample, maps min-max "
        "normalised per sample; `timex` = per sample, averaged. Gap = default − published. Free map = the "
        "model's attention (class activation map for the kernels), returned by `forward` with no extra pass. "
        "Cost = the default map's seconds per 1,000 sequences; ExtremalMask ×, DynaMask × = how many times "
        "the default map's cost each mask-learning method took in the same run, with the epochs it ran "
        "(tint's own: DynaMask 1,000; ExtremalMask 500, 2,000 on ARMA).",
        "",
        "| benchmark | model (val. acc., trainer) | metric | published (by) | default map | gap | free map | "
        "best seqattn map | best peer | cost s/1k | ExtremalMask × | DynaMask × | source |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        acc = "" if r["val_accuracy"] is None else f"{r['val_accuracy']:.3f}, "
        trainer = {"seqattn.fit": "fit", None: "fixed"}.get(r["trainer"], r["trainer"])
        model = f"{r['model']} ({acc}{trainer})" if r["model"] != "white_box" else "white box (the benchmark's own)"
        default = _fmt(r["default"]) + ("" if r["default_map"] == DEFAULT else " (IG: no attention)")
        gap = "–" if r["gap"] is None else (f"**{r['gap']:+.3f}**" if r["gap"] >= 0 else f"{r['gap']:+.3f}")
        (sv, sm), (pv, pm) = r["best_seqattn"], r["best_peer"]
        lines.append(
            f"| {DISPLAY.get(r['benchmark'], r['benchmark'])} | {model} | {r['metric'].upper()} {r['convention']} | "
            f"{r['published']:.3f} ({r['published_by']}) | {default} | {gap} | {_fmt(r['free_map'])} | "
            f"{_fmt(sv)} ({sm and sm.split(':')[1]}) | {_fmt(pv)} ({pm}) | {_fmt(r['default_seconds_per_1k'], 0)} | "
            f"{_times(r['masks'].get('tint:ExtremalMask'))} | {_times(r['masks'].get('tint:DynaMask'))} | "
            f"`{r['source']}` |")
    met = [r for r in rows if r["gap"] is not None and r["gap"] >= 0]
    ratios = [m["times_default"] for r in rows for m in r["masks"].values()]
    lines += ["", f"At or above the published number: {len(met)} of {len(rows)} rows. Mask-learning runs at least "
              f"10× the default map's cost: {sum(x >= 10 for x in ratios)} of {len(ratios)}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path, help="stored runs (default: benchmarks/results/saliency*.json)")
    parser.add_argument("--all", action="store_true", help="keep the runs that later ones replaced")
    args = parser.parse_args(argv)
    paths = args.runs or sorted(p for p in RESULTS.glob("saliency*.json") if p.stem != "saliency_summary")
    rows = [row for p in paths for row in summarise(json.loads(p.read_text()), p.name)]
    rows = rows if args.all else current(rows)
    rows.sort(key=lambda r: (list(DISPLAY).index(r["benchmark"]) if r["benchmark"] in DISPLAY else 99,
                             r["model"], r["metric"], r["source"]))
    (RESULTS / "saliency_summary.md").write_text(markdown(rows))
    (RESULTS / "saliency_summary.json").write_text(json.dumps(rows, indent=1) + "\n")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
