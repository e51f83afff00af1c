"""`tracklift batch`: segment every scene of a dataset, one task per scene, on Ray or a local process pool.

discover (which scenes), memory (per-scene memory request, peak RSS), markers (completion markers and
resume), task (what a worker runs for one scene), engine (process pool and Ray behind one interface),
driver (retries, progress, batch.json), report (pooled evaluation), cli. Ray is imported only when used.
"""
