"""Gaussian splatting with instance tracing (Trace3D), in rooms:

* `render`: Gaussians, the camera, the CPU rasterizer (and its per-pixel reference), the gsplat backend;
* `train`: 3DGS fitting (optimiser, losses, densification, initialisation, the loop, datasets on disk);
* `trace3d`: Gaussian instance tracing, mask correction, instance split/prune, lifting (closed form,
  contrastive), object extraction/editing and the coarse/fine hierarchy;
* `io`: 3DGS PLY, COLMAP / transforms.json cameras, the model folder's files.

The rooms load on first use, so `tracklift splat --help` does not import torch.
"""

from tracklift.core.lazy import lazy_exports

__all__ = ["io", "render", "trace3d", "train"]
__getattr__, __dir__ = lazy_exports(__name__, {room: f"{__name__}.{room}" for room in __all__})
