"""3DGS training on the CPU rasterizer: from cameras and images, or from a dataset on disk."""

from tracklift.splat.train.datasets import train_from_dataset, train_from_scene
from tracklift.splat.train.init import InitConfig
from tracklift.splat.train.loop import TrainConfig, train_gaussians

__all__ = ["InitConfig", "TrainConfig", "train_from_dataset", "train_from_scene", "train_gaussians"]
