"""Influence maps scored against ground truth on every benchmark, on the same trained model each.

Benchmarks: the signal-event data (the shipped classifier, class-1 test sequences), planted boxes after
Ismail et al. 2020 (moving box on a Gaussian background; fixed box on an AR(1) background; a rare-time
box of 2 steps), a two-state hidden-Markov data set after FIT (Tonekaboni et al. 2020; the truth marks
state switches) and the signal event planted on one random feature of four (cell truth). Each non-signal benchmark trains one attention-pooling classifier with the shipped
recipe's settings. For every map: pointing game, and where the truth is per cell the share whose top step
and that step's top feature are both right (``pointing_game_feature``: the map's own cells;
``pointing_game_infer``: the feature ``seqattn infer`` names, by removing one cell at a time), precision@k, AUROC, AUPRC, deletion/insertion AUC,
Kendall τ vs IG; plus the uniform-attention and permutation tests, and the next-value model's deletion
curves (no ground truth there).

Run: python benchmarks/bench_explain.py   (~6 minutes on 2 cores)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import write  # noqa: E402

from seqattn.api import load_pretrained  # noqa: E402
from seqattn.config import BoxConfig, HMMConfig, SignalConfig  # noqa: E402
from seqattn.data import generate_box, generate_hmm, generate_signal  # noqa: E402
from seqattn.data.loaders import BucketLoader  # noqa: E402
from seqattn.datasets import next_value_test  # noqa: E402
from seqattn.explain import explain_report  # noqa: E402
from seqattn.models import build_model  # noqa: E402
from seqattn.recipes import signal_recipe  # noqa: E402
from seqattn.train import TrainConfig, set_seed, train_model  # noqa: E402

N_EXPLAIN = 256
BENCHMARKS = {
    "box_moving_gaussian": lambda seed, n: generate_box(BoxConfig(num_samples=n, seed=seed)),
    "box_fixed_ar": lambda seed, n: generate_box(BoxConfig(num_samples=n, seed=seed, moving=False, background="ar")),
    "box_rare_time": lambda seed, n: generate_box(BoxConfig(num_samples=n, seed=seed, box_len=2, amplitude=2.0)),
    "hmm_switches": lambda seed, n: generate_hmm(HMMConfig(num_samples=n, seed=seed)),
    # the signal event planted on one random feature of four, at twice the amplitude (about the energy the
    # four-feature event has): the map must name the step and the feature
    "signal_one_feature": lambda seed, n: generate_signal(SignalConfig(num_samples=n, seed=seed, event_features=1,
                                                                       amplitude=3.0)),
}


def train_classifier(make):
    train, val = make(1, 12_000), make(2, 2_000)
    model_cfg = signal_recipe().model_config
    model_cfg = {**model_cfg, "num_features": train.values.shape[2], "max_len": train.values.shape[1]}
    set_seed(0)
    model = build_model("pooling", "classify", model_cfg)
    model, history = train_model(model, BucketLoader(train.values, train.mask, train.label, 128, bucket=False),
                                 BucketLoader(val.values, val.mask, val.label, 1000, shuffle=False),
                                 TrainConfig(epochs=12, lr=3e-3, patience=4, progress=False))
    return model, float(history.val_accuracy.max())


def table(report):
    cols = ["empty_maps", "pointing_game", "pointing_game_feature", "pointing_game_infer", "feature_right",
            "precision_at_k", "auroc", "auprc", "base_rate", "deletion_auc", "insertion_auc",
            "kendall_tau_vs_ig"]
    return report[[c for c in cols if c in report]].round(4)


def main() -> None:
    torch.set_num_threads(2)
    results, md = {}, []
    test = generate_signal(SignalConfig(num_samples=3_000, seed=321))
    pos = test.subset(np.flatnonzero(test.label == 1))
    reports = {"signal_event": (load_pretrained("signal"), pos, None)}
    for name, make in BENCHMARKS.items():
        model, acc = train_classifier(make)
        reports[name] = (model, make(3, 2_000), acc)
    for name, (model, data, acc) in reports.items():
        report = explain_report(model, data, n=N_EXPLAIN)
        results[name] = {"val_accuracy": acc, "maps": table(report).reset_index().to_dict("records"),
                         "attention_tests": report.attrs["attention_tests"]}
        md += [f"### {name}" + (f" (classifier val accuracy {acc:.3f})" if acc else ""), "",
               table(report).to_markdown(), "", f"attention tests: {report.attrs['attention_tests']}", ""]
        print(name, "\n", table(report).to_string(), flush=True)
    nv = next_value_test()
    report = explain_report(load_pretrained("next-value"), nv, n=N_EXPLAIN)
    results["next_value"] = {"maps": table(report).reset_index().to_dict("records"),
                             "attention_tests": report.attrs["attention_tests"]}
    md += ["### next_value (no ground truth: deletion/insertion of the prediction)", "", table(report).to_markdown(),
           "", f"attention tests: {report.attrs['attention_tests']}", ""]
    write("explain", results)
    (Path(__file__).resolve().parent / "results" / "explain.md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
