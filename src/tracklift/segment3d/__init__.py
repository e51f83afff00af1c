"""Segment a fused RGB-D voxel map into 3D object instances, with no 2D masks and no weights."""
