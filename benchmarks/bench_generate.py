"""Time and peak memory to generate 100,000 next-value sequences (goal: <= 0.5 s on 2 cores).

Run: python benchmarks/bench_generate.py  (or `make bench`)
"""

import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_of, write  # noqa: E402

from seqattn.config import DataConfig, SignalConfig  # noqa: E402
from seqattn.data import generate_next_value, generate_signal  # noqa: E402


def peak_mib(fn) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    nv = DataConfig(num_samples=100_000, max_len=32)
    sig = SignalConfig(num_samples=100_000)
    write("generate", {
        "next_value_100k_seconds": best_of(lambda: generate_next_value(nv)),
        "next_value_100k_peak_mib": peak_mib(lambda: generate_next_value(nv)),
        "signal_100k_T64_D4_seconds": best_of(lambda: generate_signal(sig), repeats=3),
        "signal_100k_T64_D4_peak_mib": peak_mib(lambda: generate_signal(sig)),
    })


if __name__ == "__main__":
    main()
