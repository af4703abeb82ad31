"""The CLI end to end, as a user runs it: subprocesses, exit codes, stdout/stderr."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqattn.checkpoint import read_checkpoint
from seqattn.config import WEIGHTS_DIR, SignalConfig
from seqattn.data import generate_signal
from seqattn.data.io import to_long, write_long

ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "SEQATTN_FAST": "1"}


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "seqattn", *map(str, args)], capture_output=True, text=True,
                          env=ENV, cwd=cwd, timeout=300)


def assert_bad_input(r, *fragments):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seqattn: error:"), r.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_predict_text_and_json():
    r = run("predict", 2, 4, 6, 8, 10)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Predicted next value: 12.00") and len(lines) == 7
    assert lines[1].startswith("recipe: 12 = ")  # the exact recipe: signed weights x values
    assert lines[2].startswith("t=0 value=2 weight=") and "influence=" in lines[2]
    r = run("predict", "--json", -1, "-2.5e0", -4)
    out = json.loads(r.stdout)
    assert len(out["attention"]) == 3 and abs(sum(out["attention"]) - 1) < 1e-4
    assert out["prediction"] == pytest.approx(-5.5, abs=0.05)


def test_predict_recipe_option():
    """--recipe rules (default) and gradient: the same prediction, both exact recipes, different weights on
    a short sinusoid (the gradient's cancel: max |w| about 17 against about 2)."""
    values = [0, 0.84, 0.91, 0.14, -0.76, -0.96, -0.28]
    outs = {m: json.loads(run("predict", "--json", "--recipe", m, *values).stdout) for m in ("rules", "gradient")}
    default = json.loads(run("predict", "--json", *values).stdout)
    assert default == outs["rules"]
    for out in outs.values():
        assert sum(out["influence"]) == pytest.approx(1, abs=1e-4)
        assert sum(w * v for w, v in zip(out["influence"], values, strict=True)) == pytest.approx(out["prediction"],
                                                                                                   abs=1e-3)
    assert outs["rules"]["prediction"] == pytest.approx(outs["gradient"]["prediction"], rel=1e-12)
    assert max(map(abs, outs["rules"]["influence"])) < 0.5 * max(map(abs, outs["gradient"]["influence"]))
    assert_bad_input(run("predict", "--recipe", "shap", 1, 2, 3), "--recipe")


def test_model_file_option_and_its_aliases_give_the_same_output():
    """--model-file is the canonical name; --weights and --ckpt stay as aliases on predict/infer/evaluate."""
    nv, sig = WEIGHTS_DIR / "next-value.pt", WEIGHTS_DIR / "signal.pt"
    outs = {run("predict", option, nv, "--json", 2, 4, 6).stdout for option in ("--model-file", "--weights", "--ckpt")}
    assert len(outs) == 1 and json.loads(outs.pop())["prediction"]
    values = ["--values", *[0.1 * i for i in range(12)]]
    r = [run("infer", option, sig, "--json", "--topk", 2, *values)
         for option in ("--model-file", "--weights", "--ckpt")]
    assert all(x.returncode == 2 and "takes 4 features per step" in x.stderr for x in r)  # model was loaded
    outs = {run("evaluate", option, nv, "--json", "--num-samples", 50).stdout
            for option in ("--model-file", "--weights", "--ckpt")}
    assert len(outs) == 1 and json.loads(outs.pop())["n"] == 50
    assert_bad_input(run("evaluate", "--json"), "--model-file")


def test_predict_takes_values_positionally_or_as_an_option():
    a, b = run("predict", "--json", 2, 4, 6), run("predict", "--json", "--values", 2, 4, 6)
    assert a.returncode == b.returncode == 0 and a.stdout == b.stdout
    assert_bad_input(run("predict", "1", "--values", 2, 3), "not both")


@pytest.fixture(scope="module")
def nv_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("csv") / "seqs.csv"
    rows = []
    for sid, seq in (("lin", [2, 4, 6, 8, 10]), (7, [1, 2, 3]), ("big", [2000, 4000, 6000, 8000])):
        rows += [{"sequence_id": sid, "t": t, "value": v, "target": seq[-1] + seq[1] - seq[0]}
                 for t, v in enumerate(seq)]
    pd.DataFrame(rows).sample(frac=1, random_state=0).to_csv(path, index=False)
    return path


def test_predict_csv_json_lines_in_order_of_first_appearance(nv_csv):
    r = run("predict", "--csv", nv_csv, "--json")
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    first = list(dict.fromkeys(pd.read_csv(nv_csv).sequence_id.astype(str)))
    assert [str(x["sequence_id"]) for x in records] == first
    by_id = {str(x["sequence_id"]): x for x in records}
    assert by_id["lin"]["prediction"] == pytest.approx(12, abs=0.01)
    assert by_id["big"]["prediction"] == pytest.approx(10000, rel=1e-4)
    assert len(by_id["7"]["attention"]) == 3


def test_predict_map_option_gives_each_steps_share(nv_csv):
    """--map NAME adds that map's shares (absolute, summing to 1) beside the recipe: as a column of the text
    output, as "map_shares" in --json and in every --csv --json row; the same sequence gets the same shares
    either way. A map the model has not, or --map with --csv but no --json, is a one-line usage error."""
    one = json.loads(run("predict", "--json", "--map", "shapley", 2, 4, 6, 8, 10).stdout)
    assert one["map"] == "shapley" and len(one["map_shares"]) == 5
    assert sum(one["map_shares"]) == pytest.approx(1.0, abs=1e-5) and np.argmax(one["map_shares"]) == 4
    text = run("predict", "--map", "shapley", 2, 4, 6, 8, 10).stdout
    assert text.splitlines()[-1].endswith(f"shapley={one['map_shares'][4]:.4f}")
    rows = {str(r["sequence_id"]): r for r in map(json.loads, run("predict", "--csv", nv_csv, "--json", "--map",
                                                                      "shapley").stdout.splitlines())}
    assert rows["lin"]["map_shares"] == pytest.approx(one["map_shares"], abs=1e-6)
    assert "map" not in json.loads(run("predict", "--json", 2, 4, 6).stdout)
    assert_bad_input(run("predict", "--map", "rollout", 2, 4, 6), "--map 'rollout' is not a map for this model")
    assert_bad_input(run("predict", "--csv", nv_csv, "--map", "shapley"), "give --json too")


def test_predict_csv_json_carries_every_rows_recipe(tmp_path):
    """Each row's influence and contributions, as `predict V1 V2 ...` gives them for one sequence, also for a
    row longer than the model reads (its earlier steps get 0) and with --recipe gradient."""
    from seqattn.api import predict_next

    rng = np.random.default_rng(3)
    seqs = {"line": [2.0, 4, 6, 8, 10], "sin": list(np.sin(np.arange(9.0))), "long": list(rng.normal(size=40).cumsum())}
    path = tmp_path / "nv.csv"
    pd.DataFrame([{"sequence_id": k, "t": t, "value": v} for k, seq in seqs.items() for t, v in enumerate(seq)]
                 ).to_csv(path, index=False)
    for method in ("rules", "gradient"):
        r = run("predict", "--csv", path, "--json", "--recipe", method)
        assert r.returncode == 0, r.stderr
        records = {x["sequence_id"]: x for x in map(json.loads, r.stdout.splitlines())}
        for key, seq in seqs.items():
            rec, single = records[key], predict_next(seq, recipe_method=method)
            assert len(rec["influence"]) == len(rec["contributions"]) == len(seq)
            assert rec["prediction"] == pytest.approx(single.prediction, rel=1e-6)  # float32 LSTM, batched
            assert rec["influence"] == pytest.approx(single.influence, abs=2e-6)
            assert rec["contributions"] == pytest.approx(single.contributions, abs=2e-6 * max(map(abs, seq)))
            assert sum(w * v for w, v in zip(rec["influence"], seq, strict=True)) == pytest.approx(
                rec["prediction"], abs=1e-4 * max(map(abs, seq)))
        assert all(w == 0 for w in records["long"]["influence"][:8])  # before the 32-step window


def test_infer_and_evaluate_with_shipped_classifier(tmp_path):
    d = generate_signal(SignalConfig(num_samples=30, seed=4))
    path = write_long(to_long(d.values, d.mask, label=d.label, ids=[f"s{i}" for i in range(30)]),
                      tmp_path / "sig.parquet")
    r = run("infer", "--csv", path, "--json", "--topk", 2)
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [x["sequence_id"] for x in records] == [f"s{i}" for i in range(30)]
    assert all(len(x["top"]) == 2 and 0 <= x["probability"] <= 1 for x in records)
    r = run("evaluate", "--ckpt", WEIGHTS_DIR / "signal.pt", "--csv", path, "--json")
    m = json.loads(r.stdout)
    assert list(m)[:4] == ["accuracy", "roc_auc", "f1", "n"] and m["n"] == 30 and m["accuracy"] > 0.7
    assert {"macro_f1", "per_class_recall", "confusion_matrix"} <= set(m)


def test_infer_top_steps_come_from_a_faithful_map_and_name_their_feature(tmp_path):
    """infer ranks `top` by occlusion (the default --map) for the explained class: on planted signal events
    the top-1 step of flagged sequences lies in the event; each entry names its feature and keeps its
    attention weight; the per-step influence sums to 1; --map attention ranks by attention; a map that
    does not apply is exit 2."""
    d = generate_signal(SignalConfig(num_samples=60, seed=7))
    path = write_long(to_long(d.values, d.mask, label=d.label), tmp_path / "sig.csv")
    r = run("infer", "--csv", path, "--json", "--topk", 2)
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    hits = [d.salient[i, rec["top"][0]["t"]] for i, rec in enumerate(records) if rec["class"] == 1 and d.label[i] == 1]
    assert len(hits) >= 15 and np.mean(hits) >= 0.9
    for i, rec in enumerate(records):
        assert rec["map"] == "occlusion" and rec["explains"] == rec["class"]
        assert sum(rec["influence"]) == pytest.approx(1, abs=1e-4) and len(rec["influence"]) == d.lengths[i]
        assert all(top["feature"] in ("x0", "x1", "x2", "x3") for top in rec["top"])
        assert [top["weight"] for top in rec["top"]] == [round(rec["attention"][top["t"]], 6) for top in rec["top"]]
    r = run("infer", "--csv", path, "--json", "--topk", 1, "--map", "attention")
    firsts = [json.loads(line)["top"][0] for line in r.stdout.splitlines()]
    assert [f["t"] for f in firsts] == [int(np.argmax(rec["attention"])) for rec in records]
    assert_bad_input(run("infer", "--csv", path, "--map", "rollout"), "--map 'rollout'", "occlusion")
    assert_bad_input(run("infer", "--csv", path, "--map", "contributions"), "choose from")


def test_evaluate_next_value_generated_and_csv(nv_csv):
    r = run("evaluate", "--ckpt", WEIGHTS_DIR / "next-value.pt", "--json", "--num-samples", 400)
    m = json.loads(r.stdout)
    assert m["n"] == 400 and m["mae"] < m["naive_mae"] and "per_family" in m
    r = run("evaluate", "--ckpt", WEIGHTS_DIR / "next-value.pt", "--csv", nv_csv)
    assert r.returncode == 0 and "mae:" in r.stdout and "linear_mae:" in r.stdout


def test_train_then_every_command_takes_the_file_and_same_seed_same_numbers(tmp_path):
    out = tmp_path / "m.pt"
    r1 = run("train", "--task", "next-value", "--epochs", 1, "--out", out, "--seed", 3, "--no-progress")
    assert r1.returncode == 0, r1.stderr
    assert read_checkpoint(out, task="next-value")["model"] == "lstm"
    r2 = run("train", "--task", "next-value", "--epochs", 1, "--out", tmp_path / "m2.pt", "--seed", 3,
             "--no-progress")
    assert r1.stdout.splitlines()[-1] == r2.stdout.splitlines()[-1]  # validation metrics line
    assert run("predict", "--weights", out, 1, 2, 3).returncode == 0
    assert run("evaluate", "--ckpt", out, "--num-samples", 100).returncode == 0
    assert_bad_input(run("infer", "--ckpt", out, "--values", 1, 2, 3), "for task 'next-value', not 'classify'")


def test_train_classify_from_csv_with_transformer_then_infer(tmp_path):
    d = generate_signal(SignalConfig(num_samples=120, max_len=20, min_len=10, num_features=1, seed=1))
    csv = write_long(to_long(d.values, d.mask, label=d.label), tmp_path / "uni.csv")
    out = tmp_path / "clf.pt"
    r = run("train", "--task", "classify", "--model", "transformer", "--csv", csv, "--epochs", 1, "--out", out,
            "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "accuracy " in r.stdout and "(majority " in r.stdout and "1-NN " in r.stdout  # seqattn.fit's line
    r = run("infer", "--ckpt", out, "--values", *np.round(d.values[0, :15, 0], 3), "--json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["attention"]) == 15
    r = run("infer", "--ckpt", out, "--values", 1, 2, 3)
    assert r.stdout.startswith("P(class=1) = ") and "t=0" in r.stdout


def test_dry_run_writes_nothing(tmp_path):
    r = run("train", "--task", "classify", "--dry-run", "--out", tmp_path / "x.pt")
    assert r.returncode == 0 and json.loads(r.stdout)["dry_run"] and not list(tmp_path.iterdir())


def bad_csvs(tmp_path):
    base = pd.DataFrame({"sequence_id": [1, 1, 1, 2, 2, 2], "t": [0, 1, 2, 0, 1, 2],
                         "value": [1.0, 2, 3, 4, 5, 6], "target": [4.0] * 3 + [7.0] * 3})
    cases = {
        "nonnumeric": (base.assign(value=["1", "2", "x", "4", "5", "6"]), "column 'value' must be numeric"),
        "missingcol": (base.drop(columns="t"), "missing column 't'"),
        "bad_time": (base.assign(t=["2024-01-01", "2024-01-02", "2024-02-30", "2024-01-01", "2024-01-02",
                                    "2024-01-03"]), "row 2 has '2024-02-30', which is not a timestamp"),
        "nan": (base.assign(value=[1, np.nan, 3, 4, 5, 6]), "missing or non-finite"),
        "target_varies": (base.assign(target=[4.0, 5.0, 4.0, 7, 7, 7]), "'target' must be constant"),
        "label": (base.drop(columns="target").assign(label=[0, 0, 3, 3, 3, 3]),
                  "'label' must be constant within a sequence; sequence_id='1'"),
        "two_features": (base.assign(other=1.0), "takes 1 feature column(s) but the file has 2"),
    }
    paths = {}
    for name, (df, message) in cases.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
        paths[name] = (tmp_path / f"{name}.csv", message)
    return paths


def test_bad_csvs_exit_2_naming_the_problem(tmp_path):
    for path, message in bad_csvs(tmp_path).values():
        assert_bad_input(run("predict", "--csv", path, "--json"), message)
    assert_bad_input(run("predict", "--csv", tmp_path / "nope.csv"), "file not found")
    assert_bad_input(run("evaluate", "--ckpt", WEIGHTS_DIR / "next-value.pt", "--csv",
                         bad_csvs(tmp_path)["label"][0]), "missing column 'target'")


@pytest.mark.parametrize("values, message", [
    (["2", "x", "4"], "value 1 is not a number: 'x'"),
    (["1", "nan"], "value 1 is 'nan'"),
    (["1", "inf"], "value 1 is 'inf'"),
    (["1", "-inf"], "value 1 is '-inf'"),
    ([], "give the sequence's values"),
    (["5"], "need at least 2 values"),
    (["1_000", "2"], "value 0 is not a number: '1_000'"),
])
def test_bad_values_exit_2(values, message):
    assert_bad_input(run("predict", *values), message)


def test_bad_checkpoints_exit_2_and_pickles_run_nothing(tmp_path):
    good = (WEIGHTS_DIR / "next-value.pt").read_bytes()
    (tmp_path / "trunc.pt").write_bytes(good[: len(good) // 3])
    (tmp_path / "junk.pt").write_bytes(os.urandom(2000))
    ckpt = read_checkpoint(WEIGHTS_DIR / "next-value.pt")
    ckpt["config"]["hidden_size"] = 8
    torch.save(ckpt, tmp_path / "shapes.pt")
    evil = tmp_path / "evil.pt"
    evil.write_bytes(subprocess.run(
        [sys.executable, "-c", "import os,pickle,sys\nclass E:\n def __reduce__(self): return (os.system, "
         "('touch PWNED',))\nsys.stdout.buffer.write(pickle.dumps(E()))"], capture_output=True).stdout)
    cases = [
        (tmp_path / "missing.pt", "checkpoint not found"),
        (tmp_path / "trunc.pt", "corrupt or truncated"),
        (tmp_path / "junk.pt", ""),
        (WEIGHTS_DIR / "signal.pt", "for task 'classify', not 'next-value'"),
        (tmp_path / "shapes.pt", "weights do not match"),
        (evil, ""),
    ]
    for path, message in cases:
        assert_bad_input(run("predict", "--weights", path, 1, 2, 3, cwd=tmp_path), message)
    assert not (tmp_path / "PWNED").exists()


def test_bad_options_exit_2(tmp_path):
    out = tmp_path / "never.pt"
    assert_bad_input(run("train", "--task", "regress", "--out", out), "invalid choice: 'regress'")
    assert_bad_input(run("train", "--task", "classify", "--model", "gru", "--out", out), "invalid choice: 'gru'")
    assert_bad_input(run("train", "--task", "classify", "--model", "lstm", "--out", out), "does not do task")
    assert_bad_input(run("train", "--task", "classify", "--model", "kernels", "--out", out), "give --csv")
    assert_bad_input(run("train", "--task", "classify", "--val-fraction", 2, "--out", out), "--val-fraction")
    assert_bad_input(run("train", "--task", "next-value", "--out", tmp_path), "is a directory")
    bad = bad_csvs(tmp_path)
    assert_bad_input(run("train", "--task", "next-value", "--csv", bad["bad_time"][0], "--out", out),
                     "not a timestamp")
    assert_bad_input(run("train", "--task", "classify", "--csv", bad["nonnumeric"][0], "--out", out), "numeric")
    assert_bad_input(run("infer", "--values", 1, 2, 3), "takes 4 features per step")
    assert_bad_input(run("infer", "--topk", 0, "--values", 1), "--topk")
    assert_bad_input(run("generate", "--task", "x", "--out", out), "invalid choice")
    assert_bad_input(run("nonsense"), "invalid choice")
    assert not out.exists()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=st.lists(st.one_of(st.sampled_from(["--json", "--csv", "--weights", "--ckpt", "--topk", "--values",
                                                 "--task", "--model", "--epochs", "nan", "-inf", "1e999", "--",
                                                 "-x", "classify", "1", "0"]),
                               st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=6)),
                     max_size=6),
       command=st.sampled_from(["predict", "infer", "evaluate", "train"]))
def test_garbage_arguments_never_traceback(tmp_path, args, command):
    if command == "train" and "--out" not in args:
        args = [*args, "--dry-run", "--out", str(tmp_path / "g.pt")]
    r = run(command, *args, cwd=tmp_path)
    assert "Traceback" not in r.stderr
    if r.returncode != 0:
        assert_bad_input(r)
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_train_transformer_takes_the_transformer_recipe_and_the_file_records_it(tmp_path):
    r = run("train", "--task", "classify", "--model", "transformer", "--dry-run", "--out", tmp_path / "x.pt")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["epochs"] == 2  # signal-transformer's fast recipe (pooling's: 3)
    out = tmp_path / "m.pt"
    r = run("train", "--task", "classify", "--epochs", 1, "--num-samples", 60, "--batch-size", 16, "--out", out,
            "--no-progress")
    assert r.returncode == 0, r.stderr
    recipe = read_checkpoint(out)["recipe"]
    assert recipe["name"] == "signal" and recipe["model"] == "pooling" and recipe["batch_size"] == 16
    assert recipe["train"]["epochs"] == 1 and recipe["num_samples"] == 60 and recipe["source"] == "generated"
    assert recipe["model_config"]["max_len"] == read_checkpoint(out)["config"]["max_len"]


def test_stream_prints_the_row_whose_weights_were_saved(tmp_path):
    d = generate_signal(SignalConfig(num_samples=200, seed=5))
    path = write_long(to_long(d.values, d.mask, label=d.label), tmp_path / "s.parquet")
    out = tmp_path / "m.pt"
    r = run("train", "--task", "classify", "--csv", path, "--stream", "--epochs", 3, "--batch-size", 32,
            "--out", out, "--no-progress")
    assert r.returncode == 0, r.stderr
    ckpt = read_checkpoint(out)
    printed = dict(kv.split("=") for kv in r.stdout.splitlines()[-1].removeprefix("validation: ").split())
    assert float(printed["val_accuracy"]) == pytest.approx(ckpt["best_metric"], rel=1e-5)
    history = pd.DataFrame(ckpt["history"])
    saved = history.loc[history.val_accuracy.idxmax()]
    assert float(printed["val_loss"]) == pytest.approx(saved.val_loss, rel=1e-5)


def test_predict_on_an_ascii_terminal_and_at_tiny_scales():
    """An ASCII-only stdout (C locale, Python's UTF-8 mode off) gets '*' for the product sign instead of a
    UnicodeEncodeError; a forecast of 4e-05 is printed as such, not as 0.0000."""
    values = list(range(1, 51))
    env = {**ENV, "PYTHONIOENCODING": "ascii"}
    r = subprocess.run([sys.executable, "-m", "seqattn", "predict", *map(str, values)], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "Predicted next value: 51.0000" and "*50" in lines[1] and len(lines) == 52
    r = run("predict", "1e-5", "2e-5", "3e-5")
    assert r.returncode == 0 and r.stdout.splitlines()[0] == "Predicted next value: 4e-05"


def test_next_value_on_a_timestamped_sensor_file_trains_and_predicts_by_its_own_column_names(tmp_path):
    """ISO timestamps add a time-gap feature for classifiers; a next-value file keeps its one value column
    (the gap used to make training refuse the file and the shipped model refuse to predict on it)."""
    rng = np.random.default_rng(0)
    frames = []
    for s in range(12):
        n = int(rng.integers(20, 60))
        v = 20 + np.sin(np.arange(n + 1) / 3 + s) + rng.normal(0, 0.05, n + 1)
        frames.append(pd.DataFrame({"sensor": f"dev-{s}", "ts": pd.date_range("2024-03-01", periods=n, freq="h")
                                    .strftime("%Y-%m-%dT%H:%M:%S"), "temp_c": v[:n], "next_temp": v[n]}))
    path = tmp_path / "sensors.csv"
    pd.concat(frames).to_csv(path, index=False)
    out = tmp_path / "m.pt"
    r = run("train", "--task", "next-value", "--csv", path, "--id-col", "sensor", "--time-col", "ts",
            "--target-col", "next_temp", "--out", out, "--no-progress")
    assert r.returncode == 0, r.stderr
    p = run("predict", "--model-file", out, "--csv", path, "--json")
    assert p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert [row["sequence_id"] for row in rows] == [f"dev-{s}" for s in range(12)]
    assert all(np.isfinite(row["prediction"]) and len(row["influence"]) >= 20 for row in rows)
    shipped = run("predict", "--csv", path, "--id-col", "sensor", "--time-col", "ts", "--ignore-cols", "next_temp")
    assert shipped.returncode == 0, shipped.stderr
    # no target column: each sequence is a whole series, cut into one-step windows
    raw = tmp_path / "raw.csv"
    pd.read_csv(path).drop(columns="next_temp").to_csv(raw, index=False)
    r = run("train", "--task", "next-value", "--csv", raw, "--id-col", "sensor", "--time-col", "ts",
            "--out", tmp_path / "raw.pt", "--no-progress")
    assert r.returncode == 0, r.stderr
    windows = sum(n - 8 for n in pd.read_csv(raw).groupby("sensor").size())  # each step from the 9th on
    assert f"training on {windows} one-step windows of up to 32 values cut from its 12 series" in r.stdout
    latest = sum(max(1, round((n - 8) * 0.1)) for n in pd.read_csv(raw).groupby("sensor").size())
    assert f"validation ({latest} sequences)" in r.stdout  # each series' latest windows, not a random tenth
    p = run("predict", "--model-file", tmp_path / "raw.pt", "--csv", raw)
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 12, p.stderr
