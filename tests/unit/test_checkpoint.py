import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from seqattn.checkpoint import load_model, read_checkpoint, save_checkpoint
from seqattn.config import WEIGHTS_DIR
from tests.conftest import model_input, tiny_model


@pytest.fixture
def saved(tmp_path):
    model = tiny_model("pooling", "classify")
    return model, save_checkpoint(model, tmp_path / "m.pt", metrics={"val_accuracy": 0.5})


def test_round_trip_rebuilds_from_the_file_alone(any_model, tmp_path):
    model, task = any_model
    path = save_checkpoint(model, tmp_path / "x.pt")
    loaded = load_model(path, task=task)
    x = model_input(task, 2, 9)
    torch.testing.assert_close(loaded(x).prediction, model(x).prediction)
    ckpt = read_checkpoint(path)
    assert ckpt["task"] == task and ckpt["num_features"] == model.config.num_features
    assert ckpt["max_len"] == model.config.max_len


def test_other_task_is_refused(saved):
    with pytest.raises(ValueError, match="for task 'classify', not 'next-value'"):
        load_model(saved[1], task="next-value")


def test_missing_truncated_corrupt(tmp_path, saved):
    with pytest.raises(ValueError, match="checkpoint not found"):
        load_model(tmp_path / "nope.pt")
    data = saved[1].read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        load_model(tmp_path / "trunc.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ValueError, match="corrupt or truncated|refused"):
        load_model(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a seqattn checkpoint"):
        load_model(tmp_path / "other.pt")


def test_mismatched_shapes_are_a_clear_error(saved, tmp_path):
    ckpt = read_checkpoint(saved[1])
    ckpt["config"]["hidden_size"] = 16
    torch.save(ckpt, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="weights do not match the stored config"):
        load_model(tmp_path / "bad.pt")


class _Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("touch PWNED_BY_CHECKPOINT",))


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"format": "seqattn-checkpoint", "payload": _Exploit()}, path)
    with pytest.raises(ValueError, match="refused to load"):
        load_model(path)
    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump(_Exploit(), f)
    with pytest.raises(ValueError):
        load_model(tmp_path / "evil.pkl")
    assert not (tmp_path / "PWNED_BY_CHECKPOINT").exists()


LEGACY = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize("name,task", [("legacy_next_value_v1.pt", "next-value"), ("legacy_classify_v1.pt", "classify")])
def test_files_written_by_the_pre_redesign_train_still_load_and_predict_the_same(name, task):
    """Written by `seqattn train --fast --num-samples 64` before tasks/recipes existed (no "recipe" key).

    The next-value predictions were re-recorded once, deliberately, when the closed-form candidate head
    became smooth and well-conditioned (issue 14: the same weights, different rules); its attention, which
    only the stored weights decide, is the one recorded by the old code."""
    from seqattn.metrics import predict_arrays

    ckpt = read_checkpoint(LEGACY / name)
    assert "recipe" not in ckpt
    model = load_model(LEGACY / name, task=task)
    expected = json.loads((LEGACY / "legacy_expected.json").read_text())[name]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 10, model.config.num_features)).astype("float32").cumsum(1)
    mask = np.ones((3, 10), bool)
    mask[1, 7:] = mask[2, 4:] = False
    p, a = predict_arrays(model, x, mask)
    np.testing.assert_allclose(p, expected["prediction"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(a, expected["attention"], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("path", sorted(WEIGHTS_DIR.glob("*.pt")), ids=lambda p: p.name)
def test_every_shipped_model_file_loads(path):
    ckpt = read_checkpoint(path)
    model = load_model(path, task=ckpt["task"])
    assert model.task == ckpt["task"] and not model.training


def test_absurd_config_is_refused_before_allocating(tmp_path, saved):
    from seqattn.checkpoint import MAX_PARAMETERS, parameter_count

    ckpt = read_checkpoint(saved[1])
    assert parameter_count(ckpt["model"], ckpt["task"], ckpt["config"]) == sum(
        t.numel() for t in (*saved[0].parameters(), *saved[0].buffers()))
    ckpt["config"]["hidden_size"] = 10_000_000
    assert parameter_count(ckpt["model"], ckpt["task"], ckpt["config"]) > MAX_PARAMETERS
    torch.save(ckpt, tmp_path / "big.pt")
    with pytest.raises(ValueError, match="parameters"):
        load_model(tmp_path / "big.pt")


def test_non_finite_weights_are_refused(tmp_path, saved):
    ckpt = read_checkpoint(saved[1])
    name = next(k for k, v in ckpt["state_dict"].items() if v.is_floating_point())
    ckpt["state_dict"][name] = torch.full_like(ckpt["state_dict"][name], float("inf"))
    torch.save(ckpt, tmp_path / "inf.pt")
    with pytest.raises(ValueError, match=f"{name}.*NaN or infinite"):
        load_model(tmp_path / "inf.pt")


def test_schema_is_stored_and_loaded_and_legacy_files_have_none(tmp_path, saved):
    import pandas as pd

    from seqattn.data.schema import Schema

    model = tiny_model("pooling", "classify")
    df = pd.DataFrame({"sequence_id": ["a"] * 3 + ["b"] * 3, "t": [0, 1, 2] * 2,
                       **{f"x{i}": np.arange(6.0) + i for i in range(model.config.num_features)},
                       "label": [0] * 3 + [1] * 3})
    schema = Schema.fit(df, task="classify")
    path = save_checkpoint(model, tmp_path / "s.pt", schema=schema.to_dict())
    assert load_model(path).schema == schema
    assert load_model(saved[1]).schema is None
    ckpt = read_checkpoint(path)
    ckpt["schema"] = {"nonsense": 1}
    torch.save(ckpt, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="stored schema is malformed"):
        load_model(tmp_path / "bad.pt")


def test_directories_and_fifos_are_named(tmp_path):
    import os

    with pytest.raises(ValueError, match="is a directory"):
        load_model(tmp_path)
    os.mkfifo(tmp_path / "pipe.pt")
    with pytest.raises(ValueError, match="FIFO"):
        load_model(tmp_path / "pipe.pt")
