"""Real scans scored against their 3D GT boxes: `python -m benchmarks.real --data DIR`.

Looks in DIR for the ScanNet scans of `--scenes` (mmdetection3d `posed_images/<scene>/`, GT boxes from the
`scannet_infos_*.pkl` beside them, read with the restricted unpickler) and for a 7-Scenes sequence (no GT:
frames/s and instance count only). Per scan, each method of METHODS runs as its own process (its peak RSS
is its own; seconds are the whole command's wall time, start-up and model loading included):

* `naive`   the naive baseline (`benchmarks.naive_outputs`), on box masks;
* `segment` `tracklift segment` with its defaults, on box masks;
* `rgbd`    `tracklift segment --segmenter rgbd`: the weight-free RGB-D segmenter, no masks.

Box masks (`benchmarks.box_masks`) are *proxy* 2D masks rendered from the GT boxes themselves: `exact`
(the boxes' footprint in each frame) and the synthetic corruption presets `mild` and `hard` over them.
Methods on box masks therefore see the GT layout through its boxes — their AP is an upper-bound-style
check of lifting and association on real depth and poses, not open-world segmentation quality; `rgbd`
sees no GT. Scores: box AP@0.25 / AP@0.5 (VoteNet / mmdetection3d protocol, `tracklift.eval.boxes`) of
each instance's bounding box in the GT's axis-aligned frame, class-agnostic and per class (18 ScanNet
classes), per scan and pooled over the ScanNet scans. Writes `benchmarks/results/real.json` and the real
scans section of BENCHMARKS.md.

Adding a method is one line in METHODS: `Method(args=("--segmenter", "geo3d"), masks=False)` runs
`tracklift segment --segmenter geo3d`; `Method(args=(...tracker options...))` a tracker configuration on
box masks.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

from benchmarks.markdown import fmt
from benchmarks.measure import machine, machine_line, run_measured

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCANNET_SCENES = ("scene0113_00", "scene0448_01")
HELD_OUT = "scene0000_00"  # the acceptance scan: never read here
SEVENSCENES_NAME = "7scenes-redkitchen"  # the 7-Scenes sequence this project has (redkitchen)


@dataclasses.dataclass(frozen=True)
class Method:
    """args: options appended to the method's command; masks: runs once per box-mask preset (False: once,
    without masks; such methods also run on scans without GT). command: builds the argv prefix from
    (scene folder, masks folder or None, output folder); default `tracklift segment`."""

    args: tuple[str, ...] = ()
    masks: bool = True
    command: Callable[[Path, Path | None, Path], list[str]] | None = None


def segment_command(scene: Path, masks: Path | None, out: Path) -> list[str]:
    cmd = [sys.executable, "-m", "tracklift.cli", "segment", str(scene), "--out", str(out), "--pictures", "0"]
    return cmd + (["--masks", str(masks)] if masks is not None else [])


def naive_command(scene: Path, masks: Path | None, out: Path) -> list[str]:
    if masks is None:
        raise ValueError("the naive baseline needs masks")
    return [sys.executable, "-m", "benchmarks.naive_outputs", str(scene), "--masks", str(masks), "--out", str(out)]


METHODS: dict[str, Method] = {
    "naive": Method(command=naive_command),
    "segment": Method(),
    "rgbd": Method(args=("--segmenter", "rgbd"), masks=False),
    "geo3d": Method(args=("--segmenter", "geo3d"), masks=False),
}
MASK_PRESETS = ("exact", "mild", "hard")


@dataclasses.dataclass(frozen=True)
class Scan:
    """name: how results call it; path: the scene folder (its name is the scene name in the outputs);
    gt: its GT box file (None: no GT)."""

    name: str
    path: Path
    gt: Path | None

    @property
    def scene(self) -> str:
        return self.path.resolve().name


def _find_dirs(root: Path, name: str, depth: int = 5) -> list[Path]:
    """Folders called `name` up to `depth` levels under root, sorted."""
    found = []
    for level in range(depth):
        found.extend(p for p in root.glob("/".join(["*"] * level + [name])) if p.is_dir())
    return sorted(found)


def find_scans(data: Path, scenes: tuple[str, ...], cache: Path, sevenscenes: bool = True) -> list[Scan]:
    """The ScanNet scans of `scenes` found under `data` (posed_images + GT from the infos pickles, converted
    into `cache/gt/`), then a 7-Scenes sequence when present."""
    from tracklift.data.formats.sevenscenes import detect as is_sevenscenes
    from tracklift.eval.box_gt import boxes_from_infos, write_scene_boxes

    if HELD_OUT in scenes:
        raise ValueError(f"{HELD_OUT} is the held-out acceptance scan: it is never benchmarked here")
    infos = sorted(p for p in data.rglob("scannet_infos_*.pkl"))
    scans = []
    for scene in scenes:
        folders = [p for p in _find_dirs(data, scene) if p.parent.name == "posed_images"]
        if not folders:
            print(f"{scene}: no posed_images/{scene} under {data}; skipped")
            continue
        if not infos:
            raise FileNotFoundError(f"{data}: no scannet_infos_*.pkl for the GT boxes of {scene}")
        gt = cache / "gt" / f"{scene}.json"
        write_scene_boxes(gt, boxes_from_infos(infos, scene))
        scans.append(Scan(scene, folders[0], gt))
    if sevenscenes:
        # only under a folder named for the dataset: 3DMatch and others store frames the 7-Scenes way too
        candidates = [
            p.parent
            for p in sorted(data.rglob("frame-000000.depth.png"))
            if any("7scenes" in part.lower().replace("-", "") for part in p.relative_to(data).parts)
            and is_sevenscenes(p.parent)
        ]
        if candidates:
            scans.append(Scan(SEVENSCENES_NAME, candidates[0], None))
    return scans


def masks_for(
    scan: Scan, presets: tuple[str, ...], frames: int, stride: int, cache: Path, seed: int
) -> dict[str, Path]:
    """The scan's box masks of each preset, generated once per scan, frame selection and seed: the missing
    presets in one pass over the frames, each into a scratch folder moved into place when complete."""
    from benchmarks.box_masks import write_box_masks
    from tracklift.data.scene import open_scene
    from tracklift.eval.box_gt import read_scene_boxes

    base = cache / "masks" / f"{scan.name}_f{frames}_s{stride}_m{seed}"
    missing = [p for p in presets if not (base / p / ".complete").exists()]
    if missing:
        scratch = {p: base / ".partial" / p for p in missing}
        for folder in [*scratch.values(), *(base / p for p in missing)]:
            shutil.rmtree(folder, ignore_errors=True)
        write_box_masks(
            open_scene(scan.path, stride=stride, max_frames=frames), read_scene_boxes(scan.gt), scratch, seed
        )
        for p, folder in scratch.items():
            (folder / ".complete").touch()
            folder.rename(base / p)
    return {p: base / p for p in presets}


def job_result(out: Path, scene: str, measured: dict) -> dict:
    """Frames, instances, seconds, frames/s and peak RSS of a finished job (from its output JSON)."""
    doc = json.loads((out / f"{scene}.json").read_text())
    frames = int(doc.get("run", {}).get("frames", 0))
    return {
        "frames": frames,
        "instances": len(doc["instances"]),
        "seconds": round(measured["seconds"], 2),
        "fps": frames / measured["seconds"] if measured["seconds"] > 0 else None,
        "max_rss_mb": round(measured["max_rss_mb"], 1),
    }


def box_scores(out: Path, gts: dict) -> dict:
    """Class-agnostic and class-wise box AP of the outputs in `out` for the scenes of `gts` (pooled)."""
    from tracklift.eval.box_pred import evaluate_box_outputs

    return {
        "agnostic": evaluate_box_outputs(str(out), gts, agnostic=True),
        "classes": evaluate_box_outputs(str(out), gts, agnostic=False),
    }


def run_benchmark(
    scans: list[Scan],
    methods: dict[str, Method],
    presets: tuple[str, ...],
    frames: int,
    stride: int,
    cache: Path,
    seed: int = 0,
) -> dict:
    """Every method on every scan (box-mask methods once per preset, on scans with GT); returns the
    results document (`benchmarks/results/real.json`)."""
    from tracklift.eval.box_gt import read_scene_boxes

    started = time.time()
    gts = {s.scene: read_scene_boxes(s.gt) for s in scans if s.gt is not None}
    masks = {s.name: masks_for(s, presets, frames, stride, cache, seed) for s in scans if s.gt is not None}
    frame_args = ["--stride", str(stride), "--max-frames", str(frames)]
    runs, pooled = [], []
    for name, method in methods.items():
        for preset in presets if method.masks else (None,):
            out = cache / "out" / name / (preset or "no-masks")
            shutil.rmtree(out, ignore_errors=True)
            done = []
            for scan in scans:
                if method.masks and scan.gt is None:
                    continue
                masks_dir = masks[scan.name][preset] if preset else None
                cmd = (method.command or segment_command)(scan.path, masks_dir, out) + list(method.args) + frame_args
                measured = run_measured(cmd, cache / "logs" / name / (preset or "no-masks") / f"{scan.name}.log")
                if measured["returncode"] != 0:
                    log = (cache / "logs" / name / (preset or "no-masks") / f"{scan.name}.log").read_text()
                    raise RuntimeError(f"{name} ({preset}) on {scan.name} failed:\n{log[-3000:]}")
                row = {"method": name, "masks": preset, "scan": scan.name, **job_result(out, scan.scene, measured)}
                if scan.gt is not None:
                    row.update(box_scores(out, {scan.scene: gts[scan.scene]}))
                    done.append(scan.scene)
                runs.append(row)
                print(_progress_line(row), flush=True)
            if done:
                pooled.append(
                    {"method": name, "masks": preset, "scans": done, **box_scores(out, {s: gts[s] for s in done})}
                )
    return {
        "kind": "real",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "wall_seconds": round(time.time() - started, 1),
        "machine": machine(),
        "settings": {
            "frames": frames,
            "stride": stride,
            "mask_presets": list(presets),
            "mask_seed": seed,
            "methods": {
                n: {
                    "args": list(m.args),
                    "masks": m.masks,
                    "command": "tracklift segment" if m.command is None else m.command.__name__,
                }
                for n, m in methods.items()
            },
        },
        "scans": {
            s.name: {
                "path": str(s.path),
                "scene": s.scene,
                "gt_boxes": None if s.gt is None else len(gts[s.scene].boxes),
            }
            for s in scans
        },
        "runs": runs,
        "pooled": pooled,
    }


def _progress_line(row: dict) -> str:
    scores = ""
    if "agnostic" in row:
        a, c = row["agnostic"]["all"], row["classes"]["all"]
        scores = f"  agn AP25 {fmt(a['ap25'])} AP50 {fmt(a['ap50'])}  mAP25 {fmt(c['ap25'])} mAP50 {fmt(c['ap50'])}"
    return (
        f"{row['scan']:>20} {row['method']:>8} {row['masks'] or '-':>6}: {row['instances']} instances, "
        f"{row['frames']} frames in {row['seconds']:.0f} s ({fmt(row['fps'], 2)} fps), {row['max_rss_mb']:.0f} MB"
        + scores
    )


def markdown_section(doc: dict) -> str:
    """The real-scans section of BENCHMARKS.md from a results document (see `run_benchmark`)."""
    st = doc["settings"]
    scans = ", ".join(
        f"`{n}` ({'%d GT boxes' % s['gt_boxes'] if s['gt_boxes'] is not None else 'no GT'})"
        for n, s in doc["scans"].items()
    )
    lines = [
        "## Real scans (3D GT boxes)",
        "",
        f"Scans: {scans}; up to {st['frames']} frames each at stride {st['stride']} (mmdetection3d posed_images "
        f"as they are; 7-Scenes colour JPEG + `camera-intrinsics.txt`). Box AP@0.25 / AP@0.5 (VoteNet / "
        f"mmdetection3d protocol, `tracklift.eval.boxes`) of each predicted instance's bounding box in the GT's "
        f"axis-aligned frame: class-agnostic, and mAP over the 18 ScanNet classes that have GT. **Masks "
        f"`exact`/`mild`/`hard` are box-derived proxy masks** (`benchmarks/box_masks.py`: pixels whose depth "
        f"point lies in a GT box, then the synthetic corruption presets), so methods on them see the GT layout; "
        f"`rgbd` uses no masks and no GT, and names no classes (its instances are `object`), so its class-wise "
        f"AP is 0 by construction. Seconds are each command's wall time (start-up and model loading "
        f"included), RSS its own peak. Recorded {doc['date']} on {machine_line(doc['machine'])} "
        f"(`python -m benchmarks.real`).",
        "",
        "| scan | method | masks | agn. AP25 | agn. AP50 | mAP25 | mAP50 | instances | frames | s | fps | max RSS MB |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in doc["runs"]:
        a = r.get("agnostic", {}).get("all", {})
        c = r.get("classes", {}).get("all", {})
        lines.append(
            f"| {r['scan']} | {r['method']} | {r['masks'] or '–'} | {fmt(a.get('ap25'))} | "
            f"{fmt(a.get('ap50'))} | {fmt(c.get('ap25'))} | {fmt(c.get('ap50'))} | {r['instances']} | "
            f"{r['frames']} | {fmt(r['seconds'], 0)} | {fmt(r['fps'], 2)} | {fmt(r['max_rss_mb'], 0)} |"
        )
    if doc["pooled"]:
        classes = [c for c, v in doc["pooled"][0]["classes"]["classes"].items() if v["gt"] > 0]
        lines += [
            "",
            f"Pooled over {', '.join(doc['pooled'][0]['scans'])}: per-class AP25 / AP50 (GT boxes in brackets).",
            "",
            "| method | masks | agn. AP25 | agn. AP50 | mAP25 | mAP50 | "
            + " | ".join(f"{c} ({doc['pooled'][0]['classes']['classes'][c]['gt']})" for c in classes)
            + " |",
            "|---|---|---:|---:|---:|---:|" + "---:|" * len(classes),
        ]
        for p in doc["pooled"]:
            a, c, per = p["agnostic"]["all"], p["classes"]["all"], p["classes"]["classes"]
            lines.append(
                f"| {p['method']} | {p['masks'] or '–'} | {fmt(a['ap25'])} | {fmt(a['ap50'])} | "
                f"{fmt(c['ap25'])} | {fmt(c['ap50'])} | "
                + " | ".join(f"{fmt(per[k]['ap25'], 2)} / {fmt(per[k]['ap50'], 2)}" for k in classes)
                + " |"
            )
    return "\n".join(lines)


def _subset(text: str | None, known, what: str) -> tuple[str, ...]:
    if not text:
        return tuple(known)
    chosen = tuple(x.strip() for x in text.split(",") if x.strip())
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise SystemExit(f"unknown {what} {unknown}; known: {', '.join(known)}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.real", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder holding posed_images/, scannet_infos_*.pkl, 7-Scenes")
    parser.add_argument("--scenes", default=",".join(SCANNET_SCENES), help="comma-separated ScanNet scenes")
    parser.add_argument("--no-7scenes", action="store_true", help="skip the 7-Scenes sequence")
    parser.add_argument("--frames", type=int, default=300, help="at most this many frames per scan")
    parser.add_argument("--stride", type=int, default=1, help="every N-th frame")
    parser.add_argument("--methods", help=f"comma-separated subset of: {', '.join(METHODS)}")
    parser.add_argument("--presets", help=f"box-mask presets, comma-separated subset of: {', '.join(MASK_PRESETS)}")
    parser.add_argument("--seed", type=int, default=0, help="seed of the mask corruption")
    parser.add_argument("--cache", default=str(HERE / ".cache" / "real"), help="GT, masks, outputs and logs")
    parser.add_argument("--results", default=str(HERE / "results"), help="folder of result files")
    parser.add_argument("--markdown", default=str(ROOT / "BENCHMARKS.md"), help="page regenerated from all results")
    args = parser.parse_args(argv)
    if args.frames < 1 or args.stride < 1:
        raise SystemExit("--frames and --stride must be ≥ 1")
    methods = {m: METHODS[m] for m in _subset(args.methods, METHODS, "method(s)")}
    presets = _subset(args.presets, MASK_PRESETS, "preset(s)")

    from benchmarks.run import record

    cache = Path(args.cache)
    scenes = tuple(s.strip() for s in args.scenes.split(",") if s.strip())
    scans = find_scans(Path(args.data), scenes, cache, sevenscenes=not args.no_7scenes)
    if not scans:
        raise SystemExit(f"no scans found under {args.data}")
    doc = run_benchmark(scans, methods, presets, args.frames, args.stride, cache, args.seed)
    record(doc, Path(args.results) / "real.json", args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
