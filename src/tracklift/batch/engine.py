"""Where scene tasks run: a local process pool, or Ray (`ray_engine`), behind one small interface.

An engine runs single attempts; the driver owns retries. `fits(request)` says whether a task needing
`request` bytes may start now, `submit(name, task, request)` starts it, `wait()` blocks until at least one
task ends and returns (name, result) pairs, `cancel()` stops everything running, `close()` releases the
engine. A task that dies (killed, out of memory) comes back as a failed result naming the cause.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
from typing import Protocol

log = logging.getLogger(__name__)


class Engine(Protocol):
    name: str

    def fits(self, request: int) -> bool: ...

    def submit(self, name: str, task: dict, request: int) -> None: ...

    def wait(self) -> list[tuple[str, dict]]: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


def available_memory() -> int:
    """Bytes this machine can give to new work (MemAvailable; total physical memory where unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def admits(running: list[int], request: int, workers: int, budget: int) -> bool:
    """Whether a task needing `request` bytes may start beside tasks holding `running` bytes: at most
    `workers` at once, within `budget` bytes — except that a lone task always starts (it may still fit)."""
    if not running:
        return True
    return len(running) < workers and sum(running) + request <= budget


def _die_with_parent() -> None:
    """Linux: the kernel sends SIGKILL to this process when the driver dies, so that killing the driver
    leaves no orphan scene running."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def _child(task: dict, conn) -> None:
    _die_with_parent()
    from tracklift.batch.task import run_scene

    try:
        result = run_scene(task)
    except Exception as err:  # the marker or state files could not be written
        result = {"status": "failed", "error": f"{type(err).__name__}: {err}".splitlines()[0]}
    conn.send(result)


def death_message(exitcode: int | None) -> str:
    """Why a worker process ended without a result."""
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = " (the kernel's out-of-memory killer, or someone, killed it)" if -exitcode == signal.SIGKILL else ""
        return f"WorkerDied: worker process killed by {name}{hint}"
    return f"WorkerDied: worker process exited with code {exitcode} without a result"


class ProcessEngine:
    """One fresh process per task (its memory is its own, a crash takes nothing else down), at most
    `workers` at once and, by the scenes' memory requests, within `budget` bytes."""

    name = "process"

    def __init__(self, workers: int, budget: int | None = None) -> None:
        if workers < 1:
            raise ValueError(f"--workers must be ≥ 1, got {workers}")
        self.workers = workers
        self.budget = int(0.9 * available_memory()) if budget is None else budget
        self._context = multiprocessing.get_context("spawn")  # no inherited threads or locks
        self._running: dict[str, tuple] = {}  # name -> (process, connection, request)

    def fits(self, request: int) -> bool:
        return admits([r for _, _, r in self._running.values()], request, self.workers, self.budget)

    def submit(self, name: str, task: dict, request: int) -> None:
        receive, send = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_child, args=(task, send), name=f"tracklift-{name}", daemon=True)
        process.start()
        send.close()
        self._running[name] = (process, receive, request)

    def wait(self) -> list[tuple[str, dict]]:
        if not self._running:
            return []
        by_sentinel = {p.sentinel: name for name, (p, _, _) in self._running.items()}
        ready = multiprocessing.connection.wait(list(by_sentinel))
        done = []
        for sentinel in ready:
            name = by_sentinel[sentinel]
            process, receive, _ = self._running.pop(name)
            result = receive.recv() if receive.poll() else None
            process.join()
            receive.close()
            done.append((name, result or {"status": "failed", "error": death_message(process.exitcode)}))
        return sorted(done)

    def cancel(self) -> None:
        for process, receive, _ in self._running.values():
            process.terminate()
        for process, receive, _ in self._running.values():
            process.join()
            receive.close()
        self._running.clear()

    def close(self) -> None:
        self.cancel()


def make_engine(kind: str, workers: int, address: str | None = None) -> Engine:
    """kind 'ray', 'process' or 'auto' (Ray when installed, else the process pool, saying so)."""
    if kind not in ("auto", "ray", "process"):
        raise ValueError(f"unknown engine {kind!r}; expected auto, ray or process")
    if kind == "process" and address:
        raise ValueError("--address needs the ray engine, not --engine process")
    if kind in ("auto", "ray"):
        try:
            import ray  # noqa: F401
        except ImportError:
            if kind == "ray" or address:
                raise ValueError("Ray is not installed: pip install 'tracklift[scale]'") from None
            log.warning("Ray is not installed (pip install 'tracklift[scale]'): running scenes in a local "
                        "process pool of %d worker(s)", workers)
            return ProcessEngine(workers)
        from tracklift.batch.ray_engine import RayEngine

        return RayEngine(workers, address)
    return ProcessEngine(workers)
