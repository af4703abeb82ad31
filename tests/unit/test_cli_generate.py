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
