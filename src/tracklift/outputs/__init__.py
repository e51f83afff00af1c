"""What a run leaves behind: instances transferred onto the mesh's vertices, the scene's files (written and read
back), its growth history and pictures."""

from tracklift.outputs.scene_files import load_instances, write_scene
from tracklift.outputs.transfer import instance_masks, reference_mesh, reference_points, snap_to_superpoints

__all__ = [
    "instance_masks",
    "load_instances",
    "reference_mesh",
    "reference_points",
    "snap_to_superpoints",
    "write_scene",
]
