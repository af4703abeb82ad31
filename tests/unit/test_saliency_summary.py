"""benchmarks/peers/saliency_summary.py: the default map against the published numbers, from stored runs."""

import importlib.util
import json
from pathlib import Path

import pytest

from seqattn.data.saliency_benchmarks import BENCHMARKS

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("saliency_summary", ROOT / "benchmarks/peers/saliency_summary.py")
summary = importlib.util.module_from_spec(spec)
spec.loader.exec_module(summary)


def row(method, auprc, seconds, model="pooling"):
    return {"model": model, "method": method, "n": 4, "auprc_timex": auprc, "seconds_per_1k": seconds}


def run(rows, benchmark="lowvar", published=("auprc", 0.869, "IG", "timex"), dyna_epochs=1000, models=None):
    metric, value, by, convention = published
    return {"meta": {"settings": {"extremal_epochs": 300, "extremal_epochs_arma": 2000, "dyna_epochs": dyna_epochs}},
            "results": [{"benchmark": benchmark, "published": {metric: [value, by, convention]},
                         "models": models or {"pooling": {"val_accuracy": 0.9, "trainer": "seqattn.fit"}},
                         "rows": rows}]}


def test_gap_free_map_best_and_cost_ratios():
    rows = summary.summarise(run([row("seqattn:consensus", 0.80, 20.0), row("seqattn:attention", 0.5, 0.1),
                                  row("seqattn:occlusion", 0.85, 5.0), row("captum:Occlusion", 0.9, 30.0),
                                  row("tint:ExtremalMask", 0.7, 300.0), row("tint:DynaMask", 0.4, 150.0)]), "a.json")
    (r,) = rows
    assert r["default"] == 0.80 and r["gap"] == pytest.approx(0.80 - 0.869)
    assert r["free_map"] == 0.5
    assert r["best_seqattn"] == (0.85, "seqattn:occlusion") and r["best_peer"] == (0.9, "captum:Occlusion")
    assert r["masks"]["tint:ExtremalMask"] == {"seconds_per_1k": 300.0, "epochs": 300, "times_default": 15.0}
    assert r["masks"]["tint:DynaMask"] == {"seconds_per_1k": 150.0, "epochs": 1000, "times_default": 7.5}
    text = summary.markdown(rows)
    assert "**15×** (300 ep.)" in text and "7.5× (1000 ep.)" in text and "-0.069" in text
    assert "At or above the published number: 0 of 1 rows" in text and "10× the default map's cost: 1 of 2" in text


def test_white_box_reads_integrated_gradients_and_its_own_epochs():
    white = {"model": "white_box"}
    rows = summary.summarise(run([{**white, "method": "seqattn:integrated_gradients", "aup_tint": 1.0, "seconds_per_1k": 2.0},
                                  {**white, "method": "tint:ExtremalMask", "aup_tint": 1.0, "seconds_per_1k": 800.0}],
                                 benchmark="arma_rare_time", published=("aup", 0.993, "ExtremalMask", "tint"),
                                 models={}), "arma.json")
    (r,) = rows
    assert r["default_map"] == "seqattn:integrated_gradients" and r["gap"] == pytest.approx(0.007)
    assert r["masks"]["tint:ExtremalMask"]["epochs"] == 2000 and r["masks"]["tint:ExtremalMask"]["times_default"] == 400
    assert "(IG: no attention)" in summary.markdown(rows)


def test_a_later_run_replaces_an_earlier_one_of_the_same_benchmark_and_model():
    old = summary.summarise(run([row("seqattn:consensus", 0.4, 20.0)]), "saliency.json")
    new = summary.summarise(run([row("seqattn:consensus", 0.9, 10.0)]), "saliency_cells.json")
    other = summary.summarise(run([row("seqattn:consensus", 0.6, 10.0, model="kernels")]), "saliency.json")
    kept = summary.current(old + new + other)
    assert sorted((r["model"], r["default"]) for r in kept) == [("kernels", 0.6), ("pooling", 0.9)]
    unlisted = summary.summarise(run([row("seqattn:consensus", 0.7, 10.0)]), "saliency_new_run.json")
    assert [r["default"] for r in summary.current(new + unlisted)] == [0.7]  # a run not in RUNS comes last


def test_the_stored_runs_cover_every_benchmark_and_published_metric(tmp_path, monkeypatch):
    monkeypatch.setattr(summary, "RESULTS", tmp_path)
    stored = sorted((ROOT / "benchmarks/results").glob("saliency*.json"))
    rows = summary.main([str(p) for p in stored if p.stem != "saliency_summary"])
    for name, bench in BENCHMARKS.items():
        mine = [r for r in rows if r["benchmark"] == name]
        assert {r["metric"] for r in mine} == set(bench.published), name
        assert all(r["gap"] is not None for r in mine), name  # every published number gets a gap
    assert json.loads((tmp_path / "saliency_summary.json").read_text()) == json.loads(json.dumps(rows))
    assert (tmp_path / "saliency_summary.md").read_text().count("\n| ") == len(rows) + 1  # header + a line per row
