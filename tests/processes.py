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
