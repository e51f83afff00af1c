"""A segmented scene's files: ScanNet benchmark files + JSON, an instances .npz, a PLY coloured by instance —
written by `write_scene`, read back as `Instance3D`s by `load_instances` (queries, classification, the viewer).

`<out>/<scene>.txt`, `pred_mask/…`, `<out>/<scene>.json` come from `tracklift.eval.write_predictions`; the
JSON additionally records `scene_dir`, the reference points used and the .npz path, so queries and
classification can reopen the scene. `<out>/<scene>_instances.npz` holds `points` [P, 3] float32 (the
reference points: mesh vertices or the fused map) and `instance_of_point` [P] int32 (index into the JSON's
instances, -1 = none; where instances overlap the higher-scored one wins).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracklift.core.instance import Instance3D
from tracklift.eval import PredictedInstance, write_predictions
from tracklift.io.atomic import atomic_write_bytes
from tracklift.io.npz import read_instances_npz
from tracklift.io.ply import Mesh, write_ply
from tracklift.io.textfile import read_json
from tracklift.outputs.pictures import instance_colors
from tracklift.vocab import Vocabulary


def instance_label_id(instance: Instance3D, vocab: Vocabulary) -> int | None:
    """The instance's class id: its classified `label` if set, else the majority of its 2D label votes, when
    that name is exactly a vocabulary class (case and spaces ignored); None otherwise."""
    name = instance.label
    if name is None and instance.label_votes:
        name = max(sorted(instance.label_votes), key=lambda k: instance.label_votes[k])
    if name is None:
        return None
    try:
        return vocab.id_of(name)
    except KeyError:
        return None


def predicted_instances(instances: list[Instance3D], masks: np.ndarray, vocab: Vocabulary) -> list[PredictedInstance]:
    """The instances as benchmark predictions: masks [I, P] bool over the reference points, the label id of
    `instance_label_id` (None when the name is not a class of `vocab`), the instance's score."""
    return [PredictedInstance(m, instance_label_id(i, vocab), i.score) for m, i in zip(masks, instances)]


def instance_of_point(masks: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """masks: [I, P] bool; scores: [I] -> [P] int32, the highest-scored instance holding each point (-1: none)."""
    out = np.full(masks.shape[1], -1, np.int32)
    for i in np.argsort(scores, kind="stable"):  # ascending, so the best instance writes last
        out[masks[i]] = i
    return out


def write_scene(
    out_dir: str | os.PathLike,
    scene: str,
    instances: list[Instance3D],
    masks: np.ndarray,
    reference_points: np.ndarray,
    vocab: Vocabulary,
    *,
    scene_dir: str | os.PathLike | None = None,
    reference: str = "fused",
    faces: np.ndarray | None = None,
    extra: dict | None = None,
) -> dict[str, Path]:
    """Write all per-scene outputs; returns their paths by kind.

    masks: [I, P] bool, instance i on reference point p; reference_points: [P, 3] float32 metres;
    reference: "mesh" or "fused"; faces: [F, 3] mesh faces for the PLY (None: point cloud);
    extra: more top-level JSON entries (e.g. run statistics).
    """
    out_dir = Path(out_dir)
    reference_points = np.asarray(reference_points, np.float32)
    if masks.shape != (len(instances), len(reference_points)):
        raise ValueError(f"masks must be [{len(instances)}, {len(reference_points)}], got {masks.shape}")
    # The index `<scene>.txt` goes first and comes back last: a run killed while writing leaves no index naming
    # mask files of two different runs (readers take a scene without its index as not written).
    (out_dir / f"{scene}.txt").unlink(missing_ok=True)
    preds = predicted_instances(instances, masks, vocab)
    details = [
        {
            "views": i.views,
            "box": i.box.tolist(),
            "track_id": int(i.id),
            "points": int(m.sum()),
            "label_votes": {k: round(float(v), 4) for k, v in sorted(i.label_votes.items(), key=lambda kv: -kv[1])},
        }
        for i, m in zip(instances, masks)
    ]
    npz_path = out_dir / f"{scene}_instances.npz"
    owner = instance_of_point(masks, np.array([i.score for i in instances]))
    buf = io.BytesIO()
    np.savez_compressed(buf, points=reference_points, instance_of_point=owner)
    atomic_write_bytes(npz_path, buf.getvalue())
    colors = np.full((len(reference_points), 3), 90, np.uint8)
    palette = instance_colors(len(instances))
    colors[owner >= 0] = palette[owner[owner >= 0]]
    ply_path = out_dir / f"{scene}_instances.ply"
    write_ply(
        ply_path, Mesh(reference_points, np.zeros((0, 3)) if faces is None else faces, colors, {"instance": owner})
    )
    scene_json = {
        "scene_dir": None if scene_dir is None else str(Path(scene_dir).resolve()),
        "reference": reference,
        "instances_npz": npz_path.name,
        **(extra or {}),
    }
    txt = write_predictions(out_dir, scene, preds, vocab, details, scene_json)
    json_path = out_dir / f"{scene}.json"
    return {"predictions": txt, "json": json_path, "npz": npz_path, "ply": ply_path}


@dataclass
class SceneInstances:
    name: str
    instances: list[Instance3D]
    scene_dir: Path | None  # the RGB-D scene folder the predictions were made from, if recorded


def scene_names(out_dir: str | os.PathLike) -> list[str]:
    """Scenes in an output folder: every `<scene>.json` with a `<scene>_instances.npz` beside it."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"{out_dir}: no such output folder")
    return sorted(p.stem for p in out_dir.glob("*.json") if (out_dir / f"{p.stem}_instances.npz").exists())


def load_instances(out_dir: str | os.PathLike, scene: str | None = None) -> SceneInstances:
    """Instances of `scene` (or of the only scene in `out_dir`)."""
    out_dir = Path(out_dir)
    names = scene_names(out_dir)
    if scene is None:
        if len(names) != 1:
            found = ", ".join(names) if names else "none"
            raise ValueError(
                f"{out_dir}: expected one scene (<scene>.json + <scene>_instances.npz), found {found}; pass a scene "
                "name"
            )
        scene = names[0]
    elif scene not in names:
        raise FileNotFoundError(
            f"{out_dir}: no {scene}.json with {scene}_instances.npz (scenes: {', '.join(names) or 'none'})"
        )
    json_path, npz_path = out_dir / f"{scene}.json", out_dir / f"{scene}_instances.npz"
    try:
        document = read_json(json_path)
        entries = document["instances"]
    except (ValueError, KeyError, TypeError) as err:
        reason = str(err).split(": ", 1)[-1] if isinstance(err, ValueError) else err
        raise ValueError(f"{json_path}: not a predictions JSON with an 'instances' list ({reason})") from err
    points, owner = read_instances_npz(npz_path)
    points, owner = np.asarray(points, np.float32), np.asarray(owner, np.int64)
    if owner.size and owner.max() >= len(entries):
        raise ValueError(
            f"{npz_path}: instance_of_point refers to instance {owner.max()} but {json_path.name} has {len(entries)}"
        )
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(len(entries) + 1))
    instances = []
    for k, entry in enumerate(entries):
        pts = points[order[bounds[k] : bounds[k + 1]]]
        if len(pts) == 0 and entry.get("box") is not None:
            box = np.asarray(entry["box"], np.float32)
            pts = np.stack([box[:3] - box[3:] / 2, box[:3] + box[3:] / 2])
        label = entry.get("label")
        instances.append(
            Instance3D(
                id=int(entry.get("track_id", k)),
                points=pts,
                label_votes={str(a): float(b) for a, b in (entry.get("label_votes") or {}).items()},
                score=float(entry.get("score", 1.0)),
                label=label,
                label_score=float(entry.get("label_score", 1.0 if label else 0.0)),
            )
        )
    scene_dir = document.get("scene_dir")
    return SceneInstances(scene, instances, Path(scene_dir) if scene_dir else None)
