"""Write files atomically: a crash never leaves a half-written output behind.

A process killed mid-write (SIGKILL, power loss) leaves its hidden temporary `.<name>.<pid>-<random>.tmp`
beside the target. The first atomic write of a later process into that folder removes the temporaries
of processes that no longer run and that predate it, so they do not pile up; a temporary of a process
still writing (a parallel worker) is left alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from pathlib import Path
from typing import IO, Iterator

# the temporaries of atomic_open: `.<name>.<pid>-<mkstemp's random characters>.tmp`
TEMPORARY = re.compile(r"^\..+\.(\d+)-[A-Za-z0-9_]+\.tmp$")
_STARTED = time.time()
_swept: set[Path] = set()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside `path`; rename it over `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = path.parent.resolve()
    if folder not in _swept:  # once per folder and process: a folder of thousands of masks stays fast
        _swept.add(folder)
        _remove_orphans(folder)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs get the usual permissions
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        try:
            os.replace(tmp, path)
        except OSError as err:  # `path` is a folder, say: name it, not the hidden temporary
            raise type(err)(err.errno, err.strerror, str(path)) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w") as f:
        f.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_stale_temporaries(folder: str | os.PathLike) -> int:
    """Delete every temporary file `atomic_open` left in `folder` (`.<name>.<random>.tmp`) when its process
    was killed mid-write; only call it when nothing writes there. Returns how many were removed."""
    removed = 0
    for path in Path(folder).glob(".*.tmp") if Path(folder).is_dir() else ():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed


def _remove_orphans(folder: Path) -> int:
    """Delete the temporaries in `folder` whose writer process is gone and that predate this process."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:  # an unreadable folder: the write itself reports the problem
        return 0
    for entry in entries:
        match = TEMPORARY.match(entry.name)
        if match is None or _running(int(match.group(1))):
            continue
        with contextlib.suppress(FileNotFoundError):
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < _STARTED:
                os.unlink(entry.path)
                removed += 1
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except (ProcessLookupError, OverflowError):  # gone, or no pid at all
        return False
    except PermissionError:  # another user's process
        return True
    return True
