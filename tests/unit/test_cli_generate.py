import subprocess
import sys

import pandas as pd

from seqattn.cli import main
from seqattn.data.io import read_long


def test_generate_next_value_parquet_round_trips(tmp_path):
    out = tmp_path / "nv.parquet"
    assert main(["generate", "--task", "next-value", "--num-samples", "40", "--out", str(out)]) == 0
    d = read_long(out, require="target")
    assert len(d) == 40 and d.features == ("value",) and d.family is not None


def test_generate_classify_csv(tmp_path):
    out = tmp_path / "s.csv"
    assert main(["generate", "--task", "classify", "--num-samples", "6", "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert {"sequence_id", "t", "label", "salient", "x0"} <= set(df.columns)


def test_bad_task_and_bad_suffix_exit_2_one_line(tmp_path):
    for args in (["--task", "bogus", "--out", str(tmp_path / "a.csv")], ["--out", str(tmp_path / "a.txt")]):
        r = subprocess.run([sys.executable, "-m", "seqattn", "generate", *args], capture_output=True, text=True)
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_an_internal_bug_is_exit_1_with_a_report_line_not_bad_input(monkeypatch, capsys):
    def bug():
        raise ValueError("an internal mistake")  # a ValueError that no validation raised

    monkeypatch.setattr("seqattn.demo.run_demo", bug)
    monkeypatch.delenv("SEQATTN_DEBUG", raising=False)
    assert main(["demo"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "seqattn: internal error (please report): ValueError: an internal mistake"
    assert "Traceback" not in err


def test_seqattn_debug_shows_the_traceback_of_an_internal_bug(monkeypatch, capsys):
    monkeypatch.setattr("seqattn.demo.run_demo", lambda: [][1])
    monkeypatch.setenv("SEQATTN_DEBUG", "1")
    assert main(["demo"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "IndexError" in err and "internal error (please report)" in err


def test_library_validation_errors_stay_bad_input(tmp_path, capsys):
    assert main(["predict", "--model-file", str(tmp_path / "missing.pt"), "1", "2"]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("sequence_id,t,value\n1,0,a\n")
    assert main(["predict", "--csv", str(bad)]) == 2
