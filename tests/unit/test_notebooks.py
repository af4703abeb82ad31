"""Notebook hygiene: committed executed, no errors, no machine paths, thin cells, stripped metadata.

(The notebooks themselves run under nbval: ``pytest`` collects ``notebooks/*.ipynb``.)"""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
DEFINITION = re.compile(r"^\s*(async\s+)?(def|class)\s+\w+", re.MULTILINE)  # a statement, not a word in a string
MACHINE_PATH = re.compile(r"(/work/|/root/|/home/|/tmp/|[A-Z]:\\\\Users)")


def test_the_series_is_numbered_01_to_06():
    names = [p.stem for p in NOTEBOOKS]
    assert names[:6] == ["01_generate", "02_train", "03_evaluate", "04_visualize", "05_real_data", "06_event_logs"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_executed_clean_and_thin(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    assert code, "no code cells"
    for c in code:
        src = "".join(c["source"])
        assert c["execution_count"] is not None, f"unexecuted cell: {src[:60]!r}"
        assert not [o for o in c["outputs"] if o["output_type"] == "error"], f"error output in {src[:60]!r}"
        assert len(src.splitlines()) <= 14, f"cell too long for a thin notebook: {src[:60]!r}"
        assert not DEFINITION.search(src), "classes/functions belong in seqattn/"
    text = path.read_text()
    assert not MACHINE_PATH.search(text), f"absolute path in {path.name}: {MACHINE_PATH.search(text).group()}"
    assert set(nb["metadata"]) <= {"kernelspec", "language_info", "widgets"}
    assert "FAST" in "".join(code[0]["source"])  # the small-settings switch comes first
