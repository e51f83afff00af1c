"""Time and memory of one call: warm-up, median of repeats, tracemalloc peak, process max RSS."""

from __future__ import annotations

import resource
import statistics
import sys
import time
import tracemalloc
from typing import Any, Callable


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
