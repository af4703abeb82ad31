"""The front door, measured: ``seqattn train`` then ``seqattn evaluate`` with default flags on labelled sets
as users have them, beside 1-NN (Euclidean and DTW, computed here) and the published accuracies aeon ships.

Classification (official train/test splits, bundled inside sktime/aeon, nothing downloaded): GunPoint and
ItalyPowerDemand (binary), BasicMotions (4 classes, 6 features), OSULeaf (6 classes, length 427), ACSF1
(10 classes, length 1460). The other bundled labelled sets are held out for independent checks: they are not
in this benchmark and were not used to choose any default.

Next value (the seven real series of notebook 05, split in time: the last 20 % of every series is the test
part): ``seqattn train --task next-value --csv`` on the training windows, ``seqattn predict --csv`` on the
test windows, beside naive, seasonal naive and ARIMA/ETS fitted per series (seqattn.real).

Each seqattn command runs as a user runs it (a subprocess, default flags); fit seconds are wall time of
``seqattn train``, imports included.

Run: make frontdoor   (its own venv .venv-frontdoor with aeon for DTW and the published results)
     python benchmarks/bench_frontdoor.py --sets GunPoint --skip-forecast   (one set, quick)
Writes benchmarks/results/frontdoor.json and frontdoor.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

SETS = ("GunPoint", "ItalyPowerDemand", "BasicMotions", "OSULeaf", "ACSF1")
PUBLISHED = ("HC2", "InceptionTime", "WEASEL-2.0")


def load_set(name: str):
    """(train, test) as ([N, T, D] float64, [N] labels as written) from the copy bundled in sktime."""
    from sktime.datasets import load_UCR_UEA_dataset

    parts = []
    for split in ("train", "test"):
        x, y = load_UCR_UEA_dataset(name, split=split, return_type="numpy3D")
        parts.append((np.asarray(x, dtype=np.float64).transpose(0, 2, 1), np.asarray(y).astype(str)))
    return parts


def to_csv(x: np.ndarray, y: np.ndarray, path: Path, prefix: str) -> Path:
    """Long format with the user's kind of names: one row per step, a string label per sequence."""
    n, t, d = x.shape
    seq, step = np.repeat(np.arange(n), t), np.tile(np.arange(t), n)
    df = pd.DataFrame({"sequence_id": [f"{prefix}{i}" for i in seq], "t": step})
    for j in range(d):
        df[f"x{j}" if d > 1 else "value"] = x[seq, step, j]
    df["label"] = y[seq]
    df.to_csv(path, index=False)
    return path


def seqattn(*args) -> tuple[subprocess.CompletedProcess, float]:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "seqattn", *map(str, args)], capture_output=True, text=True,
                       env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    if r.returncode:
        raise RuntimeError(f"seqattn {' '.join(map(str, args))} failed: {r.stderr.strip()[-500:]}")
    return r, time.perf_counter() - t


def published(name: str) -> dict:
    """Resample-0 (default split) accuracies aeon ships, where it has them."""
    try:
        import aeon
    except ImportError:
        return {}
    base = Path(aeon.__file__).parent / "testing/example_results_files/classification/accuracy"
    out = {}
    for method in PUBLISHED:
        table = pd.read_csv(base / f"{method}_accuracy.csv", index_col=0)
        if name in table.index:
            out[method] = float(table.loc[name].iloc[0])
    return out


def one_nn(train, test, distance: str) -> float | None:
    (xa, ya), (xb, yb) = train, test
    if distance == "euclidean":
        from seqattn.baselines import one_nearest_neighbour

        return float((one_nearest_neighbour(xa, ya, xb) == yb).mean())
    try:
        from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier
    except ImportError:
        return None
    clf = KNeighborsTimeSeriesClassifier(n_neighbors=1, distance="dtw")  # full window
    clf.fit(xa.transpose(0, 2, 1), ya)
    return float((clf.predict(xb.transpose(0, 2, 1)) == yb).mean())


def classify(name: str, workdir: Path) -> dict:
    train, test = load_set(name)
    train_csv = to_csv(*train, workdir / f"{name}_TRAIN.csv", "tr")
    test_csv = to_csv(*test, workdir / f"{name}_TEST.csv", "te")
    model = workdir / f"{name}.pt"
    r, fit_seconds = seqattn("train", "--task", "classify", "--csv", train_csv, "--out", model, "--no-progress")
    ev, _ = seqattn("evaluate", "--model-file", model, "--csv", test_csv, "--json")
    result = json.loads(ev.stdout)
    row = {"data set": name, "train": len(train[1]), "test": len(test[1]), "length": train[0].shape[1],
           "features": train[0].shape[2], "classes": len(set(train[1])),
           "seqattn": result["accuracy"], "fit s": fit_seconds,
           "1-NN ED": one_nn(train, test, "euclidean"), "1-NN DTW": one_nn(train, test, "dtw"),
           **published(name), "train output": r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""}
    print(json.dumps(row), flush=True)
    return row


def cli_forecast(workdir: Path) -> dict:
    """``seqattn train --task next-value --csv`` on the real training windows, then ``predict --csv`` on the
    test windows, default flags: predictions in test-window order, and the wall seconds of each command."""
    from seqattn import real

    w = real.make_windows(real.load_series())
    train = pd.concat([w["train"].to_long(), w["val"].to_long()]).drop(columns=["family"])
    train_csv = workdir / "windows_train.csv"
    train.to_csv(train_csv, index=False)
    test_csv = workdir / "windows_test.csv"
    w["test"].to_long().drop(columns=["family", "target"]).to_csv(test_csv, index=False)
    model = workdir / "forecast.pt"
    _, fit_seconds = seqattn("train", "--task", "next-value", "--csv", train_csv, "--out", model, "--no-progress")
    r, predict_seconds = seqattn("predict", "--model-file", model, "--csv", test_csv, "--json")
    by_id = {row["sequence_id"]: row["prediction"] for row in map(json.loads, r.stdout.splitlines())}
    ids = [f"{s}@{p}" for s, p in zip(w["test"].series, w["test"].position, strict=True)]
    return {"prediction": np.array([by_id[i] for i in ids]), "fit_s": fit_seconds, "predict_s": predict_seconds,
            "train_windows": len(train.groupby("sequence_id"))}


def forecast(workdir: Path) -> dict:
    from seqattn import real

    series = real.load_series()
    test = real.make_windows(series)["test"]
    run = cli_forecast(workdir)
    table = real.mase_table({"seqattn": run["prediction"], **real.forecast_baselines(series, test)}, test)
    return {"table": table.round(4).to_dict(), "fit s": run["fit_s"], "train windows": run["train_windows"],
            "geometric mean": table.loc["geometric mean"].to_dict()}


def markdown(rows: list[dict], fc: dict | None) -> str:
    df = pd.DataFrame(rows).drop(columns=["train output"]).set_index("data set")
    counts = ["train", "test", "length", "features", "classes"]
    df[counts] = df[counts].astype(int).astype(str)  # counts print as counts, not as 50.000
    lines = ["## Classification: `seqattn train` + `seqattn evaluate`, default flags (test accuracy)", "",
             df.to_markdown(floatfmt=".3f"), ""]
    if fc is not None:
        table = pd.DataFrame(fc["table"])
        lines += ["## Next value: `seqattn train --task next-value --csv` + `predict --csv` (MAE / naive)", "",
                  f"{fc['train windows']} training windows; fit {fc['fit s']:.1f} s", "",
                  table.to_markdown(floatfmt=".3f"), ""]
    return "\n".join(lines)


def _last_forecast():
    """The forecast part of the previous results file (``--skip-forecast`` keeps it), or None."""
    path = HERE / "results" / "frontdoor.json"
    return json.loads(path.read_text()).get("forecast") if path.is_file() else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", default=",".join(SETS), help="comma-separated data sets")
    p.add_argument("--skip-forecast", action="store_true",
                   help="classification only (the forecast part of the last results file is kept)")
    args = p.parse_args()
    from common import write

    with tempfile.TemporaryDirectory() as tmp:
        rows = [classify(name, Path(tmp)) for name in args.sets.split(",")]
        fc = _last_forecast() if args.skip_forecast else forecast(Path(tmp))
    result = {"classify": rows, "forecast": fc}
    write("frontdoor", result)
    (HERE / "results" / "frontdoor.md").write_text(markdown(rows, fc))


if __name__ == "__main__":
    main()
