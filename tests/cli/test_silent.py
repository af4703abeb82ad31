"""No silent wrong answers (issue 16): every row of its table, through the CLI as a user runs it.

Each case gives the right answer (exit 0) or exit 2 with one line on stderr naming the problem.
"""

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqattn.checkpoint import read_checkpoint
from seqattn.config import WEIGHTS_DIR, SignalConfig
from seqattn.data import generate_signal
from seqattn.data.io import to_long, write_long

ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "SEQATTN_FAST": "1"}
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")


def run(*args, cwd=None, **kw):
    return subprocess.run([sys.executable, "-m", "seqattn", *map(str, args)], capture_output=True, text=True,
                          env=ENV, cwd=cwd, timeout=300, **kw)


def assert_bad_input(r, *fragments):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seqattn: error:"), r.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def _refuse(constant):
    raise ValueError(f"not strict JSON: {constant}")


def strict_json(text: str):
    """json.loads that refuses NaN/Infinity (which Python's json would accept)."""
    return json.loads(text, parse_constant=_refuse)


def train(csv, out, *extra, task="classify"):
    r = run("train", "--task", task, "--csv", csv, "--epochs", 1, "--out", out, "--no-progress", *extra)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def signal_files(tmp_path_factory):
    """A 4-feature training file, the same file with its columns reordered, and a model trained on it."""
    root = tmp_path_factory.mktemp("signal")
    d = generate_signal(SignalConfig(num_samples=160, amplitude=3.0, seed=3))
    df = to_long(d.values, d.mask, label=d.label)
    csv = write_long(df, root / "train.csv")
    reordered = root / "reordered.csv"
    df[["label", "x3", "x2", "sequence_id", "x1", "t", "x0"]].to_csv(reordered, index=False)
    model = root / "model.pt"
    train(csv, model)
    return root, csv, reordered, model


# --- columns by name ---------------------------------------------------------------------------------------

def test_reordered_columns_are_matched_by_name(signal_files):
    root, csv, reordered, model = signal_files
    assert read_checkpoint(model)["schema"]["features"][0]["name"] == "x0"
    a = run("evaluate", "--ckpt", model, "--csv", csv, "--json")
    b = run("evaluate", "--ckpt", model, "--csv", reordered, "--json")
    assert a.returncode == b.returncode == 0, (a.stderr, b.stderr)
    assert strict_json(a.stdout) == strict_json(b.stdout)
    assert run("infer", "--ckpt", model, "--csv", csv, "--json").stdout == \
        run("infer", "--ckpt", model, "--csv", reordered, "--json").stdout


def test_missing_or_extra_feature_is_named_and_ignore_cols_drops_extras(signal_files):
    root, csv, _, model = signal_files
    df = pd.read_csv(csv)
    df.drop(columns="x2").to_csv(root / "missing.csv", index=False)
    assert_bad_input(run("infer", "--ckpt", model, "--csv", root / "missing.csv"), "'x2'")
    df.assign(extra=1.0).to_csv(root / "extra.csv", index=False)
    assert_bad_input(run("infer", "--ckpt", model, "--csv", root / "extra.csv"), "'extra'")
    r = run("infer", "--ckpt", model, "--csv", root / "extra.csv", "--ignore-cols", "extra", "--json")
    assert r.returncode == 0 and r.stdout == run("infer", "--ckpt", model, "--csv", csv, "--json").stdout


def test_mapped_column_names_are_remembered_by_the_model_file(tmp_path):
    d = generate_signal(SignalConfig(num_samples=80, amplitude=3.0, seed=8))
    df = to_long(d.values, d.mask, label=d.label).rename(
        columns={"sequence_id": "account", "t": "step", "label": "is_fraud"})
    csv = write_long(df.assign(note="x"), tmp_path / "mine.csv")
    out = tmp_path / "m.pt"
    assert_bad_input(run("train", "--task", "classify", "--csv", csv, "--out", out), "missing column 'sequence_id'")
    train(csv, out, "--id-col", "account", "--time-col", "step", "--label-col", "is_fraud", "--ignore-cols", "note")
    r = run("evaluate", "--ckpt", out, "--csv", csv, "--json")  # no flags: the model file knows the mapping
    assert r.returncode == 0, r.stderr
    assert strict_json(r.stdout)["n"] == 80
    r = run("infer", "--ckpt", out, "--csv", csv, "--json")
    assert strict_json(r.stdout.splitlines()[0])["sequence_id"] == "0"


def test_legacy_model_file_works_by_position_with_one_notice(signal_files):
    _, csv, _, _ = signal_files
    r = run("infer", "--csv", csv, "--json")  # the shipped classifier stores no schema
    assert r.returncode == 0, r.stderr
    notes = r.stderr.strip().splitlines()
    assert len(notes) == 1 and "matched by position" in notes[0]


# --- ids are labels -----------------------------------------------------------------------------------------

def test_ids_are_text_as_written(tmp_path):
    csv = tmp_path / "ids.csv"
    rows = [(sid, t, v) for sid in ("1", "01", "007", "1e3") for t, v in enumerate([2, 4, 6])]
    pd.DataFrame(rows, columns=["sequence_id", "t", "value"]).to_csv(csv, index=False)
    r = run("predict", "--csv", csv, "--json")
    assert r.returncode == 0, r.stderr
    assert [strict_json(line)["sequence_id"] for line in r.stdout.splitlines()] == ["1", "01", "007", "1e3"]


# --- outputs are always valid JSON -------------------------------------------------------------------------

@pytest.mark.parametrize("values", [["1e308", "-1e308", "1e308"], ["1e308", "1.5e308"]])
def test_overflowing_next_value_inputs_are_refused_not_nan(values):
    r = run("predict", *values, "--json")
    if r.returncode == 0:
        out = strict_json(r.stdout)
        assert math.isfinite(out["prediction"])
    else:
        assert_bad_input(r, "overflow")


def test_values_beyond_float32_are_refused_for_classifiers(tmp_path, signal_files):
    _, csv, _, _ = signal_files
    uni = generate_signal(SignalConfig(num_samples=60, num_features=1, amplitude=3.0, seed=2))
    model = tmp_path / "uni.pt"
    train(write_long(to_long(uni.values, uni.mask, label=uni.label), tmp_path / "uni.csv"), model)
    assert_bad_input(run("infer", "--ckpt", model, "--values", "1e39", 1, 2, 3), "1e+39", "float32")
    df = pd.read_csv(csv)
    df.loc[7, "x1"] = 5e38
    df.to_csv(tmp_path / "huge.csv", index=False)
    assert_bad_input(run("infer", "--csv", tmp_path / "huge.csv", "--json"), "5e+38", "'x1'")


def test_undefined_metric_is_null_with_a_reason(signal_files):
    root, csv, _, model = signal_files
    df = pd.read_csv(csv)
    df[df.label == 1].to_csv(root / "one_class.csv", index=False)
    r = run("evaluate", "--ckpt", model, "--csv", root / "one_class.csv", "--json")
    assert r.returncode == 0, r.stderr
    m = strict_json(r.stdout)
    assert m["roc_auc"] is None and "class in the file" in m["roc_auc_note"]


@settings(max_examples=12, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=2, max_size=40))
def test_predict_fuzz_strict_json_or_exit_2(values):
    r = run("predict", "--json", "--", *[repr(v) for v in values])
    if r.returncode == 0:
        out = strict_json(r.stdout)
        assert math.isfinite(out["prediction"]) and len(out["attention"]) == len(values)
    else:
        assert_bad_input(r)


# --- a model file is never lost ------------------------------------------------------------------------------

def test_train_never_replaces_a_model_without_force(signal_files, tmp_path):
    _, csv, _, model = signal_files
    out = tmp_path / "good.pt"
    out.write_bytes(model.read_bytes())
    before = out.read_bytes()
    assert_bad_input(run("train", "--task", "classify", "--csv", csv, "--epochs", 1, "--out", out), "--force")
    assert out.read_bytes() == before
    train(csv, out, "--force")
    assert out.read_bytes() != before and not (tmp_path / "good.pt.lock").exists()


def test_a_second_training_to_the_same_path_fails_at_once(tmp_path):
    out = tmp_path / "same.pt"
    first = subprocess.Popen([sys.executable, "-m", "seqattn", "train", "--task", "next-value", "--epochs", "50",
                              "--out", str(out), "--no-progress"], env=ENV, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        lock = tmp_path / "same.pt.lock"
        for _ in range(600):
            if lock.exists() or first.poll() is not None:
                break
            time.sleep(0.1)
        assert lock.exists(), "the first training never took the lock"
        second = run("train", "--task", "next-value", "--epochs", 1, "--out", out, "--force", "--no-progress")
        assert_bad_input(second, "another seqattn process", str(first.pid))
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=120)
    assert not (tmp_path / "same.pt.lock").exists()


def test_stale_lock_and_leftover_temp_files_are_cleaned(tmp_path, signal_files):
    _, csv, _, _ = signal_files
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    out = tmp_path / "m.pt"
    (tmp_path / "m.pt.lock").write_text(dead)
    leftover = tmp_path / f".m.{dead}.abc123.tmp"
    leftover.write_bytes(b"half a model")
    train(csv, out)
    assert out.is_file() and not leftover.exists() and not (tmp_path / "m.pt.lock").exists()


# --- bad input told apart from bugs --------------------------------------------------------------------------

def test_unreadable_model_files_exit_2(signal_files):
    _, csv, _, _ = signal_files
    assert_bad_input(run("predict", "--weights", "/etc/passwd", 1, 2, 3), "/etc/passwd")
    assert_bad_input(run("predict", "--weights", csv, 1, 2, 3), str(csv))
    assert_bad_input(run("infer", "--weights", csv.parent, "--values", 1), "is a directory")


def test_resume_with_another_model_exits_2(signal_files, tmp_path):
    _, csv, _, model = signal_files
    out = tmp_path / "r.pt"
    out.write_bytes(model.read_bytes())
    assert_bad_input(run("train", "--task", "classify", "--csv", csv, "--model", "transformer", "--resume",
                         "--epochs", 2, "--out", out), "--model pooling")


def test_absurd_config_and_nan_weights_exit_2(tmp_path):
    ckpt = read_checkpoint(WEIGHTS_DIR / "next-value.pt")
    big = {**ckpt, "config": {**ckpt["config"], "hidden_size": 10_000_000}}
    torch.save(big, tmp_path / "big.pt")
    assert_bad_input(run("predict", "--weights", tmp_path / "big.pt", 1, 2, 3), "parameters")
    name = next(k for k, v in ckpt["state_dict"].items() if v.is_floating_point())
    state = dict(ckpt["state_dict"])
    state[name] = torch.full_like(state[name], float("nan"))
    torch.save({**ckpt, "state_dict": state}, tmp_path / "nan.pt")
    assert_bad_input(run("predict", "--weights", tmp_path / "nan.pt", 1, 2, 3), "NaN", name)


def test_non_finite_loss_names_the_cause(signal_files, tmp_path):
    _, csv, _, _ = signal_files
    df = pd.read_csv(csv)
    df.loc[3, "x2"] = 1e39
    df.to_csv(tmp_path / "huge.csv", index=False)
    assert_bad_input(run("train", "--task", "classify", "--csv", tmp_path / "huge.csv", "--out", tmp_path / "a.pt"),
                     "1e+39", "'x2'")
    assert_bad_input(run("train", "--task", "classify", "--csv", csv, "--epochs", 1, "--lr", "1e12", "--out",
                         tmp_path / "b.pt", "--no-progress"), "lower --lr")
    assert not list(tmp_path.glob("*.pt"))


def test_full_disk_exits_2():
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "seqattn", "predict", "--json", "1", "2", "3"], stdout=full,
                           stderr=subprocess.PIPE, text=True, env=ENV, timeout=300)
    assert_bad_input(subprocess.CompletedProcess(r.args, r.returncode, "", r.stderr), "No space left")


def test_directory_or_fifo_as_csv_says_what_it_is(tmp_path):
    assert_bad_input(run("predict", "--csv", tmp_path), "is a directory")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert_bad_input(run("predict", "--csv", fifo), "FIFO")
    assert_bad_input(run("train", "--task", "classify", "--csv", fifo, "--out", tmp_path / "m.pt"), "FIFO")


def test_digit_separators_are_refused_on_the_command_line_as_in_a_csv(tmp_path):
    assert_bad_input(run("predict", "1_000", 2, 3), "'1_000'")
    csv = tmp_path / "u.csv"
    pd.DataFrame({"sequence_id": [1, 1, 1], "t": [0, 1, 2], "value": ["1_000", "2", "3"]}).to_csv(csv, index=False)
    assert_bad_input(run("predict", "--csv", csv), "1_000")


# --- any length (issue 12) and classes ----------------------------------------------------------------------

def test_predict_csv_answers_sequences_longer_than_the_model(tmp_path):
    csv = tmp_path / "long.csv"
    rows = [("long", t, 2.0 * t) for t in range(100)] + [("short", t, float(t)) for t in range(4)]
    pd.DataFrame(rows, columns=["sequence_id", "t", "value"]).to_csv(csv, index=False)
    r = run("predict", "--csv", csv, "--json")
    assert r.returncode == 0, r.stderr
    long, short = (strict_json(line) for line in r.stdout.splitlines())
    max_len = read_checkpoint(WEIGHTS_DIR / "next-value.pt")["max_len"]
    assert len(long["attention"]) == 100 and not any(long["attention"][: 100 - max_len])
    assert sum(long["attention"]) == pytest.approx(1, abs=1e-4)
    assert long["prediction"] == pytest.approx(200, rel=1e-3) and len(short["attention"]) == 4
    r = run("predict", *[2 * t for t in range(50)], "--json")
    assert r.returncode == 0 and len(strict_json(r.stdout)["attention"]) == 50


@pytest.mark.parametrize("name", ["signal", "signal-transformer"])
def test_classifier_file_longer_than_the_model_maximum(tmp_path, name):
    path = WEIGHTS_DIR / f"{name}.pt"
    max_len = read_checkpoint(path)["max_len"]
    d = generate_signal(SignalConfig(num_samples=6, max_len=max_len + 40, min_len=max_len + 20, seed=1))
    csv = write_long(to_long(d.values, d.mask, label=d.label), tmp_path / "long.csv")
    assert int(d.lengths.max()) > max_len
    r = run("infer", "--ckpt", path, "--csv", csv, "--json")
    assert r.returncode == 0, r.stderr
    for line, n in zip(r.stdout.splitlines(), d.lengths, strict=True):
        rec = strict_json(line)
        assert len(rec["attention"]) == n and sum(rec["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    r = run("evaluate", "--ckpt", path, "--csv", csv, "--json")
    assert r.returncode == 0 and strict_json(r.stdout)["n"] == 6


def test_infer_rows_carry_class_and_time_and_evaluate_reports_unseen_classes(tmp_path):
    d = generate_signal(SignalConfig(num_samples=80, amplitude=3.0, num_features=2, seed=4))
    df = to_long(d.values, d.mask, label=d.label)
    df["label"] = np.where(df["label"] == 1, "fraud", "ok")
    df["t"] = (pd.Timestamp("2024-01-01T00:00:00Z") + pd.to_timedelta(df["t"] * 60, unit="s")).astype(str)
    csv = write_long(df, tmp_path / "events.csv")
    out = tmp_path / "m.pt"
    train(csv, out)
    r = run("infer", "--ckpt", out, "--csv", csv, "--json", "--topk", 2)
    assert r.returncode == 0, r.stderr
    rec = strict_json(r.stdout.splitlines()[0])
    assert rec["class"] in ("fraud", "ok") and set(rec["probabilities"]) == {"fraud", "ok"}
    assert sum(rec["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    assert rec["probability"] == pytest.approx(rec["probabilities"]["ok"], abs=1e-5)  # classes sorted: ok is 1
    assert all(top["time"].startswith("2024-01-01") for top in rec["top"])
    assert_bad_input(run("infer", "--ckpt", out, "--csv", csv, "--class", "nope"), "fraud, ok")
    assert strict_json(run("infer", "--ckpt", out, "--csv", csv, "--json", "--class", "fraud")
                       .stdout.splitlines()[0])["explains"] == "fraud"
    first = df.sequence_id.iloc[0]
    df.loc[df.sequence_id == first, "label"] = "chargeback"
    df.to_csv(tmp_path / "test.csv", index=False)
    r = run("evaluate", "--ckpt", out, "--csv", tmp_path / "test.csv", "--json")
    assert r.returncode == 0, r.stderr
    m = strict_json(r.stdout)
    assert m["unseen_classes"] == {"chargeback": 1} and m["unseen"] == 1 and m["n"] == 80
    assert m["confusion_matrix"]["labels"] == ["fraud", "ok"] and sum(map(sum, m["confusion_matrix"]["matrix"])) == 79
    assert set(m["per_class_recall"]) == {"fraud", "ok"} and 0 <= m["macro_f1"] <= 1


@pytest.mark.parametrize("break_it, fragments", [
    (lambda df: df.assign(timestamp=df.timestamp.where(df.index != 7, "2024-13-45 99:00")), ("2024-13-45", "row")),
    (lambda df: df.assign(is_fraud=np.where(df.index == 3, 1 - df.is_fraud, df.is_fraud)), ("is_fraud",)),
    (lambda df: df.rename(columns={"timestamp": "ts"}), ("'timestamp'", "ts")),
    (lambda df: df.assign(amount=np.nan), ("amount",)),
], ids=["unparseable timestamp", "label changes within a sequence", "unknown mapped column", "all-missing feature"])
def test_malformed_event_logs_exit_2_and_write_nothing(tmp_path, break_it, fragments):
    """Issue 13's malformed logs through `train --csv` with the column flags: exit 2, one line naming the
    problem, and no model file (nor a temporary one) left behind."""
    from seqattn.data.events import EventConfig, generate_events

    log = break_it(generate_events(EventConfig(num_accounts=6, seed=3)))
    log.to_csv(tmp_path / "log.csv", index=False)
    r = run("train", "--task", "classify", "--csv", tmp_path / "log.csv", "--id-col", "account_id",
            "--time-col", "timestamp", "--label-col", "is_fraud", "--out", tmp_path / "m.pt", "--fast")
    assert_bad_input(r, *fragments)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]
