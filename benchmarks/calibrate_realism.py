"""Calibrate the `scan` realism: sensor statistics of real RGB-D frames beside generated scenes.

    python -m benchmarks.calibrate_realism --data /work/data [--frames 40] [--seed 0]

Per source, over evenly spaced frames (registered colour, depth in metres, as `tracklift.data` reads them):

* holes: share of pixels without depth;
* depth noise against range: RMS residual of a plane fitted to each 8×8 block of back-projected pixels
  (blocks without holes or depth edges), median per depth bin; the fit of sigma = a + b z² over bins;
* flying pixels: among depth edges (two pixels 2 px either side of a pixel differ by > max(10 cm, 5 % z)),
  the share whose depth lies between them, more than a quarter of the jump from both, and off the slanted
  plane through them (inverse depth more than 10 % of the inverse jump from their mean);
* colour–depth edge offset: distance (depth pixels) from each depth-edge pixel to the nearest Canny edge of
  the registered colour; median and share within 1 px;
* pose consistency: consecutive frames' depth reprojected through their poses, |z residual| on surfaces
  both see (inliers < 10 cm): median, and the spread (std) of the per-pair mean residual, which pose error
  drives more than sensor noise.

Sources: ScanNet posed_images scene0113_00 and scene0448_01, 7-Scenes redkitchen (its colour is *not*
registered to depth, so its edge offset is an upper bound), and two generated rooms of the same seed: `exact`
(the baseline) and `scan`. scene0000_00 (held-out acceptance scan) is never read. Writes
benchmarks/results/realism_calibration.json and prints the table; BENCHMARKS.md renders it.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np

from benchmarks.measure import machine, machine_line

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCANNET_SCENES = ("scene0113_00", "scene0448_01")
HELD_OUT = "scene0000_00"
BLOCK = 8
BINS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0)  # metres
INLIER = 0.10  # metres, reprojection residuals beyond this are occlusions / moved content


def plane_residuals(depth: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RMS plane-fit residual (metres) and mean depth of each clean 8×8 block: two [B] float64 arrays."""
    h, w = (s - s % BLOCK for s in depth.shape)
    z = depth[:h, :w].astype(np.float64)
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    pts = np.stack([(u - K[0, 2]) * z / K[0, 0], (v - K[1, 2]) * z / K[1, 1], z], -1)

    def blocks(a: np.ndarray) -> np.ndarray:
        return (
            a.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK, *a.shape[2:])
            .swapaxes(1, 2)
            .reshape((h // BLOCK) * (w // BLOCK), BLOCK * BLOCK, *a.shape[2:])
        )

    zb, pb = blocks(z), blocks(pts)
    mean_z = zb.mean(axis=1)
    clean = (zb > 0).all(axis=1) & (zb.max(axis=1) - zb.min(axis=1) < 0.1 * np.maximum(mean_z, 1e-6))
    centred = pb[clean] - pb[clean].mean(axis=1, keepdims=True)
    smallest = np.linalg.svd(centred, compute_uv=False)[:, -1]
    return smallest / BLOCK, mean_z[clean]


def flying_share(depth: np.ndarray) -> tuple[int, int]:
    """(flying pixels, depth-edge pixels) along rows and columns, offsets of 2 px."""
    flying = edges = 0
    for z in (depth.astype(np.float64), depth.T.astype(np.float64)):
        a, p, b = z[:, :-4], z[:, 2:-2], z[:, 4:]
        valid = (a > 0) & (p > 0) & (b > 0)
        gap = np.abs(a - b)
        edge = valid & (gap > np.maximum(0.10, 0.05 * np.minimum(a, b)))
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        between = (p > lo + 0.25 * gap) & (p < hi - 0.25 * gap)
        # on a slanted plane inverse depth is affine in the pixel: a pixel on that line is surface, not mixture
        with np.errstate(divide="ignore", invalid="ignore"):  # holes (0) are excluded by `valid`
            inv_a, inv_p, inv_b = 1 / a, 1 / p, 1 / b
            off_plane = np.abs(inv_p - (inv_a + inv_b) / 2) > 0.1 * np.abs(inv_a - inv_b)
        flying += int((edge & between & off_plane).sum())
        edges += int(edge.sum())
    return flying, edges


def depth_edges(depth: np.ndarray) -> np.ndarray:
    """[H, W] bool: valid pixels with a valid 4-neighbour more than 5 % farther or nearer."""
    z = depth.astype(np.float64)
    edge = np.zeros(z.shape, bool)
    for axis in (0, 1):
        a, b = np.moveaxis(z, axis, 0)[:-1], np.moveaxis(z, axis, 0)[1:]
        jump = (a > 0) & (b > 0) & (np.abs(a - b) > 0.05 * np.minimum(a, b))
        e = np.moveaxis(edge, axis, 0)
        e[:-1] |= jump
        e[1:] |= jump
    return edge


def edge_offsets(color: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """[E] float32 distances (pixels) from depth-edge pixels to the nearest colour edge."""
    gray = cv2.GaussianBlur(cv2.cvtColor(color, cv2.COLOR_RGB2GRAY), (3, 3), 0)
    canny = cv2.Canny(gray, 40, 120) > 0
    if not canny.any():
        return np.zeros(0, np.float32)
    dist = cv2.distanceTransform((~canny).astype(np.uint8), cv2.DIST_L2, 5)
    return dist[depth_edges(depth)]


def reprojection(a, b) -> tuple[np.ndarray, float] | None:
    """|z residual| [N] of frame a's depth seen from frame b's pose and the mean signed inlier residual."""
    h, w = a.depth.shape
    v, u = np.nonzero(a.depth > 0)
    z = a.depth[v, u].astype(np.float64)
    cam = np.stack([(u - a.K[0, 2]) * z / a.K[0, 0], (v - a.K[1, 2]) * z / a.K[1, 1], z], 1)
    world = cam @ a.pose[:3, :3].T + a.pose[:3, 3]
    in_b = (world - b.pose[:3, 3]) @ b.pose[:3, :3]
    front = in_b[:, 2] > 0.1
    in_b = in_b[front]
    ub = np.round(b.K[0, 0] * in_b[:, 0] / in_b[:, 2] + b.K[0, 2]).astype(np.int64)
    vb = np.round(b.K[1, 1] * in_b[:, 1] / in_b[:, 2] + b.K[1, 2]).astype(np.int64)
    inside = (ub >= 0) & (ub < w) & (vb >= 0) & (vb < h)
    zb = b.depth[vb[inside], ub[inside]].astype(np.float64)
    residual = zb - in_b[inside, 2]
    residual = residual[(zb > 0) & (np.abs(residual) < INLIER)]
    if len(residual) < 1000:
        return None
    return np.abs(residual), float(residual.mean())


def measure(stream, frames: int, progress_label: str) -> dict:
    """The statistics of one source over `frames` evenly spaced frames (and their successors)."""
    from tqdm import tqdm

    n = len(stream)
    picks = np.unique(np.linspace(0, n - 2, min(frames, n - 1)).round().astype(int))
    holes, resid, mean_z, offsets, abs_res, biases = [], [], [], [], [], []
    flying = edges = 0
    for i in tqdm(picks, desc=progress_label, unit="frame"):
        try:
            f, g = stream[int(i)], stream[int(i) + 1]
        except Exception as err:  # a bad real frame is skipped and counted, as the pipeline does
            holes.append(np.nan)
            print(f"  skipped frame {i}: {err}")
            continue
        holes.append(float((f.depth == 0).mean()))
        r, z = plane_residuals(f.depth, f.K)
        resid.append(r)
        mean_z.append(z)
        fl, ed = flying_share(f.depth)
        flying, edges = flying + fl, edges + ed
        offsets.append(edge_offsets(f.color, f.depth))
        rep = reprojection(f, g)
        if rep is not None:
            abs_res.append(rep[0])
            biases.append(rep[1])
    resid, mean_z, offsets = np.concatenate(resid), np.concatenate(mean_z), np.concatenate(offsets)
    noise = {}
    centres, sigmas = [], []
    for lo, hi in zip(BINS[:-1], BINS[1:]):
        sel = (mean_z >= lo) & (mean_z < hi)
        med = float(np.median(resid[sel]) * 1000) if sel.sum() >= 30 else None
        noise[f"{lo:g}-{hi:g}m"] = {"median_mm": med, "blocks": int(sel.sum())}
        if med is not None:
            centres.append(float(np.median(mean_z[sel])))
            sigmas.append(med / 1000)
    fit = None
    if len(centres) >= 2:  # least squares sigma = a + b z²
        a, b = np.linalg.lstsq(np.stack([np.ones(len(centres)), np.square(centres)], 1), np.array(sigmas), rcond=None)[
            0
        ]
        fit = {"a_mm": float(a * 1000), "b_mm_per_m2": float(b * 1000)}
    abs_all = np.concatenate(abs_res) if abs_res else np.zeros(0)
    return {
        "frames": int(len(picks)),
        "holes": float(np.nanmean(holes)),
        "noise": noise,
        "noise_fit": fit,
        "flying_share": flying / edges if edges else None,
        "depth_edge_pixels_per_frame": edges / max(len(picks), 1),
        "edge_offset_median_px": float(np.median(offsets)) if len(offsets) else None,
        "edge_offset_within_1px": float((offsets <= 1.0).mean()) if len(offsets) else None,
        "reprojection_median_mm": float(np.median(abs_all) * 1000) if len(abs_all) else None,
        "reprojection_bias_std_mm": float(np.std(biases) * 1000) if len(biases) > 1 else None,
    }


def seven_scenes_stream(folder: Path):
    """7-Scenes frames stored as `frame-XXXXXX.color.jpg` (this copy's colour is JPEG) through RGBDStream."""
    from tracklift.data.camera import read_intrinsics_txt
    from tracklift.data.formats.sevenscenes import K as SEVEN_K
    from tracklift.data.stream import FrameRecord, RGBDStream, SensorSpec

    intr = folder / "camera-intrinsics.txt"
    K = read_intrinsics_txt(intr) if intr.is_file() else SEVEN_K
    stems = sorted(p.name[: -len(".color.jpg")] for p in folder.glob("frame-*.color.jpg"))
    records = [
        FrameRecord(s, folder / f"{s}.color.jpg", folder / f"{s}.depth.png", folder / f"{s}.pose.txt", K) for s in stems
    ]
    return RGBDStream(records, SensorSpec(depth_scale=1000.0, depth_invalid=65535))


def synthetic(cache: Path, seed: int, frames: int, realism: str) -> tuple[Path, float | None]:
    """The generated room and its generation time in seconds (None when an up-to-date copy was cached)."""
    from tracklift.synth import SynthConfig, generate_scene

    config = SynthConfig(seed=seed, frames=frames, realism=realism)
    folder = cache / f"calib_{realism}_s{seed}_f{frames}"
    meta = folder / "scene.json"
    wanted = json.loads(json.dumps(asdict(config)))
    if realism == "exact":  # exact scenes do not record the realism settings
        del wanted["realism"], wanted["scan"]
    # a cached room made with other defaults (the calibration's own subject) is made again
    if meta.is_file() and json.loads(meta.read_text())["config"] == wanted:
        return folder, None
    start = time.perf_counter()
    generate_scene(folder, config, progress=True)
    return folder, time.perf_counter() - start


def table(doc: dict) -> str:
    def f(x, d=1):
        return "–" if x is None else f"{x:.{d}f}"

    sources = doc["sources"]
    names = list(sources)
    rows = [
        ("holes (share of pixels)", lambda s: f(s["holes"], 3)),
        ("flying pixels / depth-edge pixels", lambda s: f(s["flying_share"], 3)),
        ("colour→depth edge offset, median px", lambda s: f(s["edge_offset_median_px"], 2)),
        ("depth edges within 1 px of a colour edge", lambda s: f(s["edge_offset_within_1px"], 3)),
        ("reprojection abs Δz median mm", lambda s: f(s["reprojection_median_mm"])),
        ("reprojection bias std mm (pose)", lambda s: f(s["reprojection_bias_std_mm"])),
        ("noise fit a mm", lambda s: f((s["noise_fit"] or {}).get("a_mm"), 2)),
        ("noise fit b mm/m²", lambda s: f((s["noise_fit"] or {}).get("b_mm_per_m2"), 2)),
    ]
    rows += [
        (f"plane residual {k}, mm", lambda s, k=k: f(s["noise"][k]["median_mm"], 2))
        for k in next(iter(sources.values()))["noise"]
    ]
    lines = ["| statistic | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    lines += [f"| {label} | " + " | ".join(fn(sources[n]) for n in names) + " |" for label, fn in rows]
    return "\n".join(lines)


def markdown_section(doc: dict) -> str:
    """The realism-calibration section of BENCHMARKS.md."""
    gen = doc["generation_seconds"]
    return "\n".join(
        [
            "## Realism calibration (`benchmarks/calibrate_realism.py`)",
            "",
            f"Sensor statistics of real frames beside generated rooms (seed {doc['seed']}, 640×480 depth): `exact` "
            f"is the baseline, `scan` the realistic-scan mode. {doc['frames']} evenly spaced frames per source; "
            "definitions in the script's docstring. 7-Scenes colour is not registered to its depth (edge offset is "
            f"an upper bound). Recorded {doc['date']} on {machine_line(doc['machine'])}.",
            f"Generation of the {doc['synthetic_frames']}-frame synthetic scenes: "
            + ", ".join(f"{k} {v:.1f} s" if v is not None else f"{k} cached" for k, v in gen.items())
            + (
                f" (1-min load average {doc['load_average']['start'][0]:.1f} on the shared machine)."
                if "load_average" in doc
                else "."
            ),
            "",
            table(doc),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.calibrate_realism", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", required=True, help="the data folder (holds data/scannet/posed_images/, 7scenes/data/)"
    )
    parser.add_argument("--frames", type=int, default=40, help="frames measured per source (default 40)")
    parser.add_argument("--synthetic-frames", type=int, default=60, help="frames of the generated scenes (default 60)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=str(HERE / ".cache" / "realism"))
    parser.add_argument("--results", default=str(HERE / "results"))
    parser.add_argument("--markdown", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args(argv)

    from tracklift.data.scene import open_scene

    data = Path(args.data)
    load_start = os.getloadavg()
    sources = {}
    for name in SCANNET_SCENES:
        assert name != HELD_OUT
        folder = data / "data" / "scannet" / "posed_images" / name
        if folder.is_dir():
            sources[f"ScanNet {name}"] = measure(open_scene(folder).stream, args.frames, name)
        else:
            print(f"{folder}: not found, skipped")
    seven = data / "7scenes" / "data"
    if seven.is_dir():
        sources["7-Scenes redkitchen"] = measure(seven_scenes_stream(seven), args.frames, "7scenes")
    cache = Path(args.cache)
    generation = {}
    for realism in ("exact", "scan"):
        folder, generation[realism] = synthetic(cache, args.seed, args.synthetic_frames, realism)
        sources[f"synth {realism}"] = measure(open_scene(folder).stream, args.frames, f"synth {realism}")
    doc = {
        "kind": "realism_calibration",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "seed": args.seed,
        "frames": args.frames,
        "synthetic_frames": args.synthetic_frames,
        "generation_seconds": generation,
        "load_average": {"start": list(load_start), "end": list(os.getloadavg())},
        "sources": sources,
    }
    from benchmarks.run import record

    record(doc, Path(args.results) / "realism_calibration.json", args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
