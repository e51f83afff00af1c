"""Leaf file formats: atomic writes, PLY meshes, PNG, ScanNet's segs/aggregation files, safe readers of JSON,
npz and downloaded pickles. Nothing here knows about the pipeline."""

from tracklift.io.atomic import atomic_write_bytes, atomic_write_text
from tracklift.io.ply import Mesh, read_ply, write_ply

__all__ = ["Mesh", "atomic_write_bytes", "atomic_write_text", "read_ply", "write_ply"]
