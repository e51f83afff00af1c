"""Superpoints (ScanNet segmentator on meshes, kNN graphs on point clouds) and snapping instances to them."""
