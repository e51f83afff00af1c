"""`tracklift` in a subprocess, as a user runs it (the kill, signal and end-to-end tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a subprocess: this tree's sources first, one torch thread as the tests run
    in-process (conftest: the same float reductions, no thread spinning against the other processes on the
    CPU), and `extra`."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
        "OMP_NUM_THREADS": "1",
        **extra,
    }


def start(args: list[str]) -> subprocess.Popen:
    """`tracklift ARGS` started in the background, its output discarded."""
    return subprocess.Popen(
        [sys.executable, "-m", "tracklift.cli", *args],
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_files(out: Path) -> dict[str, bytes]:
    """{relative path: bytes} of the files a run wrote under `out`, its wall-clock timings aside (the only
    output that differs between two runs of the same command)."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(Path(out).rglob("*"))
        if p.is_file() and not p.name.endswith("_timings.json")
    }
