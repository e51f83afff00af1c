"""The results document (benchmarks/results/trace3d.json) and its markdown table."""

from __future__ import annotations

import time
from dataclasses import asdict

import numpy as np

from benchmarks.measure import machine, machine_line
from benchmarks.trace3d.suite import BASELINE, Trace3DSuite


def markdown_table(doc: dict) -> str:
    """The Trace3D section of BENCHMARKS.md from a results document."""
    s = doc["suite"]
    lines = [
        f"## Suite `{s['name']}` (Trace3D ablation)",
        "",
        f"{len(s['seeds'])} room(s) (seeds {', '.join(map(str, s['seeds']))}), {s['frames']} frames of "
        f"{s['width']}×{s['height']}, {s['objects']} objects, Gaussians trained {s['iterations']} steps; "
        f"inconsistency: merge {s['merge_rate']}, split {s['split_rate']}, coarse {s['coarse_rate']}; "
        f"correction split_below {s.get('split_below')}, split/prune keep_unresolved {s.get('keep_unresolved')}, "
        f"split_axes {s.get('split_axes', 1)}, "
        f"refit {s.get('refit_iterations', 0)} steps. Recorded {doc['date']} ({machine_line(doc['machine'])}). Mean "
        "over rooms; "
        "seconds include tracing, correction, split/prune, lifting and scoring (shared CPU).",
        "",
        "| variant | 2D mask mIoU | 3D extraction mIoU | Δ vs no GIT | instances | Gaussians | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, row in doc["mean"].items():
        delta = row["extraction_miou_3d"] - doc["mean"][BASELINE[row["lifting"]]]["extraction_miou_3d"]
        lines.append(
            f"| ({key}) {row['variant']} | {100 * row['mask_miou_2d']:.1f} | {100 * row['extraction_miou_3d']:.1f} | "
            f"{'' if key == 'o' else f'{100 * delta:+.1f}'} | {row['instances']:.1f} | {row['gaussians']:.0f} | "
            f"{row['seconds']:.0f} |"
        )
    held_out = [str(seed) for seed in s["seeds"] if seed not in s.get("tuned_on", ())]
    if s.get("tuned_on") and held_out:
        mean = {v: float(np.mean([doc["scenes"][k][v]["extraction_miou_3d"] for k in held_out])) for v in "adeh"}
        lines.append(
            f"\nSettings were chosen on rooms {', '.join(map(str, s['tuned_on']))}; on the held-out rooms "
            f"({', '.join(held_out)}) alone: closed form (a) {100 * mean['a']:.1f} → (d) {100 * mean['d']:.1f} "
            f"({100 * (mean['d'] - mean['a']):+.1f}), contrastive (e) {100 * mean['e']:.1f} → (h) "
            f"{100 * mean['h']:.1f} ({100 * (mean['h'] - mean['e']):+.1f})."
        )
    gains = [
        100 * (room["d"]["extraction_miou_3d"] - room["a"]["extraction_miou_3d"])
        for room in doc["scenes"].values()
        if "a" in room and "d" in room
    ]
    if len(gains) > 1:
        lines.append(
            f"\nPer room, (d) − (a) spans {min(gains):+.1f} to {max(gains):+.1f} points; standard error of the "
            f"mean {np.std(gains, ddof=1) / np.sqrt(len(gains)):.1f}."
        )
    lines.append(
        "\nΔ: against the same lifting without GIT ((a) for closed form, (e) for contrastive). (o) lifts the "
        "exact masks: the most any mask correction can give with these Gaussians and this lifting."
        f"\n\nTraining: held-out PSNR {doc['psnr_holdout']:.2f} dB (mean). "
        "Paper (Replica, contrastive lifting): 62.5 → 72.1."
    )
    return "\n".join(lines)


def results_doc(suite: Trace3DSuite, per_scene: dict, psnrs: dict) -> dict:
    """The results document of the rooms done so far: per room and variant, and means over rooms (of the
    variants every room has; a resumed run may still miss some)."""
    mean = {}
    for key, first in per_scene[next(iter(per_scene))].items():
        rows = [rooms[key] for rooms in per_scene.values() if key in rooms]
        if len(rows) < len(per_scene):
            continue
        mean[key] = {"variant": first["variant"], "lifting": first["lifting"]}
        for m in ("mask_miou_2d", "extraction_miou_3d", "instances", "gaussians", "seconds"):
            mean[key][m] = float(np.mean([r[m] for r in rows]))
    return {
        "kind": "trace3d",
        "suite": asdict(suite),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {**machine(), "torch_threads": 1},
        "psnr_holdout": float(np.mean(list(psnrs.values()))),
        "psnr_holdout_per_room": {str(k): v for k, v in psnrs.items()},
        "mean": mean,
        "scenes": {str(k): v for k, v in per_scene.items()},
    }
