"""Write a segmented scene: ScanNet benchmark files + JSON, an instances .npz, a PLY coloured by instance.

`<out>/<scene>.txt`, `pred_mask/…`, `<out>/<scene>.json` come from `tracklift.eval.write_predictions`; the
JSON additionally records `scene_dir`, the reference points used and the .npz path, so queries and
classification can reopen the scene. `<out>/<scene>_instances.npz` holds `points` [P, 3] float32 (the
reference points: mesh vertices or the fused map) and `instance_of_point` [P] int32 (index into the JSON's
instances, -1 = none; where instances overlap the higher-scored one wins).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

from tracklift.io.atomic import atomic_write_bytes, atomic_write_text
from tracklift.io.pictures import instance_colors
from tracklift.io.ply import Mesh, write_ply
from tracklift.core.instance import Instance3D
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


def instance_of_point(masks: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """masks: [I, P] bool; scores: [I] -> [P] int32, the highest-scored instance holding each point (-1: none)."""
    out = np.full(masks.shape[1], -1, np.int32)
    for i in np.argsort(scores, kind="stable"):  # ascending, so the best instance writes last
        out[masks[i]] = i
    return out


def write_scene(out_dir: str | os.PathLike, scene: str, instances: list[Instance3D], masks: np.ndarray,
                reference_points: np.ndarray, vocab: Vocabulary, *, scene_dir: str | os.PathLike | None = None,
                reference: str = "fused", faces: np.ndarray | None = None, extra: dict | None = None) -> dict[str, Path]:
    """Write all per-scene outputs; returns their paths by kind.

    masks: [I, P] bool, instance i on reference point p; reference_points: [P, 3] float32 metres;
    reference: "mesh" or "fused"; faces: [F, 3] mesh faces for the PLY (None: point cloud);
    extra: more top-level JSON entries (e.g. run statistics).
    """
    from tracklift.eval import PredictedInstance, write_predictions

    out_dir = Path(out_dir)
    reference_points = np.asarray(reference_points, np.float32)
    if masks.shape != (len(instances), len(reference_points)):
        raise ValueError(f"masks must be [{len(instances)}, {len(reference_points)}], got {masks.shape}")
    label_ids = [instance_label_id(i, vocab) for i in instances]
    preds = [PredictedInstance(m, lid, i.score) for m, lid, i in zip(masks, label_ids, instances)]
    details = [
        {"views": i.views, "box": i.box.tolist(), "track_id": int(i.id), "points": int(m.sum()),
         "label_votes": {k: round(float(v), 4) for k, v in sorted(i.label_votes.items(), key=lambda kv: -kv[1])}}
        for i, m in zip(instances, masks)
    ]
    txt = write_predictions(out_dir, scene, preds, vocab, details)
    npz_path = out_dir / f"{scene}_instances.npz"
    owner = instance_of_point(masks, np.array([i.score for i in instances]))
    buf = io.BytesIO()
    np.savez_compressed(buf, points=reference_points, instance_of_point=owner)
    atomic_write_bytes(npz_path, buf.getvalue())
    json_path = out_dir / f"{scene}.json"
    document = json.loads(json_path.read_text())
    document.update({"scene_dir": None if scene_dir is None else str(Path(scene_dir).resolve()),
                     "reference": reference, "instances_npz": npz_path.name, **(extra or {})})
    atomic_write_text(json_path, json.dumps(document, indent=1, allow_nan=False))
    colors = np.full((len(reference_points), 3), 90, np.uint8)
    palette = instance_colors(len(instances))
    colors[owner >= 0] = palette[owner[owner >= 0]]
    ply_path = out_dir / f"{scene}_instances.ply"
    write_ply(ply_path, Mesh(reference_points, np.zeros((0, 3)) if faces is None else faces, colors,
                             {"instance": owner}))
    return {"predictions": txt, "json": json_path, "npz": npz_path, "ply": ply_path}
