"""Accuracy of the shipped weights on fresh held-out data, with the baselines beside them.

- Next value: per-family MAE of the model, naive last value, linear extrapolation, the oracle (noise-free
  next value) and a per-sequence ARIMA(1,1,1) (statsmodels; on the first ``ARIMA_PER_FAMILY`` sequences
  of each family, and the model's ratio on that same subset), lengths 4..32.
- The original project's five examples, theirs beside ours.
- Signal detection vs the matched filter that knows the planted shape, default and hard difficulty.

Run: python benchmarks/bench_accuracy.py   (needs the `bench` extra: statsmodels)
"""

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from common import write  # noqa: E402

from seqattn.api import load_pretrained  # noqa: E402
from seqattn.config import DataConfig  # noqa: E402
from seqattn.data import generate_next_value  # noqa: E402
from seqattn.metrics import evaluate, example_table, predict_arrays, signal_detection_table  # noqa: E402

ARIMA_PER_FAMILY = 150


def arima_forecast(seq: np.ndarray) -> float:
    from statsmodels.tsa.arima.model import ARIMA

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return float(ARIMA(seq, order=(1, 1, 1)).fit().forecast(1)[0])
        except Exception:  # too short or singular: fall back to the naive forecast
            return float(seq[-1])


def main() -> None:
    model = load_pretrained("next-value")
    data = generate_next_value(DataConfig(num_samples=40_000, min_len=4, max_len=32, seed=2024))
    table = evaluate(model, data)
    pred, _ = predict_arrays(model, data.values, data.mask)
    arima_ratio, model_ratio_subset = {}, {}
    for family in sorted(set(data.family)):
        rows = np.flatnonzero(data.family == family)[:ARIMA_PER_FAMILY]
        arima = np.array([arima_forecast(data.values[i, : data.lengths[i]]) for i in rows])
        naive = data.values[rows, data.lengths[rows] - 1]
        naive_mae = np.abs(naive - data.target[rows]).mean()
        arima_ratio[family] = float(np.abs(arima - data.target[rows]).mean() / naive_mae)
        model_ratio_subset[family] = float(np.abs(pred[rows] - data.target[rows]).mean() / naive_mae)
    table["arima_mae_vs_naive_subset"] = table.index.map(arima_ratio)
    table["model_mae_vs_naive_subset"] = table.index.map(model_ratio_subset)
    smooth = [f for f in arima_ratio if f != "noisy"]

    def geo(values):
        return float(np.exp(np.mean(np.log(values))))

    examples = example_table(model)
    signal = signal_detection_table(load_pretrained("signal"), n=10_000)
    result = {
        "next_value_per_family": table.reset_index().to_dict("records"),
        "smooth_geomean_mae_vs_naive": geo(table.loc[smooth, "mae_vs_naive"]),
        "smooth_geomean_arima_vs_naive_subset": geo([arima_ratio[f] for f in smooth]),
        "smooth_geomean_model_vs_naive_subset": geo([model_ratio_subset[f] for f in smooth]),
        "noisy_mae_vs_oracle": float(table.loc["noisy", "mae_vs_oracle"]),
        "examples": examples.reset_index().to_dict("records"),
        "signal": signal.reset_index().to_dict("records"),
    }
    write("accuracy", result)
    cols = ["n", "model_mae", "naive_mae", "linear_mae", "oracle_mae", "mae_vs_naive",
            "arima_mae_vs_naive_subset", "mae_vs_oracle"]
    md = [table[cols].astype({"n": str}).to_markdown(floatfmt=".4g"), "", examples.to_markdown(floatfmt=".4g"), "",
          signal.astype({"n": str}).to_markdown(floatfmt=".4f")]
    (Path(__file__).resolve().parent / "results" / "accuracy.md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
