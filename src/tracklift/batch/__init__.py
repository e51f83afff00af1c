"""`tracklift batch`: segment every scene of a dataset, one task per scene, on Ray or a local process pool.

discover (which scenes), memory (per-scene memory request, peak RSS), markers (completion markers and
resume), task (what a worker runs for one scene), engine (process pool and Ray behind one interface),
driver (retries, progress, batch.json), report (pooled evaluation), cli. Ray is imported only when used.
"""

from tracklift.core.lazy import lazy_exports

__all__ = ["BatchConfig", "find_scenes", "run_batch"]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BatchConfig": "tracklift.batch.driver",
        "find_scenes": "tracklift.batch.discover",
        "run_batch": "tracklift.batch.driver",
    },
)
