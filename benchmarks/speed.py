"""Whole-command speed beside the naive baseline, and cost against stream length.

`python -m benchmarks.speed [--quick] [--only compare|streams] [--repeats N] [--lengths 300,1000,5000]`

1. **One scan at ScanNet sizes** (`scan` realism of the synthetic instrument: 300 frames, 640×480 depth,
   1296×968 JPEG colour, drifting poses, a reconstructed mesh), 2D masks from its ground truth through the `mild`
   preset with vocabulary names (a segmenter prompted with the vocabulary answers with its names). The default
   `tracklift segment SCENE --masks M --out O` and the naive baseline (`benchmarks.naive_outputs`: per-frame
   back-projection and greedy voxel matching, the same outputs over the mesh) run alternately as commands, each
   `--repeats` times (the fastest run counts: other processes only ever add time); wall seconds and peak RSS
   include start-up, and so do their CPU seconds (user + system over all threads). Accuracy of both
   (class-agnostic AP against the scene's GT) shows nothing was traded. Lifting + tracking in frames/s comes two
   ways: from `segment`'s own stage timings (inside the command, sharing the cores with reading and describing)
   and alone (`lift_track_alone`: frames read and described beforehand). The time to merely read the inputs
   (`read_floor`, one and two threads) shows how much of the baseline's time any method spends before computing.
2. **Long streams**: the same scan's frames played back and forth to 300, 1,000 and 5,000 frames (symlinks,
   no copies), `tracklift segment` on each: frames/s and peak RSS against length (a table and a PNG plot), and
   class-agnostic AP against the room's GT — a longer stream revisits the same objects, so it should find them
   as well as the short one does.

Records `benchmarks/results/speed.json`, the plot `docs/speed_streams.png` and the section of BENCHMARKS.md.
`--only compare` or `--only streams` runs one part and keeps the other part of the existing results file; each
part records its own date, machine load and settings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from benchmarks.markdown import fmt
from benchmarks.measure import machine, machine_line, run_measured
from benchmarks.scenes import build_cached

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@dataclass(frozen=True)
class SpeedSuite:
    name: str
    seed: int
    frames: int
    width: int
    height: int
    objects: int
    realism: str
    preset: str
    lengths: tuple[int, ...]
    repeats: int


FULL = SpeedSuite(
    "speed",
    seed=5,
    frames=300,
    width=640,
    height=480,
    objects=20,
    realism="scan",
    preset="mild",
    lengths=(300, 1000, 5000),
    repeats=2,
)
QUICK = SpeedSuite(
    "speed_quick",
    seed=5,
    frames=20,
    width=160,
    height=120,
    objects=8,
    realism="exact",
    preset="mild",
    lengths=(20, 60),
    repeats=1,
)


def ensure_scene(cache: Path, suite: SpeedSuite) -> Path:
    from tracklift.synth import SynthConfig, generate_scene

    config = SynthConfig(
        seed=suite.seed,
        frames=suite.frames,
        width=suite.width,
        height=suite.height,
        objects=suite.objects,
        realism=suite.realism,
    )
    name = f"speed_s{suite.seed}_f{suite.frames}_{suite.width}x{suite.height}_o{suite.objects}_{suite.realism}"
    return build_cached(cache / "scenes" / name, lambda folder: generate_scene(folder, config, progress=False))


def ensure_masks(cache: Path, scene: Path, preset: str) -> Path:
    """`preset` corruption with vocabulary names only (`--synonyms 0`)."""
    from tracklift.cli import main

    def make(folder: Path) -> None:
        if (
            main(["synth-masks", str(scene), "--out", str(folder), "--preset", preset, "--synonyms", "0", "--quiet"])
            != 0
        ):
            raise RuntimeError(f"tracklift synth-masks failed on {scene}")

    return build_cached(cache / "masks" / f"{scene.name}_{preset}_vocab", make)


def played_back(index: int, frames: int) -> int:
    """The source frame of stream position `index` when `frames` frames are played forward, then backward, …
    (so the camera path stays continuous)."""
    period = 2 * frames - 2 if frames > 1 else 1
    k = index % period
    return k if k < frames else period - k


def looped_scene(scene: Path, masks: Path, length: int, target: Path) -> tuple[Path, Path]:
    """A ScanNet-layout scene (and masks folder) of `length` frames made of symlinks to `scene`'s frames played
    back and forth; intrinsics and mesh linked as they are. Returns (scene folder, masks folder)."""
    frames = sum(1 for _ in (scene / "depth").glob("*.png"))
    out_scene, out_masks = target / scene.name, target / "masks"
    for folder in ("color", "depth", "pose"):
        (out_scene / folder).mkdir(parents=True, exist_ok=True)
    out_masks.mkdir(parents=True, exist_ok=True)
    for item in scene.iterdir():
        if item.is_file() or item.name == "intrinsic":
            (out_scene / item.name).symlink_to(item.resolve())
    for i in range(length):
        src = played_back(i, frames)
        for folder, suffix in (("color", ".jpg"), ("depth", ".png"), ("pose", ".txt")):
            (out_scene / folder / f"{i}{suffix}").symlink_to((scene / folder / f"{src}{suffix}").resolve())
        for suffix in (".png", ".json"):
            if (masks / f"{src}{suffix}").exists():
                (out_masks / f"{i}{suffix}").symlink_to((masks / f"{src}{suffix}").resolve())
    return out_scene, out_masks


def segment_command(scene: Path, masks: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "tracklift.cli", "segment", str(scene), "--masks", str(masks), "--out", str(out)]


def naive_command(scene: Path, masks: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "benchmarks.naive_outputs", str(scene), "--masks", str(masks), "--out", str(out)]


def agnostic_ap(out: Path, scene: Path) -> dict:
    from benchmarks.run import evaluate_run

    result = evaluate_run(out, [scene])["agnostic"]
    return {"ap": result["ap"], "ap50": result["ap50"], "ap25": result["ap25"]}


def lift_track_fps(out: Path, scene: str, frames: int) -> float | None:
    path = out / f"{scene}_timings.json"
    if not path.exists():
        return None
    seconds = json.loads(path.read_text())["seconds"]
    busy = seconds.get("lift", 0.0) + seconds.get("track", 0.0)
    return frames / busy if busy > 0 else None


def read_floor(scene: Path, masks: Path, workers: int = 2, repeats: int = 3) -> float:
    """Seconds to read every frame of `scene` and its masks through tracklift's readers, `workers` threads in this
    process (no start-up, nothing computed), the fastest of `repeats`: what any method reading these inputs
    spends at least, on this machine's cores."""
    from concurrent.futures import ThreadPoolExecutor

    from tracklift.data.scene import open_scene
    from tracklift.segment2d.precomputed import read_masks

    stream = open_scene(scene).stream

    def read(index: int) -> None:
        frame = stream[index]
        read_masks(masks, frame.name, (frame.height, frame.width))

    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(read, range(len(stream))))
        best = min(best, time.perf_counter() - start)
    return best


def lift_track_alone(scene: Path, masks: Path, batch: int = 50, repeats: int = 3) -> float:
    """Frames/s of lifting + tracking alone, as `segment` runs them by default (`Mapper.add_frame` with the
    handcrafted features): frames are read and described ahead, `batch` at a time (so memory stays small), and
    only the mapping of each batch is timed, in this thread with nothing else running; the fastest of `repeats`.
    In the whole command the same work shares the two cores with reading and describing (its stage timings)."""
    from tracklift.data.scene import open_scene
    from tracklift.features.handcrafted import HandcraftedFeatures
    from tracklift.pipeline.mapper import Mapper
    from tracklift.segment2d.precomputed import read_masks

    stream = open_scene(scene).stream
    describe = HandcraftedFeatures()
    best = float("inf")
    for _ in range(repeats):
        mapper, busy = Mapper(features=describe), 0.0
        for start in range(0, len(stream), batch):
            ready = []
            for frame in (stream[i] for i in range(start, min(start + batch, len(stream)))):
                frame_masks = read_masks(masks, frame.name, (frame.height, frame.width))
                ready.append((frame, frame_masks, describe(frame, frame_masks) if len(frame_masks) else None))
            began = time.perf_counter()
            for frame, frame_masks, features in ready:
                mapper.add_frame(frame, frame_masks, features)
            busy += time.perf_counter() - began
        best = min(best, busy)
    return len(stream) / best


def compare(scene: Path, masks: Path, work: Path, repeats: int) -> dict:
    """`segment` and the naive baseline alternately, `repeats` times each; the fastest run of each counts."""
    runs: dict[str, list[dict]] = {"segment": [], "naive": []}
    for repeat in range(repeats):
        for method, command in (("naive", naive_command), ("segment", segment_command)):
            out = work / method
            measured = run_measured(command(scene, masks, out), work / "logs" / f"{method}_{repeat}.log")
            if measured["returncode"] != 0:
                raise RuntimeError(f"{method} failed (see {work / 'logs' / f'{method}_{repeat}.log'})")
            runs[method].append(measured)
            print(
                f"{method:>8} run {repeat + 1}: {measured['seconds']:.1f} s, {measured['max_rss_mb']:.0f} MB",
                flush=True,
            )
    frames = sum(1 for _ in (scene / "depth").glob("*.png"))
    result = {}
    for method, measured in runs.items():
        best = min(measured, key=lambda m: m["seconds"])
        result[method] = {
            "seconds": best["seconds"],
            "all_seconds": [m["seconds"] for m in measured],
            "cpu_seconds": best["cpu_seconds"],
            "max_rss_mb": best["max_rss_mb"],
            "fps": frames / best["seconds"],
            **agnostic_ap(work / method, scene),
        }
    result["segment"]["lift_track_fps"] = lift_track_fps(work / "segment", scene.name, frames)
    result["ratio"] = result["segment"]["seconds"] / result["naive"]["seconds"]
    result["read_seconds"] = {"1 thread": read_floor(scene, masks, 1), "2 threads": read_floor(scene, masks, 2)}
    result["lift_track_alone_fps"] = lift_track_alone(scene, masks)
    return result


def streams(scene: Path, masks: Path, work: Path, lengths: tuple[int, ...]) -> list[dict]:
    rows = []
    for length in lengths:
        folder = work / f"loop_{length}"
        if not (folder / ".complete").exists():
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
            looped_scene(scene, masks, length, folder)
            (folder / ".complete").touch()
        looped, looped_masks = folder / scene.name, folder / "masks"
        out = work / f"loop_{length}_out"
        measured = run_measured(segment_command(looped, looped_masks, out), work / "logs" / f"loop_{length}.log")
        if measured["returncode"] != 0:
            raise RuntimeError(f"segment on {length} frames failed (see {work / 'logs' / f'loop_{length}.log'})")
        rows.append(
            {
                "frames": length,
                "seconds": measured["seconds"],
                "cpu_seconds": measured["cpu_seconds"],
                "fps": length / measured["seconds"],
                "lift_track_fps": lift_track_fps(out, scene.name, length),
                "max_rss_mb": measured["max_rss_mb"],
                # the looped scan is the same room: its GT scores every length alike
                **agnostic_ap(out, scene),
            }
        )
        print(
            f"stream of {length} frames: {measured['seconds']:.1f} s, {rows[-1]['fps']:.1f} frames/s, "
            f"{measured['max_rss_mb']:.0f} MB, agnostic AP {rows[-1]['ap']:.3f}",
            flush=True,
        )
    return rows


def plot_streams(rows: list[dict], path: Path, size: tuple[int, int] = (720, 360)) -> None:
    """Two panels drawn with OpenCV: frames/s and peak RSS (MB) against stream length (log-scaled x)."""
    import cv2

    from tracklift.io.png import write_png

    width, height = size
    image = np.full((height, width, 3), 255, np.uint8)
    lengths = np.array([r["frames"] for r in rows], np.float64)
    panels = [
        ("frames/s", [r["fps"] for r in rows], (40, 90, 200)),
        ("peak RSS MB", [r["max_rss_mb"] for r in rows], (200, 80, 40)),
    ]
    lo, hi = np.log10(lengths.min()), np.log10(lengths.max())
    for k, (title, values, color) in enumerate(panels):
        x0, x1, y0, y1 = k * width // 2 + 60, (k + 1) * width // 2 - 20, 40, height - 50
        top = max(values) * 1.2 if max(values) > 0 else 1.0
        cv2.rectangle(image, (x0, y0), (x1, y1), (0, 0, 0), 1)
        cv2.putText(image, title, (x0, y0 - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(image, f"{top:.0f}", (x0 - 50, y0 + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(image, "0", (x0 - 15, y1), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        points = []
        for n, v in zip(lengths, values):
            x = x0 + (x1 - x0) * ((np.log10(n) - lo) / (hi - lo) if hi > lo else 0.5)
            points.append((int(round(x)), int(round(y1 - (y1 - y0) * v / top))))
            cv2.putText(
                image,
                f"{int(n)}",
                (points[-1][0] - 14, y1 + 18),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.4,
                (0, 0, 0),
                1,
                cv2.LINE_AA,
            )
        cv2.polylines(image, [np.array(points, np.int32)], False, color, 2, cv2.LINE_AA)
        for p in points:
            cv2.circle(image, p, 4, color, -1, cv2.LINE_AA)
        cv2.putText(
            image,
            "frames in the stream",
            (x0 + 40, height - 10),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    write_png(path, image)


def markdown_section(doc: dict) -> str:
    c, suite = doc["compare"], doc["suite"]
    seg, naive = c["segment"], c["naive"]
    lines = [
        f"## Speed: the whole `segment` command beside the naive baseline (`{suite['name']}`)",
        "",
        f"One synthetic scan in `{suite['realism']}` realism at ScanNet sizes ({suite['frames']} frames, "
        f"{suite['width']}×{suite['height']} depth, {doc['color_size']} JPEG colour, a mesh of "
        f"{doc['mesh_vertices']} vertices), `{suite['preset']}` masks with vocabulary names. Both are whole commands "
        f"(start-up, reading, writing the outputs over the mesh), the fastest of {c.get('repeats', suite['repeats'])} "
        f"alternating run(s); AP is class-agnostic against the scene's GT. Recorded {c.get('date', doc['date'])} on "
        f"{machine_line(doc['machine'])} (`python -m benchmarks.speed`).",
        "",
        "| command | seconds | CPU seconds | frames/s | lift + track frames/s | peak RSS MB | agn. AP | agn. AP50 | "
        "agn. AP25 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in (("naive baseline", naive), ("`tracklift segment`", seg)):
        lines.append(
            f"| {name} | {fmt(r['seconds'], 1)} | {fmt(r.get('cpu_seconds'), 1)} | {fmt(r['fps'], 1)} | "
            f"{fmt(r.get('lift_track_fps'), 1)} | {fmt(r['max_rss_mb'], 0)} | {fmt(r['ap'])} | {fmt(r['ap50'])} | "
            f"{fmt(r['ap25'])} |"
        )
    lines += ["", f"`segment` takes **{c['ratio']:.2f}×** the naive baseline's time."]
    if seg.get("cpu_seconds") and naive.get("cpu_seconds"):
        cores, half = doc["machine"]["cpus"], naive["seconds"] / 2
        lines.append(
            f"CPU seconds are user + system time over all of a command's threads. `segment` used "
            f"{seg['cpu_seconds']:.1f}, {seg['cpu_seconds'] / naive['cpu_seconds']:.1f}× the baseline's "
            f"{naive['cpu_seconds']:.1f}. Finishing in half the baseline's time ({half:.1f} s) on {cores} cores "
            f"leaves at most {cores * half:.1f} CPU seconds, even with every core busy from start-up to the last write."
        )
    if c.get("lift_track_alone_fps"):
        lines.append(
            f"Lifting + tracking alone (`segment`'s defaults, frames read and described beforehand, one thread with "
            f"nothing beside it) runs at {c['lift_track_alone_fps']:.1f} frames/s; the table's column is the same work "
            "inside the command, sharing the two cores with reading and describing."
        )
    if c.get("read_seconds"):
        one, two = c["read_seconds"]["1 thread"], c["read_seconds"]["2 threads"]
        lines.append(
            f"Reading the inputs alone (every frame and its masks through the same readers, in one process, nothing "
            f"computed) takes {one:.1f} s in one thread and {two:.1f} s in two: half the baseline's time, "
            f"{c['naive']['seconds'] / 2:.1f} s, leaves {c['naive']['seconds'] / 2 - two:.1f} s for start-up, "
            "lifting, describing, tracking and writing."
        )
    lines += [
        "",
        "Long streams (the scan played back and forth; `tracklift segment`, whole command, default "
        f"`--trace-budget`; recorded {doc.get('streams_date', doc['date'])}):",
        "",
        "| frames | seconds | CPU seconds | frames/s | lift + track frames/s | peak RSS MB | agn. AP | agn. AP50 | "
        "agn. AP25 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in doc["streams"]:
        lines.append(
            f"| {r['frames']} | {fmt(r['seconds'], 1)} | {fmt(r.get('cpu_seconds'), 1)} | {fmt(r['fps'], 1)} | "
            f"{fmt(r.get('lift_track_fps'), 1)} | {fmt(r['max_rss_mb'], 0)} | "
            f"{fmt(r.get('ap'))} | {fmt(r.get('ap50'))} | {fmt(r.get('ap25'))} |"
        )
    if doc.get("plot"):
        lines += ["", f"![frames/s and peak RSS against stream length]({doc['plot']})"]
    return "\n".join(lines)


def previous_parts(path: Path, parts: tuple[str, ...]) -> dict:
    """The results document at `path` with the parts about to be measured removed (empty when there is none);
    a part that is neither measured now nor recorded before is an error."""
    doc = json.loads(path.read_text()) if path.exists() else {}
    for part in ("compare", "streams"):
        if part in parts:
            doc.pop(part, None)
        elif part not in doc:
            raise SystemExit(f"{path} holds no '{part}' part to keep: run without --only first")
    # documents written before --only kept each part's date and repeats at the top only
    if "compare" in doc:
        doc["compare"].setdefault("date", doc.get("date"))
        doc["compare"].setdefault("repeats", doc.get("suite", {}).get("repeats"))
    if "streams" in doc:
        doc.setdefault("streams_date", doc.get("date"))
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny scene (checks the harness)")
    parser.add_argument(
        "--only", choices=("compare", "streams"), help="run one part, keep the other from the existing results"
    )
    parser.add_argument("--repeats", type=int, help="alternating runs of each command (default 2)")
    parser.add_argument("--lengths", help="stream lengths, comma-separated (default 300,1000,5000)")
    parser.add_argument("--cache", default=str(HERE / ".cache"), help="generated scenes, masks and outputs")
    parser.add_argument("--results", default=str(HERE / "results"), help="folder of <suite>.json results")
    parser.add_argument("--markdown", default=str(ROOT / "BENCHMARKS.md"), help="page regenerated from all results")
    args = parser.parse_args(argv)
    suite = QUICK if args.quick else FULL
    if args.repeats is not None or args.lengths:
        from dataclasses import replace

        suite = replace(
            suite,
            repeats=args.repeats or suite.repeats,
            lengths=tuple(int(n) for n in args.lengths.split(",")) if args.lengths else suite.lengths,
        )
    import cv2

    from tracklift.io.ply import read_ply

    started = time.time()
    cache = Path(args.cache)
    scene = ensure_scene(cache, suite)
    masks = ensure_masks(cache, scene, suite.preset)
    work = cache / "speed" / suite.name
    results = Path(args.results) / f"{suite.name}.json"
    parts = ("compare", "streams") if args.only is None else (args.only,)
    doc = previous_parts(results, parts)
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    doc.update(
        {
            "kind": "speed",
            "suite": asdict(suite),
            "machine": machine(),
            "mesh_vertices": len(read_ply(next(scene.glob("*_vh_clean_2.ply"))).vertices),
            "color_size": "×".join(map(str, cv2.imread(str(scene / "color" / "0.jpg")).shape[1::-1])),
        }
    )
    load = list(os.getloadavg())
    if "compare" in parts:
        doc["compare"] = {**compare(scene, masks, work, suite.repeats), "repeats": suite.repeats, "date": date}
        doc["date"], doc["load_average_start"] = date, load
    if "streams" in parts:
        doc["streams"] = streams(scene, masks, work, suite.lengths)
        doc["streams_date"], doc["streams_load_average_start"] = date, load
        if not args.quick:
            doc["plot"] = "docs/speed_streams.png"
            plot_streams(doc["streams"], ROOT / doc["plot"])
    doc["wall_seconds"] = round(time.time() - started, 1)
    from benchmarks.run import record

    record(doc, results, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
