import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from seqattn import reports


def test_run_notebooks_executes_copies_and_extracts_figures(tmp_path, monkeypatch):
    src = tmp_path / "nbs"
    src.mkdir()
    nb = new_notebook(cells=[
        new_code_cell("import os\nprint(os.environ.get('SEQATTN_FAST'))"),
        new_code_cell("%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, src / "01_x.ipynb")
    before = (src / "01_x.ipynb").read_text()
    monkeypatch.setattr(reports, "NOTEBOOKS_DIR", src)
    summary = reports.run_notebooks(tmp_path / "out", fast=True)
    assert summary[0]["notebook"] == "01_x.ipynb" and summary[0]["figures"] == 1, summary
    executed = nbformat.read(tmp_path / "out" / "01_x.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"].strip() == "1"
    assert list((tmp_path / "out" / "figures").glob("01_x_cell01_*.png"))
    assert (src / "01_x.ipynb").read_text() == before  # the source notebook is untouched


def test_real_data_notebook_is_skipped_with_the_install_hint_without_the_extra(tmp_path, monkeypatch):
    from seqattn import real

    src = tmp_path / "nbs"
    src.mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell("raise ImportError('must not run')")]), src / "05_real_data.ipynb")
    monkeypatch.setattr(reports, "NOTEBOOKS_DIR", src)
    monkeypatch.setattr(real, "missing_packages", lambda: ["sktime"])
    (row,) = reports.run_notebooks(tmp_path / "out", fast=True)
    assert row["notebook"] == "05_real_data.ipynb" and ".[real]" in row["skipped"]
