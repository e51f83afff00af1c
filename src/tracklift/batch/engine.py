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
from dataclasses import dataclass
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


def _serve(conn) -> None:
    """A worker process: run the tasks the driver sends until it sends None or goes away."""
    _die_with_parent()
    from tracklift.batch.task import run_scene

    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
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


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: multiprocessing.connection.Connection
    request: int = 0


class ProcessEngine:
    """Up to `workers` long-lived worker processes (imports and loaded models are paid once per worker, as
    with Ray's); a worker that dies is replaced. Tasks start while the scenes' memory requests fit `budget`
    bytes (default 90 % of the memory available at start)."""

    name = "process"

    def __init__(self, workers: int, budget: int | None = None) -> None:
        if workers < 1:
            raise ValueError(f"--workers must be ≥ 1, got {workers}")
        self.workers = workers
        self.budget = int(0.9 * available_memory()) if budget is None else budget
        self._context = multiprocessing.get_context("spawn")  # no inherited threads or locks
        self._idle: list[_Worker] = []
        self._busy: dict[str, _Worker] = {}

    def fits(self, request: int) -> bool:
        return admits([w.request for w in self._busy.values()], request, self.workers, self.budget)

    def _start_worker(self) -> _Worker:
        conn, child = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(child,), name="tracklift-batch-worker", daemon=True)
        process.start()
        child.close()
        return _Worker(process, conn)

    def submit(self, name: str, task: dict, request: int) -> None:
        while self._idle:
            worker = self._idle.pop()
            try:
                worker.conn.send(task)
                break
            except (BrokenPipeError, EOFError, OSError):  # it died while idle
                worker.process.join()
        else:
            worker = self._start_worker()
            worker.conn.send(task)
        worker.request = request
        self._busy[name] = worker

    def wait(self) -> list[tuple[str, dict]]:
        if not self._busy:
            return []
        waits = {w.conn: n for n, w in self._busy.items()} | {w.process.sentinel: n for n, w in self._busy.items()}
        ready = {waits[r] for r in multiprocessing.connection.wait(list(waits))}
        done = []
        for name in sorted(ready):
            worker = self._busy.pop(name)
            try:
                result = worker.conn.recv() if worker.conn.poll() else None
            except (EOFError, OSError):
                result = None
            if result is None:
                worker.process.join()
                worker.conn.close()
                result = {"status": "failed", "error": death_message(worker.process.exitcode)}
            else:
                self._idle.append(worker)
            done.append((name, result))
        return done

    def cancel(self) -> None:
        for worker in self._busy.values():
            worker.process.terminate()
        for worker in self._busy.values():
            worker.process.join()
            worker.conn.close()
        self._busy.clear()

    def close(self) -> None:
        self.cancel()
        for worker in self._idle:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        for worker in self._idle:
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join()
            worker.conn.close()
        self._idle.clear()


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
            log.warning(
                "Ray is not installed (pip install 'tracklift[scale]'): running scenes in a local "
                "process pool of %d worker(s)",
                workers,
            )
            return ProcessEngine(workers)
        from tracklift.batch.ray_engine import RayEngine

        return RayEngine(workers, address)
    return ProcessEngine(workers)
