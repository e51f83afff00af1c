"""One scene, as a worker runs it: `tracklift segment` into the shared output folder, then the marker.

A task carries only paths and settings (a small dict); the worker reads the scene and its masks from
storage it shares with the driver, so no image goes through Ray's object store or a pipe.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import time
import traceback

from tracklift.batch.markers import clear_marker, state_path, write_marker
from tracklift.batch.memory import MB, peak_rss, reset_peak

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


def _limit_threads(cpus: int) -> None:
    """Use the task's CPUs, not the machine's: libraries read these at import, torch can change later."""
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(cpus)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(cpus)


def run_scene(task: dict) -> dict:
    """Segment one scene. task: {"scene", "path", "out", "masks" (folder or None), "options" (the options of
    `tracklift.pipeline.cli.add_options`), "key" (settings key for the marker), "cpus", "attempt"}.

    Returns {"status": "ok" | "failed", "seconds", "frames", "fps", "instances", "peak_rss_mb", "host", "pid",
    "error"}; an exception in the pipeline is a failed result, not an exception of the task.
    """
    from tracklift.io.atomic import atomic_write_text

    start = time.perf_counter()
    _limit_threads(int(task["cpus"]))
    reset_peak()
    out, scene = task["out"], task["scene"]
    where = {"host": socket.gethostname(), "pid": os.getpid()}
    running = state_path(out, scene, "running")
    atomic_write_text(running, json.dumps({"scene": scene, "attempt": task["attempt"], **where}))
    clear_marker(out, scene)
    result: dict = {"status": "failed", **where}
    try:
        with (
            open(state_path(out, scene, "log"), "a") as log,
            contextlib.redirect_stderr(log),
            contextlib.redirect_stdout(log),
        ):
            print(f"--- attempt {task['attempt']} on {where['host']} pid {where['pid']}", flush=True)
            try:
                result.update(_segment(task))
            except Exception as err:  # recorded, retried by the driver; the traceback goes to the log
                traceback.print_exc()
                result["error"] = f"{type(err).__name__}: {err}".splitlines()[0]
        result["seconds"] = time.perf_counter() - start
        if result["status"] == "ok":
            result["fps"] = result["frames"] / result["seconds"] if result["seconds"] > 0 else None
        result["peak_rss_mb"] = peak_rss() / MB
        if result["status"] == "ok":
            write_marker(out, scene, task["key"], result)
    finally:
        with contextlib.suppress(FileNotFoundError):
            running.unlink()
    return result


def _segment(task: dict) -> dict:
    from tracklift.pipeline.cli import segment_command as segment

    args = argparse.Namespace(**task["options"], scene=task["path"], out=task["out"], masks=task["masks"], mesh=None)
    summary = segment(args)
    return {"status": "ok", "frames": summary["frames"], "instances": summary["instances"]}
