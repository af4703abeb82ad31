"""Atomic file writes and exclusive output locks: every file seqattn writes appears whole or not at all,
and two seqattn processes never write the same model file at once."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import BadInput


def _pid_alive(pid: int) -> bool:
    """Is process ``pid`` running (on this machine)?"""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _temp_prefix(path: Path) -> str:
    return f".{path.stem}."


def clean_stale_temps(path, suffix: str = ".tmp") -> list[Path]:
    """Remove temp files of saves to ``path`` that were interrupted (their writer's PID is gone).

    Temp names are ``.<stem>.<pid>.<random><suffix>``: a file whose PID still runs is another save in
    progress and is left alone. Returns the removed paths.
    """
    path = Path(path)
    removed = []
    prefix = _temp_prefix(path)
    if not path.parent.is_dir():
        return removed
    for tmp in path.parent.glob(f"{prefix}*{suffix}"):
        pid = tmp.name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed


@contextlib.contextmanager
def atomic_path(path, suffix: str = ".tmp"):
    """Yield a temp path beside ``path``; on success give it the usual permissions and rename it onto
    ``path``, on any error remove it. ``suffix`` ends the temp name (some writers check the extension).
    Temp files left by an interrupted earlier save (a killed process) are removed first.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(path, suffix)
    fd, tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(path)}{os.getpid()}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def lock_path(path) -> Path:
    """The lock file that guards writes to ``path``: ``<path>.lock`` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def exclusive(path):
    """Hold ``<path>.lock`` (created with O_EXCL, holding our PID) while the block runs; removed at exit.

    A lock whose PID no longer runs is stale (a killed process) and is taken over. A live one is a
    :class:`BadInput` naming the path and the PID: another process is writing ``path``.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "m.pt"
    >>> with exclusive(target):
    ...     lock_path(target).exists()
    True
    >>> lock_path(target).exists()
    False
    """
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                owner = int(lock.read_text().strip() or "0")
            except (OSError, ValueError):
                owner = 0  # unreadable or half-written: treat as stale unless it reappears
            if owner and _pid_alive(owner):
                raise BadInput(f"{path} is being written by another seqattn process (pid {owner}, lock "
                               f"{lock}); wait for it or choose another --out") from None
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        break
    else:
        raise BadInput(f"cannot take the lock {lock}; remove it if no seqattn process is writing {path}")
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)


def check_readable_file(path, what: str = "file") -> Path:
    """``path`` if it is a regular file; otherwise a :class:`BadInput` saying what it is instead
    (missing, a directory, a FIFO, a device, ...), not just "not found"."""
    import stat

    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise BadInput(f"{path}: {what} not found") from None
    except OSError as e:
        raise BadInput(f"{path}: cannot open the {what} ({e.strerror or type(e).__name__})") from None
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    for test, name in kinds:
        if test(mode):
            raise BadInput(f"{path} is {name}, not a {what}; give a regular file")
    return path
