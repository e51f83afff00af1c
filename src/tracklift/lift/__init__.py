"""2D masks to 3D: back-projection of reliable depth, erosion and denoising, voxel keys."""

from tracklift.lift.lifter import LiftConfig, lift_masks
from tracklift.lift.projection import pixels_to_world, project

__all__ = ["LiftConfig", "lift_masks", "pixels_to_world", "project"]
