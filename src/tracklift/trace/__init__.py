"""The primitive × view → label table (shared by the tracker and Trace3D) and consistency refinement."""

from tracklift.trace.consistency import ConsistencyConfig, refine_tracks
from tracklift.trace.table import TraceTable

__all__ = ["ConsistencyConfig", "TraceTable", "refine_tracks"]
