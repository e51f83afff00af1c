"""Gaussians, the pinhole camera and differentiable rasterization (CPU, or gsplat on CUDA)."""

from tracklift.splat.render.camera import Camera
from tracklift.splat.render.gaussians import Gaussians
from tracklift.splat.render.output import RenderOutput
from tracklift.splat.render.rasterizer import rasterize, trace_weights

__all__ = ["Camera", "Gaussians", "RenderOutput", "rasterize", "trace_weights"]
