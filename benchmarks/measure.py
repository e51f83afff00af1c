"""Time and memory of one call (warm-up, median of repeats, tracemalloc peak, process max RSS), and the machine
they were measured on."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent


def max_rss_mb() -> float:
    """Peak resident set size of this process so far, MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def measure(fn: Callable[[], Any], repeats: int) -> tuple[Any, dict]:
    """Run `fn` once to warm up (compilation, caches), `repeats` times timed, once under tracemalloc.

    Timed runs go without tracemalloc, whose bookkeeping slows allocation-heavy code. Returns the
    warm-up result and {"seconds": [..], "median_s", "tracemalloc_peak_mb", "max_rss_mb"}.
    """
    result = fn()
    seconds = []
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, {
        "seconds": seconds,
        "median_s": statistics.median(seconds),
        "tracemalloc_peak_mb": peak / 2**20,
        "max_rss_mb": max_rss_mb(),
    }


def machine() -> dict:
    """What a result was measured on, recorded in every results document."""
    import numpy as np

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "platform": platform.platform(),
    }


def machine_line(record: dict | str) -> str:
    """'x86_64, 2 CPU(s), Python 3.11.7, numpy 1.26.4' (older result files hold a ready string)."""
    if isinstance(record, str):
        return record
    parts = [record["machine"]] if "machine" in record else []
    return ", ".join(parts + [f"{record['cpus']} CPU(s)", f"Python {record['python']}", f"numpy {record['numpy']}"])


def run_measured(cmd: list[str], log: Path) -> dict:
    """Run `cmd` from the repository root with its output in `log`; returns wall seconds, the child's own
    CPU seconds (user + system over all its threads) and peak RSS (MiB), both from wait4, and its exit code."""
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    start = time.perf_counter()
    with log.open("w") as f:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    seconds = time.perf_counter() - start
    rss = usage.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else usage.ru_maxrss / 1024
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "max_rss_mb": rss,
        "returncode": proc.returncode,
    }
