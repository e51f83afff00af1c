"""Run a batch: skip complete scenes, submit the others with their memory requests, retry failures, keep
`OUT/batch.json` current after every finished task, and leave finished scenes intact on Ctrl-C."""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from datetime import datetime, timezone
from pathlib import Path

from tqdm import tqdm

from tracklift.batch.discover import SceneJob
from tracklift.batch.engine import Engine
from tracklift.batch.markers import STATE_DIR, completed, settings_key, state_path
from tracklift.batch.memory import MB, scene_memory
from tracklift.core.config import config, option
from tracklift.eval.benchmark_format import MASK_DIR
from tracklift.io.atomic import atomic_write_text, remove_stale_temporaries

log = logging.getLogger(__name__)

BATCH_JSON = "batch.json"


@config
class BatchConfig:
    retries: int = option(1, "further attempts for a failed scene", low=0, high=100)
    cpus: int = option(1, "CPUs (threads) each scene uses", low=1, high=1024)


def memory_request(path: Path, stride: int = 1, max_frames: int | None = None) -> int:
    """`scene_memory` of the scene at `path` (frames listed, one depth frame read for the resolution); the
    base request when the scene cannot be opened — the worker then reports why."""
    from tracklift.data.scene import open_scene

    try:
        stream = open_scene(path, stride=stride, max_frames=max_frames).stream
        for k in range(min(len(stream), 5)):
            try:
                frame = stream[k]
            except (ValueError, FileNotFoundError):
                continue
            return scene_memory(len(stream), frame.width, frame.height)
    except (ValueError, FileNotFoundError) as err:
        log.debug("%s: cannot estimate memory: %s", path, err)
    return scene_memory(0, 0, 0)


def scene_task(job: SceneJob, out: Path, masks_root: Path | None, options: dict, config: BatchConfig) -> dict:
    """The task of one scene (without the attempt number); its key covers everything that shapes the outputs."""
    masks = None if masks_root is None else str((masks_root / job.name).resolve())
    path = str(job.path.resolve())
    return {
        "scene": job.name,
        "path": path,
        "out": str(out),
        "masks": masks,
        "options": options,
        "cpus": config.cpus,
        "key": settings_key({"options": options, "path": path, "masks": masks}),
    }


def run_batch(
    jobs: list[SceneJob],
    out: str | Path,
    engine_factory,
    *,
    masks_root: str | Path | None = None,
    options: dict,
    config: BatchConfig = BatchConfig(),
    progress: bool = True,
) -> dict:
    """Segment `jobs` into `out`; returns the batch document also written to OUT/batch.json.

    engine_factory: () -> Engine, called only when some scene needs running. options: the
    `tracklift segment` options (see `tracklift.pipeline.cli.add_options`).
    """
    out = Path(out).resolve()
    masks_root = None if masks_root is None else Path(masks_root)
    start = time.perf_counter()
    document = {
        "out": str(out),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "engine": None,
        "retries": config.retries,
        "cpus_per_scene": config.cpus,
        "options": options,
        "scenes": {},
    }
    scenes = document["scenes"]
    tasks, todo = {}, deque()
    for job in jobs:
        task = scene_task(job, out, masks_root, options, config)
        tasks[job.name] = task
        previous = completed(out, job.name, task["key"])
        if previous is not None:
            scenes[job.name] = {**previous, "status": "skipped", "attempts": 0}
        else:
            scenes[job.name] = {"status": "pending", "attempts": 0}
            todo.append(job.name)
    skipped = len(jobs) - len(todo)
    if skipped:
        log.info("%d of %d scenes are complete and skipped", skipped, len(jobs))
    requests = {
        name: memory_request(Path(tasks[name]["path"]), options.get("stride", 1), options.get("max_frames"))
        for name in todo
    }
    # A killed driver or worker can leave atomic-write temporaries; nothing writes here before the engine starts.
    stale = sum(remove_stale_temporaries(d) for d in (out, out / MASK_DIR, out / STATE_DIR))
    if stale:
        log.info("removed %d temporary file(s) of an interrupted run", stale)
    engine: Engine | None = engine_factory() if todo else None
    document["engine"] = None if engine is None else engine.name
    bar = tqdm(total=len(jobs), initial=skipped, desc="batch", unit="scene", disable=not progress)

    def save() -> None:
        document["wall_seconds"] = time.perf_counter() - start
        counts: dict[str, int] = {}
        for entry in scenes.values():
            counts[entry["status"]] = counts.get(entry["status"], 0) + 1
        document["counts"] = counts
        atomic_write_text(out / BATCH_JSON, json.dumps(document, indent=1, allow_nan=False))

    try:
        save()
        while todo or (engine is not None and any(s["status"] == "running" for s in scenes.values())):
            while todo and engine.fits(requests[todo[0]]):
                name = todo.popleft()
                entry = scenes[name]
                entry.update(status="running", attempts=entry["attempts"] + 1, memory_request_mb=requests[name] / MB)
                engine.submit(name, {**tasks[name], "attempt": entry["attempts"]}, requests[name])
            for name, result in engine.wait():
                entry = scenes[name]
                entry.update(result, log=str(state_path(out, name, "log")))
                if result["status"] != "ok":
                    entry.setdefault("errors", []).append(result.get("error"))  # one per failed attempt
                if result["status"] != "ok" and entry["attempts"] <= config.retries:
                    log.warning("%s: attempt %d failed (%s); retrying", name, entry["attempts"], result.get("error"))
                    entry["status"] = "pending"
                    todo.append(name)
                    continue
                if result["status"] != "ok":
                    log.error("%s: failed after %d attempt(s): %s", name, entry["attempts"], result.get("error"))
                else:
                    entry.pop("error", None)
                bar.update(1)
                save()
    except KeyboardInterrupt:
        for entry in scenes.values():
            if entry["status"] in ("running", "pending"):
                entry["status"] = "interrupted"
        log.warning("interrupted: finished scenes are kept; rerun the same command to do the rest")
        raise
    finally:
        bar.close()
        try:
            if engine is not None:
                engine.close()
        finally:
            save()
    return document
