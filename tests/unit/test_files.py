import os
import subprocess
import sys

import pytest

from seqattn.files import atomic_path, check_readable_file, clean_stale_temps, exclusive, lock_path


def dead_pid() -> int:
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)


def test_atomic_path_writes_whole_files_and_removes_its_temp_on_error(tmp_path):
    target = tmp_path / "m.pt"
    with atomic_path(target) as tmp:
        assert tmp.name.startswith(f".m.{os.getpid()}.")
        tmp.write_text("one")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "one" and sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]


def test_interrupted_saves_are_cleaned_but_live_ones_are_kept(tmp_path):
    target = tmp_path / "m.pt"
    stale = tmp_path / f".m.{dead_pid()}.x1.tmp"
    live = tmp_path / f".m.{os.getpid()}.x2.tmp"
    other = tmp_path / ".other.1.x3.tmp"
    for p in (stale, live, other):
        p.write_text("x")
    assert clean_stale_temps(target) == [stale]
    assert live.exists() and other.exists() and not stale.exists()


def test_exclusive_refuses_a_live_holder_and_takes_over_a_stale_lock(tmp_path):
    target = tmp_path / "m.pt"
    with exclusive(target):
        assert lock_path(target).read_text() == str(os.getpid())
        with pytest.raises(ValueError, match=f"another seqattn process \\(pid {os.getpid()}"):
            with exclusive(target):
                pass
    assert not lock_path(target).exists()
    lock_path(target).write_text(str(dead_pid()))
    with exclusive(target):
        assert lock_path(target).read_text() == str(os.getpid())
    assert not lock_path(target).exists()


def test_check_readable_file_says_what_the_path_is(tmp_path):
    with pytest.raises(ValueError, match="data file not found"):
        check_readable_file(tmp_path / "nope.csv", "data file")
    with pytest.raises(ValueError, match="is a directory"):
        check_readable_file(tmp_path)
    os.mkfifo(tmp_path / "p")
    with pytest.raises(ValueError, match="is a FIFO"):
        check_readable_file(tmp_path / "p")
    (tmp_path / "f.csv").write_text("a")
    assert check_readable_file(tmp_path / "f.csv") == tmp_path / "f.csv"
