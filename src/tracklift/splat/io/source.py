"""Where a splat model's training images came from, saved beside it as `source.json`, so later commands
(`splat lift --refit`) can load the image of any of its views again.

`{"kind": "rgbd", "path": "/abs/scene", "stride": 1, "max_frames": null}` for an RGB-D scene folder (any
layout `tracklift.data.scene.open_scene` reads; stride/max_frames as trained, for the record: views are
found by frame name in the whole scene), or `{"kind": "posed_images", "path": "/abs/transforms.json"}`
for a COLMAP folder or a transforms.json (`tracklift.splat.io.cameras.read_posed_images`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from tracklift.io.atomic import atomic_write_text
from tracklift.splat.render.camera import Camera

SOURCE_FILE = "source.json"
KINDS = ("rgbd", "posed_images")


def is_posed_image_dataset(path: str | Path) -> bool:
    """A transforms.json, a folder holding one, or a COLMAP folder (else: an RGB-D scene folder)."""
    from tracklift.splat.io.cameras import find_colmap_model

    path = Path(path)
    return path.suffix == ".json" or (path / "transforms.json").is_file() or find_colmap_model(path) is not None


def describe_source(path: str | Path, stride: int = 1, max_frames: int | None = None) -> dict:
    """The `source.json` entry of a dataset path (made absolute; stride/max_frames apply to RGB-D only)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such scene folder or dataset")
    if is_posed_image_dataset(path):
        return {"kind": "posed_images", "path": str(path.resolve())}
    return {"kind": "rgbd", "path": str(path.resolve()), "stride": stride, "max_frames": max_frames}


def write_source(model_dir: str | Path, source: dict) -> None:
    """Write `source` (from `describe_source`) to `model_dir/source.json` (atomically)."""
    if source.get("kind") not in KINDS or "path" not in source:
        raise ValueError(f"source must have a kind in {KINDS} and a path, got {source}")
    atomic_write_text(Path(model_dir) / SOURCE_FILE, json.dumps(source, indent=2) + "\n")


def read_source(model_dir: str | Path) -> dict:
    """The dataset a model was trained on; errors name the file and say how to give the images instead."""
    path = Path(model_dir) / SOURCE_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: missing (the model was not trained by `tracklift splat train`); pass --images DATASET"
        )
    try:
        source = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(source, dict) or source.get("kind") not in KINDS or not isinstance(source.get("path"), str):
        raise ValueError(f'{path}: expected {{"kind": one of {KINDS}, "path": ...}}, got {source!r}')
    if not Path(source["path"]).exists():
        raise FileNotFoundError(f"{source['path']} (the dataset named in {path}): missing; pass --images DATASET")
    return source


def load_view_images(source: dict, cameras: Sequence[Camera]) -> list[np.ndarray]:
    """The training image of every camera, found by the camera's name in the dataset `source` names.

    Returns V × [H, W, 3] uint8 RGB, each of its camera's size. A view the dataset does not have, a missing
    or unreadable image, or an image of another size raises an error naming the view and the file.
    """
    root = Path(source["path"])
    if source["kind"] == "posed_images":
        from tracklift.splat.io.cameras import load_image, read_posed_images

        by_name = {p.camera.name: p for p in read_posed_images(root)[0]}
        found = {c.name: load_image(by_name[c.name]) for c in cameras if c.name in by_name}
    else:
        from tracklift.data.scene import open_scene

        stream = open_scene(root).stream
        index = {name: i for i, name in enumerate(stream.names)}
        found = {c.name: stream[index[c.name]].color for c in cameras if c.name in index}
    images = []
    for cam in cameras:
        if cam.name not in found:
            raise ValueError(f"{root}: has no view {cam.name!r} (a view of the model's cameras.json)")
        image = found[cam.name]
        if image.shape != (cam.height, cam.width, 3):
            raise ValueError(
                f"{root}: view {cam.name!r} is {image.shape[1]}x{image.shape[0]}, its camera is "
                f"{cam.width}x{cam.height}"
            )
        images.append(image)
    return images
