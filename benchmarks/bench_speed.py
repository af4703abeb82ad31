"""Training and inference throughput (sequences/s) of the shipped next-value model's architecture.

Ours: ``seqattn.train.train_model`` over length-bucketed batches (no padding work, no per-step host
syncs beyond the non-finite check). Reference: the simplest loop a user would write — a torch DataLoader
over the padded arrays, shuffled batches padded to their longest sequence, ``loss.item()`` every step.
Both train the same model class from the same seed for the same number of sequences, in one run.

Run: python benchmarks/bench_speed.py
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch  # noqa: E402
from common import write  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from seqattn.config import DataConfig  # noqa: E402
from seqattn.data import generate_next_value  # noqa: E402
from seqattn.data.loaders import BucketLoader, SequenceDataset, collate_padded  # noqa: E402
from seqattn.metrics import predict_arrays  # noqa: E402
from seqattn.models import build_model  # noqa: E402
from seqattn.recipes import next_value_recipe  # noqa: E402
from seqattn.train import TrainConfig, task_loss, train_model  # noqa: E402

N, BATCH = 40_000, 256


def reference_loop(model, data, cfg) -> float:
    loader = DataLoader(SequenceDataset(data.values, data.mask, data.oracle), batch_size=BATCH, shuffle=True,
                        collate_fn=collate_padded)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    start = time.perf_counter()
    for batch in loader:
        loss = task_loss("next-value", model(batch.x, batch.mask), batch, cfg)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        loss.item()
    return time.perf_counter() - start


def ours(model, data, cfg) -> float:
    loader = BucketLoader(data.values, data.mask, data.oracle, BATCH, seed=0)
    val = BucketLoader(data.values[:1], data.mask[:1], data.oracle[:1], 1, shuffle=False)
    start = time.perf_counter()
    train_model(model, loader, val, cfg)
    return time.perf_counter() - start


def main() -> None:
    torch.set_num_threads(2)
    model_cfg = next_value_recipe().model_config
    data = generate_next_value(DataConfig(num_samples=N, seed=5))
    cfg = TrainConfig(epochs=1, progress=False)
    torch.manual_seed(0)
    t_ref = reference_loop(build_model("lstm", "next-value", model_cfg), data, cfg)
    torch.manual_seed(0)
    t_ours = ours(build_model("lstm", "next-value", model_cfg), data, cfg)
    model = build_model("lstm", "next-value", model_cfg).eval()
    big = generate_next_value(DataConfig(num_samples=100_000, seed=6))
    start = time.perf_counter()
    predict_arrays(model, big.values, big.mask, batch_size=4096)
    t_inf = time.perf_counter() - start
    write("speed", {
        "train_sequences": N, "batch_size": BATCH,
        "reference_train_seq_per_s": N / t_ref, "ours_train_seq_per_s": N / t_ours,
        "train_speedup_ours_vs_reference": t_ref / t_ours,
        "inference_seq_per_s_batch4096_100k": len(big) / t_inf,
    })


if __name__ == "__main__":
    main()
