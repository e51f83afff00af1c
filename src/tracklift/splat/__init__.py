"""Gaussian splatting with instance tracing (Trace3D), in rooms:

* `render`: Gaussians, the camera, the CPU rasterizer (and its per-pixel reference), the gsplat backend;
* `train`: 3DGS fitting (optimiser, losses, densification, initialisation, the loop, datasets on disk);
* `trace3d`: Gaussian instance tracing, mask correction, instance split/prune, lifting (closed form,
  contrastive), object extraction/editing and the coarse/fine hierarchy;
* `io`: 3DGS PLY, COLMAP / transforms.json cameras, the model folder's files.

Nothing is imported here, so `tracklift splat --help` does not import torch.
"""

__all__ = ["io", "render", "trace3d", "train"]
