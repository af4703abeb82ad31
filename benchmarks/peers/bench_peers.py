"""seqattn beside the libraries a user would pick instead, on the same real data, in one run.

Next value (the seven real series of notebook 05, split in time; test = last 20 % of every series):
  - darts N-BEATS, TFT and BlockRNN(LSTM), the standard darts way: a global model fitted on the training
    part of every series (windows of 32 → 1, reversible instance norm = per-window scaling), then one-step
    ``historical_forecasts`` over the test part without retraining;
  - statsmodels ARIMA(2,1,1) fitted on each test window's 32 values;
  - seqattn: the LSTM with attention, ``seqattn.real.forecast_recipe`` (train windows, validation windows
    pick the epoch);
  - seqattn_cli: the front door, ``seqattn train --task next-value --csv`` with default flags on the train and
    validation windows, then ``seqattn predict --csv`` (benchmarks/bench_frontdoor.py; fit = wall time of the
    command, imports included).
Score: MAE / naive MAE per series and its geometric mean (lower is better).

Classification (UCR GunPoint and ItalyPowerDemand, official splits): aeon MiniRocket and Rocket, 1-NN
Euclidean, and seqattn (``seqattn.real.classify_recipe``). Score: test accuracy.

Every method runs in its own subprocess, so peak memory (max RSS, imports included) is its own.
Run: make peers   (creates .venv-peers with the `peers` extra, torch kept on the CPU build)
     .venv-peers/bin/python benchmarks/peers/bench_peers.py --only forecast --methods seqattn_cli,darts_blockrnn \
         --out peers-fit   (the front door's fit time beside darts' fastest model, in one run)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import numpy as np  # noqa: E402

FORECASTERS = ("seqattn", "seqattn_cli", "darts_nbeats", "darts_tft", "darts_blockrnn", "arima_per_window")
CLASSIFIERS = ("seqattn", "aeon_minirocket", "aeon_rocket", "one_nn_euclidean")
DARTS_EPOCHS = int(os.environ.get("PEERS_DARTS_EPOCHS", "100"))  # darts' default n_epochs; 1 for a smoke run
THREADS = int(os.environ.get("PEERS_THREADS", "2"))  # torch intra-op threads of every method


def _peak_mib() -> float:
    """Peak RSS of this process or of its largest child (seqattn_cli runs the seqattn commands as children)."""
    return max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024


def _darts_model(name: str):
    from darts.models import BlockRNNModel, NBEATSModel, TFTModel

    common = dict(input_chunk_length=32, output_chunk_length=1, n_epochs=DARTS_EPOCHS, random_state=0,
                  use_reversible_instance_norm=True,
                  pl_trainer_kwargs={"accelerator": "cpu", "enable_progress_bar": False,
                                     "enable_model_summary": False, "logger": False, "enable_checkpointing": False})
    if name == "darts_nbeats":
        return NBEATSModel(**common)
    if name == "darts_tft":
        return TFTModel(add_relative_index=True, **common)
    return BlockRNNModel(model="LSTM", **common)


def forecast(method: str) -> dict:
    import torch

    from seqattn import real

    torch.set_num_threads(THREADS)
    series = real.load_series()
    windows = real.make_windows(series)
    test = windows["test"]
    pred = np.full(len(test), np.nan)
    if method == "seqattn":
        from seqattn.data.loaders import BucketLoader
        from seqattn.metrics import predict_arrays
        from seqattn.models import build_model
        from seqattn.train import set_seed, train_model

        model_cfg, batch_size, cfg = real.forecast_recipe()
        tr, va = windows["train"], windows["val"]
        t0 = time.perf_counter()
        set_seed(cfg.seed)
        model, _ = train_model(build_model("lstm", "next-value", model_cfg),
                               BucketLoader(tr.values, tr.mask, tr.target, batch_size, seed=0),
                               BucketLoader(va.values, va.mask, va.target, 1024, shuffle=False), cfg)
        fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        pred, _ = predict_arrays(model, test.values, test.mask)
        predict = time.perf_counter() - t0
    elif method == "seqattn_cli":
        import tempfile

        from bench_frontdoor import cli_forecast

        with tempfile.TemporaryDirectory() as tmp:
            run = cli_forecast(Path(tmp))
        pred, fit, predict = run["prediction"], run["fit_s"], run["predict_s"]
    elif method.startswith("darts_"):
        from darts import TimeSeries

        model = _darts_model(method)
        starts = {s.name: real.split_points(len(s.values), 0.2, 0.1) for s in series}
        train = [TimeSeries.from_values(s.values[: starts[s.name][0]].astype(np.float32)) for s in series]
        full = [TimeSeries.from_values(s.values.astype(np.float32)) for s in series]
        t0 = time.perf_counter()
        model.fit(train)
        fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        for s, ts in zip(series, full, strict=True):
            test_start = starts[s.name][1]
            hf = model.historical_forecasts(ts, start=test_start, start_format="position", forecast_horizon=1,
                                            stride=1, retrain=False, last_points_only=True, verbose=False)
            rows = np.flatnonzero(test.series == s.name)
            pred[rows] = hf.values()[:, 0][test.position[rows] - test_start]
        predict = time.perf_counter() - t0
    elif method == "arima_per_window":
        from statsmodels.tsa.arima.model import ARIMA

        fit = 0.0
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for k in range(len(test)):
                x = test.values[k, : test.lengths[k]]
                try:
                    pred[k] = ARIMA(x, order=(2, 1, 1)).fit().forecast(1)[0]
                except Exception:  # singular window: the naive forecast
                    pred[k] = x[-1]
        predict = time.perf_counter() - t0
    else:
        raise ValueError(f"unknown forecaster {method!r}")
    return {"prediction": pred.tolist(), "fit_s": fit, "predict_s": predict, "peak_rss_mib": _peak_mib()}


def classify(method: str) -> dict:
    import torch

    from seqattn import real

    torch.set_num_threads(THREADS)
    out = {}
    for name in real.CLASSIFICATION:
        tr, te = real.load_classification(name)
        t0 = time.perf_counter()
        if method == "seqattn":
            from seqattn.data.loaders import BucketLoader
            from seqattn.metrics import predict_arrays
            from seqattn.models import build_model
            from seqattn.train import set_seed, train_model

            arch, cfg, tcfg = real.classify_recipe(1, tr.values.shape[1])
            fit_rows, val_rows = real.stratified_holdout(tr.label, 0.2, seed=0)
            x, m = tr.values[..., None], np.ones(tr.values.shape, dtype=bool)
            set_seed(tcfg.seed)
            model, _ = train_model(build_model(arch, "classify", cfg),
                                   BucketLoader(x[fit_rows], m[fit_rows], tr.label[fit_rows], 16, seed=0),
                                   BucketLoader(x[val_rows], m[val_rows], tr.label[val_rows], 256, shuffle=False), tcfg)
            fit = time.perf_counter() - t0
            t0 = time.perf_counter()
            prob, _ = predict_arrays(model, te.values[..., None], np.ones(te.values.shape, dtype=bool))
            predicted = (prob >= 0.5).astype(int)
        elif method.startswith("aeon_"):
            from aeon.classification.convolution_based import MiniRocketClassifier, RocketClassifier

            clf = (MiniRocketClassifier(random_state=0) if method == "aeon_minirocket"
                   else RocketClassifier(n_kernels=10_000, random_state=0))
            clf.fit(tr.values[:, None, :], tr.label)
            fit = time.perf_counter() - t0
            t0 = time.perf_counter()
            predicted = np.asarray(clf.predict(te.values[:, None, :])).astype(int)
        elif method == "one_nn_euclidean":
            fit = 0.0
            predicted = real.one_nn_euclidean(tr.values, tr.label, te.values)
        else:
            raise ValueError(f"unknown classifier {method!r}")
        out[name] = {"accuracy": float((predicted == te.label).mean()), "fit_s": fit,
                     "predict_s": time.perf_counter() - t0}
    out["peak_rss_mib"] = _peak_mib()
    return out


def _child(kind: str, method: str) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", kind, method], capture_output=True, text=True,
                       env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if r.returncode != 0:
        raise RuntimeError(f"{kind} {method} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--child", nargs=2, metavar=("KIND", "METHOD"), help=argparse.SUPPRESS)
    p.add_argument("--only", choices=["forecast", "classify"], help="run one half")
    p.add_argument("--methods", help="comma-separated subset of the methods (default: all)")
    p.add_argument("--out", default="peers", help="results file name under benchmarks/results (default: peers)")
    args = p.parse_args()
    if args.child:
        kind, method = args.child
        print(json.dumps(forecast(method) if kind == "forecast" else classify(method)))
        return
    import pandas as pd
    from common import write

    from seqattn import real

    chosen = set(args.methods.split(",")) if args.methods else set(FORECASTERS) | set(CLASSIFIERS)
    unknown = chosen - set(FORECASTERS) - set(CLASSIFIERS)
    if unknown:
        p.error(f"unknown method(s): {', '.join(sorted(unknown))}")
    result, md = {"darts_epochs": DARTS_EPOCHS, "threads": THREADS}, []
    if args.only in (None, "forecast") and chosen & set(FORECASTERS):
        test = real.make_windows(real.load_series())["test"]
        runs = {m: _child("forecast", m) for m in FORECASTERS if m in chosen}
        scores = real.mase_table({m: np.asarray(r["prediction"]) for m, r in runs.items()}, test)  # / naive
        table = pd.DataFrame({m: {"MAE/naive (geo. mean)": scores.loc["geometric mean", m],
                                  "fit s": r["fit_s"], "predict s": r["predict_s"], "peak RSS MiB": r["peak_rss_mib"]}
                              for m, r in runs.items()}).T
        result["forecast"] = {"table": table.to_dict("index"), "per_series": scores.to_dict("index")}
        md += ["## Next value (real series, last 20 % held out in time)", "", table.to_markdown(floatfmt=".3f"), "",
               "MAE / naive MAE per series:", "", scores.to_markdown(floatfmt=".3f"), ""]
    if args.only in (None, "classify") and chosen & set(CLASSIFIERS):
        runs = {m: _child("classify", m) for m in CLASSIFIERS if m in chosen}
        rows = {}
        for m, r in runs.items():
            for name in real.CLASSIFICATION:
                rows[(m, name)] = {"accuracy": r[name]["accuracy"], "fit s": r[name]["fit_s"],
                                   "predict s": r[name]["predict_s"], "peak RSS MiB": r["peak_rss_mib"]}
        table = pd.DataFrame(rows).T
        table.index.names = ["method", "data set"]
        result["classify"] = {f"{m}/{d}": v for (m, d), v in table.to_dict("index").items()}
        md += ["## Classification (UCR, official splits)", "", table.to_markdown(floatfmt=".3f"), ""]
    write(args.out, result)
    (HERE.parent / "results" / f"{args.out}.md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
