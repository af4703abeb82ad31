import math

import pytest
import torch

from seqattn.checkpoint import load_model, read_checkpoint
from seqattn.config import DataConfig, SignalConfig
from seqattn.data import generate_next_value, generate_signal
from seqattn.data.loaders import BucketLoader
from seqattn.train import NonFiniteLossError, TrainConfig, train_model
from tests.conftest import tiny_model


def signal_loaders(n=400):
    d = generate_signal(SignalConfig(num_samples=n, max_len=24, min_len=16, num_features=3, amplitude=3.0))
    v = generate_signal(SignalConfig(num_samples=200, max_len=24, min_len=16, num_features=3, amplitude=3.0,
                                     seed=1))
    return (BucketLoader(d.values, d.mask, d.label, 32, seed=0),
            BucketLoader(v.values, v.mask, v.label, 100, shuffle=False))


def nv_loaders(n=512):
    d = generate_next_value(DataConfig(num_samples=n, max_len=10, families=("linear", "quadratic")))
    v = generate_next_value(DataConfig(num_samples=128, max_len=10, families=("linear", "quadratic"), seed=1))
    return (BucketLoader(d.values, d.mask, d.oracle, 64, seed=0),
            BucketLoader(v.values, v.mask, v.oracle, 128, shuffle=False))


def fast(**kw):
    return TrainConfig(**{"epochs": 3, "lr": 5e-3, "progress": False, **kw})


def test_classifier_loss_falls_and_history_is_a_dataframe():
    model, hist = train_model(tiny_model("pooling", "classify"), *signal_loaders(), fast(epochs=6))
    assert list(hist.columns[:3]) == ["epoch", "train_loss", "lr"] and len(hist) == 6
    assert hist.train_loss.iloc[-1] < hist.train_loss.iloc[0]
    assert hist.val_accuracy.max() > 0.6 and not model.training


def test_next_value_loss_falls():
    _, hist = train_model(tiny_model("lstm", "next-value"), *nv_loaders(), fast(epochs=4))
    assert hist.train_loss.iloc[-1] < hist.train_loss.iloc[0]
    assert {"val_loss", "val_mae_scaled", "seconds"} <= set(hist.columns)


def test_same_seed_same_numbers():
    runs = [train_model(tiny_model("pooling", "classify"), *signal_loaders(), fast(epochs=2, seed=3))[1]
            for _ in range(2)]
    assert runs[0].train_loss.tolist() == runs[1].train_loss.tolist()


def test_early_stopping_stops_after_patience():
    # lr 0 never improves after the first epoch: stop after 1 + patience epochs
    _, hist = train_model(tiny_model("pooling", "classify"), *signal_loaders(), fast(epochs=20, lr=0.0, patience=2))
    assert len(hist) == 3


def test_best_checkpoint_is_written_atomically_and_loads(tmp_path):
    path = tmp_path / "best.pt"
    model, hist = train_model(tiny_model("pooling", "classify"), *signal_loaders(), fast(checkpoint=str(path)))
    assert path.is_file() and not list(tmp_path.glob(".*.tmp"))
    ckpt = read_checkpoint(path, task="classify")
    assert ckpt["epoch"] == 2 and math.isclose(ckpt["best_metric"], hist.val_accuracy.max())
    loaded = load_model(path)
    x = torch.randn(2, 24, 3)
    torch.testing.assert_close(loaded(x).prediction, model(x).prediction)


def test_resume_continues_where_it_left_off(tmp_path):
    full = train_model(tiny_model("pooling", "classify"), *signal_loaders(), fast(epochs=4))[1]
    # a first run of 2 epochs, then resume to 4: same numbers as 4 epochs straight through
    path2 = tmp_path / "half.pt"
    cfg = fast(epochs=4, checkpoint=str(path2))
    stop_after_two = [lambda row: (_ for _ in ()).throw(KeyboardInterrupt) if row["epoch"] == 2 else None]
    _, first = train_model(tiny_model("pooling", "classify"), *signal_loaders(), cfg, callbacks=stop_after_two)
    assert len(first) == 2  # Ctrl-C ends cleanly and returns the history so far
    _, resumed = train_model(tiny_model("pooling", "classify", seed=99), *signal_loaders(),
                             fast(epochs=4, checkpoint=str(path2), resume=str(path2)))
    assert resumed.epoch.tolist() == [1, 2, 3, 4]
    assert resumed.train_loss.tolist() == pytest.approx(full.train_loss.tolist(), rel=1e-5)


def test_non_finite_loss_raises_and_writes_nothing(tmp_path):
    path = tmp_path / "nan.pt"
    model = tiny_model("pooling", "classify")
    with torch.no_grad():
        model.classifier[-1].weight.fill_(float("nan"))
    with pytest.raises(NonFiniteLossError, match="loss became nan"):
        train_model(model, *signal_loaders(), fast(checkpoint=str(path)))
    assert not path.exists()


def test_resume_refuses_weights_only_file_and_other_task(tmp_path):
    from seqattn.checkpoint import save_checkpoint

    weights = save_checkpoint(tiny_model("pooling", "classify"), tmp_path / "w.pt")
    with pytest.raises(ValueError, match="weights only"):
        train_model(tiny_model("pooling", "classify"), *signal_loaders(), fast(resume=str(weights)))
    with pytest.raises(ValueError, match="for task 'classify', not 'next-value'"):
        train_model(tiny_model("lstm", "next-value"), *nv_loaders(), fast(resume=str(weights)))
