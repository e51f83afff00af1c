"""Splat files: 3DGS PLY, posed images (COLMAP, transforms.json), and a model folder read back."""

from tracklift.splat.io.cameras import read_posed_images
from tracklift.splat.io.instances import Instances
from tracklift.splat.io.model import load_model
from tracklift.splat.io.ply import read_gaussians_ply, write_gaussians_ply

__all__ = ["Instances", "load_model", "read_gaussians_ply", "read_posed_images", "write_gaussians_ply"]
