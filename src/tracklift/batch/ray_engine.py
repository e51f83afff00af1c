"""The Ray engine: one Ray task per scene attempt, requesting the task's CPUs and its memory estimate so
Ray never places two scenes on a node that cannot hold both. Without `address`, a local Ray with `workers`
CPUs bound to loopback is started (and stopped by `close`); with one, the existing cluster is joined
(`auto`, `ray://HOST:10001`). A Ray session already open in this process is reused and left open."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import tracklift
from tracklift.batch.memory import MB

log = logging.getLogger(__name__)

# The object store carries only small task dicts and results, never scene data.
OBJECT_STORE_BYTES = 100 * MB


def start_local_ray(workers: int):
    """Start a local Ray with `workers` CPUs on loopback, no dashboard, a small object store; its workers
    import the tracklift this process imported. Returns the `ray` module."""
    import ray

    here = str(Path(tracklift.__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    ray.init(
        num_cpus=workers,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        object_store_memory=OBJECT_STORE_BYTES,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": path}},
    )
    return ray


class RayEngine:
    name = "ray"

    def __init__(self, workers: int, address: str | None = None) -> None:
        import ray

        from tracklift.batch.task import run_scene

        if workers < 1:
            raise ValueError(f"--workers must be ≥ 1, got {workers}")
        self._ray = ray
        self._owner = not ray.is_initialized()
        if self._owner:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                start_local_ray(workers)
        nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
        self.node_memory = max((int(r.get("memory", 0)) for r in nodes), default=0)
        self._remote = ray.remote(run_scene)
        self._running: dict = {}  # ObjectRef -> scene name
        log.info(
            "Ray: %d node(s), %d CPU(s), largest node %.1f GB for tasks",
            len(nodes),
            sum(int(r.get("CPU", 0)) for r in nodes),
            self.node_memory / 1024**3,
        )

    def fits(self, request: int) -> bool:
        return True  # Ray queues tasks until a node has their CPUs and memory free

    def submit(self, name: str, task: dict, request: int) -> None:
        if self.node_memory and request > self.node_memory:
            # A request no node can meet would wait forever; run alone on the largest node instead.
            log.warning(
                "%s: needs ~%.1f GB, the largest node offers %.1f GB; requesting that",
                name,
                request / 1024**3,
                self.node_memory / 1024**3,
            )
            request = self.node_memory
        ref = self._remote.options(num_cpus=task["cpus"], memory=request, max_retries=0, name=f"scene:{name}")
        self._running[ref.remote(task)] = name

    def wait(self) -> list[tuple[str, dict]]:
        if not self._running:
            return []
        ready, _ = self._ray.wait(list(self._running), num_returns=1)
        done = []
        for ref in ready:
            name = self._running.pop(ref)
            try:
                result = self._ray.get(ref)
            except self._ray.exceptions.RayError as err:  # worker died, out of memory, node lost, cancelled
                result = {"status": "failed", "error": f"{type(err).__name__}: {str(err).strip().splitlines()[0]}"}
            done.append((name, result))
        return sorted(done)

    def cancel(self) -> None:
        for ref in self._running:
            self._ray.cancel(ref, force=True)
        self._running.clear()

    def close(self) -> None:
        try:
            self.cancel()
        finally:
            if self._owner:
                self._ray.shutdown()
