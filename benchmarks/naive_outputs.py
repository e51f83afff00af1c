"""The naive baseline on a scan without a mesh, written as `tracklift segment` writes its outputs.

`python -m benchmarks.naive_outputs SCENE --masks DIR --out OUT [--stride N] [--max-frames N]`

Over the scene's mesh vertices when it has a mesh (as `tracklift segment` writes by default); real scans here
have none, so there its instances are written over the centres of its own voxel map (what `segment` does with
its fused map):
`OUT/<scene>.txt` + `pred_mask/`, `OUT/<scene>.json` (with `instances_npz` and the run's frame count) and
`OUT/<scene>_instances.npz` (`points` [P, 3] float32, metres, world frame). Box evaluation reads these.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.naive_outputs", description=__doc__.splitlines()[0])
    parser.add_argument("scene")
    parser.add_argument("--masks", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--max-frames", type=int)
    args = parser.parse_args(argv)

    from benchmarks.naive_baseline import NaiveConfig, naive_baseline, naive_map, objects_to_instances
    from tracklift.data.scene import open_scene
    from tracklift.eval import write_predictions
    from tracklift.io.atomic import atomic_write_bytes
    from tracklift.io.ply import read_ply
    from tracklift.lift.voxels import key_centres
    from tracklift.vocab import load_vocabulary

    config = NaiveConfig()
    vocab = load_vocabulary(config.vocabulary)
    scene = open_scene(args.scene, stride=args.stride, max_frames=args.max_frames)
    out = Path(args.out)
    if scene.mesh_path is not None:
        preds, points = naive_baseline(scene, args.masks, config), read_ply(scene.mesh_path).vertices
    else:
        lifted, assigned, keys, owners = naive_map(scene, args.masks, config)
        # the voxel map's own centres are the reference points: every voxel's object is its owner
        preds = objects_to_instances(lifted, assigned, owners, dict(zip(vocab.names, vocab.ids)))
        points = key_centres(keys, config.voxel)
    buf = io.BytesIO()
    np.savez_compressed(buf, points=np.asarray(points, np.float32))
    atomic_write_bytes(out / f"{scene.name}_instances.npz", buf.getvalue())
    run = {"frames": len(scene.stream) - len(scene.stream.skipped), "instances": len(preds)}
    write_predictions(
        out,
        scene.name,
        preds,
        vocab,
        scene_json={
            "instances_npz": f"{scene.name}_instances.npz",
            "reference": "mesh" if scene.mesh_path else "naive voxel map",
            "run": run,
        },
    )
    print(json.dumps(run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
