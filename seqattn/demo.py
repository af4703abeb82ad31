"""``make demo``: the product end to end on 2 CPU cores in about a minute.

Generates the data sets into ``data/``, evaluates the shipped weights on freshly generated held-out data
(per-family table against naive, linear and the oracle; the original project's example table, theirs
beside ours; signal detection against the matched filter), and prints one next-value and one
signal-detection example with their attention maps.
"""

from __future__ import annotations

import numpy as np

from .config import SignalConfig, is_fast


def attention_bars(values, attention, width: int = 30) -> str:
    """One text line per step: value and an attention bar (for terminals)."""
    top = max(attention) or 1.0
    return "\n".join(
        f"  t={t:02d} {v:>10.4g}  {a:6.3f} {'#' * round(width * a / top)}"
        for t, (v, a) in enumerate(zip(values, attention, strict=True))
    )


def run_demo() -> None:
    import pandas as pd

    from .datasets import dataset_summary, load_dataset, write_datasets

    fast = is_fast()
    paths = write_datasets(fast=fast)
    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 20)
    pd.set_option("display.float_format", "{:.4g}".format)
    print("== Data sets written:", ", ".join(str(p) for p in paths.values()))
    print(dataset_summary(load_dataset("next_value_test")).to_string(), "\n")

    _next_value_part(fast)
    _signal_part(fast)
    _notebook_part()


def _next_value_part(fast: bool) -> None:
    from .api import load_pretrained, predict_next
    from .datasets import next_value_test
    from .metrics import evaluate, example_table

    model = load_pretrained("next-value")
    table = evaluate(model, next_value_test(fast))
    print("== Next value: shipped LSTM-with-attention on fresh held-out sequences (lengths 4-32)")
    print(table[["n", "model_mae", "naive_mae", "linear_mae", "oracle_mae", "mae_vs_naive", "mae_vs_oracle"]]
          .to_string())
    smooth = table.drop(index=["noisy", "all"], errors="ignore")["mae_vs_naive"]
    print(f"   geometric mean of MAE / naive MAE over the smooth families: {np.exp(np.log(smooth).mean()):.4f}\n")
    print("== The original project's examples (absolute error to the true next value)")
    print(example_table(model).to_string(), "\n")

    p = predict_next([2, 4, 6, 8, 10], model)
    print(f"== seqattn predict 2 4 6 8 10 -> {p.prediction:.4f}")
    print(attention_bars([2, 4, 6, 8, 10], p.attention), "\n")


def _signal_part(fast: bool) -> None:
    from .api import detect, load_pretrained
    from .data import generate_signal
    from .metrics import signal_detection_table

    classifier = load_pretrained("signal")
    print("== Signal detection: shipped attention-pooling classifier vs the matched filter (knows the shape)")
    print(signal_detection_table(classifier, n=1_000 if fast else 4_000).to_string(), "\n")
    example = generate_signal(SignalConfig(num_samples=20, seed=7))
    i = int(np.flatnonzero(example.label == 1)[0])
    n = int(example.lengths[i])
    r = detect(example.values[i, :n], classifier)
    start = int(example.event_start[i])
    print(f"== One signal sequence: P(class=1) = {r.prediction:.3f}; planted event at t={start}..{start + 5}")
    for t, w in r.top(5):
        print(f"  t={t:02d} weight={w:.3f}{'  <- in the event' if example.salient[i, t] else ''}")


def _notebook_part() -> None:
    import importlib.util

    if importlib.util.find_spec("nbclient") is None:  # nbclient comes with the `notebooks` extra
        print("\n(notebook report skipped: install the `notebooks` extra)")
        return
    from .reports import run_notebooks

    print("\n== Re-executing the notebook series (small settings) into reports/")
    for row in run_notebooks(fast=True):
        print(f"  {row['notebook']}: " + (f"skipped ({row['skipped']})" if "skipped" in row else f"{row['figures']} figures"))
