"""`torchrun --nproc_per_node 2 -m seqattn train ...`: two CPU processes (gloo) against one."""

import os
import re
import subprocess
import sys

import pytest

from seqattn.checkpoint import load_model, read_checkpoint
from seqattn.config import SignalConfig
from seqattn.data import generate_signal
from seqattn.data.io import read_long, to_long, write_long
from seqattn.metrics import evaluate

ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "SEQATTN_FAST": "1"}
for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
    ENV.pop(name, None)


def train(tmp_path, out, *extra, processes=1):
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
                if processes > 1 else [sys.executable])
    cmd = [*launcher, "-m", "seqattn", "train", "--task", "classify", "--csv", str(tmp_path / "sig.parquet"),
           "--epochs", "5", "--lr", "0.005", "--no-progress", "--out", str(tmp_path / out), *extra]
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def accuracy(r) -> float:
    return float(re.search(r"accuracy[= ]([0-9.]+)", r.stdout).group(1))  # one process: seqattn.fit's line


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    d = generate_signal(SignalConfig(num_samples=800, min_len=24, max_len=32, seed=5))
    write_long(to_long(d.values, d.mask, label=d.label), tmp / "sig.parquet")
    return tmp


def test_two_processes_match_one_and_write_one_loadable_checkpoint(data):
    one = train(data, "one.pt", "--batch-size", "32")
    two = train(data, "two.pt", "--batch-size", "16", processes=2)  # same global batch: 2 x 16
    assert "on 2 processes" in two.stdout and two.stdout.count("trained pooling") == 1  # rank 0 speaks
    assert accuracy(one) > 0.8 and accuracy(two) > 0.8 and abs(accuracy(one) - accuracy(two)) <= 0.08
    model = load_model(data / "two.pt")  # a plain checkpoint: DDP's "module." prefix never leaks into it
    assert not any(k.startswith("module.") for k in model.state_dict())
    assert evaluate(model, read_long(data / "sig.parquet")).accuracy.iloc[0] > 0.8
    assert sorted(p.name for p in data.iterdir() if p.name.startswith("two")) == ["two.pt"]  # no temp files
    ckpt = read_checkpoint(data / "two.pt")
    assert len(ckpt["history"]["epoch"]) == 5

    # resume continues the same state, still under torchrun
    train(data, "two.pt", "--batch-size", "16", "--resume", "--epochs", "7", processes=2)
    assert read_checkpoint(data / "two.pt")["history"]["epoch"] == [1, 2, 3, 4, 5, 6, 7]


def test_two_processes_stream_a_parquet_file(data):
    r = train(data, "stream.pt", "--batch-size", "16", "--stream", processes=2)
    assert "on 2 processes" in r.stdout and float(re.search(r"val_accuracy=([0-9.]+)", r.stdout).group(1)) > 0.8
    load_model(data / "stream.pt")


def test_stream_needs_a_parquet_file(data):
    (data / "sig.csv").write_text("sequence_id,t,x,label\n0,0,1.0,1\n")
    r = subprocess.run([sys.executable, "-m", "seqattn", "train", "--task", "classify", "--csv",
                        str(data / "sig.csv"), "--stream", "--out", str(data / "x.pt")], capture_output=True,
                       text=True, env=ENV, timeout=120)
    assert r.returncode == 2 and "--stream reads a long-format .parquet" in r.stderr


def test_world_size_without_torchrun_is_a_clear_error(data):
    r = subprocess.run([sys.executable, "-m", "seqattn", "train", "--task", "classify", "--csv",
                        str(data / "sig.parquet"), "--out", str(data / "x.pt")], capture_output=True, text=True,
                       env={**ENV, "WORLD_SIZE": "2"}, timeout=120)
    assert r.returncode == 2 and "torchrun" in r.stderr and "Traceback" not in r.stderr


def test_plain_training_never_starts_a_process_group(data):
    from seqattn import distributed
    from seqattn.cli import main

    assert main(["train", "--task", "classify", "--csv", str(data / "sig.parquet"), "--epochs", "1",
                 "--no-progress", "--out", str(data / "plain.pt")]) == 0
    assert not distributed.is_distributed() and distributed.info() == distributed.DistInfo()
