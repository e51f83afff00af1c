"""Run one method on one scene in its own process, so its peak memory is its own.

`python -m benchmarks.worker --method NAME --scene DIR --masks DIR --out PRED_DIR --stats FILE --repeats N`
writes the predictions (benchmark format) and a JSON of timings and memory.
"""

from __future__ import annotations

import argparse
import json
import sys

from benchmarks.measure import measure
from benchmarks.methods import METHODS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", required=True, choices=sorted(METHODS))
    parser.add_argument("--scene", required=True)
    parser.add_argument("--masks", required=True)
    parser.add_argument("--out", required=True, help="prediction folder (benchmark format)")
    parser.add_argument("--stats", required=True, help="JSON file for timings and memory")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from tracklift.data.scene import open_scene
    from tracklift.eval import write_predictions
    from tracklift.io.atomic import atomic_write_text
    from tracklift.vocab import load_vocabulary

    scene = open_scene(args.scene)
    method = METHODS[args.method]
    instances, stats = measure(lambda: method(scene, args.masks), args.repeats)
    write_predictions(args.out, scene.name, instances, load_vocabulary("scannet200"))
    frames = len(scene.stream)
    stats.update(
        frames=frames,
        fps=frames / stats["median_s"] if stats["median_s"] > 0 else float("inf"),
        instances=len(instances),
    )
    atomic_write_text(args.stats, json.dumps(stats, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
