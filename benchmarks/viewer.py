"""Load time of the web viewer on a 300-frame scan: `python -m benchmarks.viewer [--frames N] [--screenshot PNG]`.

One synthetic room (`tracklift synth`, 640×480, sensor noise on), 2D masks through the `mild` corruption
preset, segmented by `tracklift segment` with its defaults (fused tracker, handcrafted features, predictions
over the room's mesh). Then, in one process:

* server side: reading the outputs (`load_segmented`: JSON, instances .npz, mesh PLY, growth history) — the
  baseline — and building the whole viewer on a running server (`open_viewer`: the same plus per-instance
  meshes, boxes, labels, cameras and GUI), median of timed repeats after a warm-up, each on a fresh server;
* browser side: headless Chromium (SwiftShader WebGL, no GPU) from navigating to the viewer until the
  screenshot shows the instance colours, and then until a typed query's highlight is on screen (the first
  query loads the MiniLM text model); median over `--repeats` fresh browsers;
* sizes: the growth history file against the instances .npz and the PLY.

Writes `benchmarks/results/viewer.json` (`"kind": "viewer"`) and regenerates BENCHMARKS.md; `--screenshot`
also saves the last screenshot after the query (the README's docs/viewer.png).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.measure import machine, machine_line

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
QUERY = "something to sit on"


def tracklift(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "tracklift.cli", *args], check=True, stdout=subprocess.DEVNULL)


def prepare(cache: Path, frames: int, seed: int) -> Path:
    """Generate, mask and segment the room once (cached); returns the output folder."""
    room, masks, out = cache / f"room{seed}_{frames}f", cache / f"masks{seed}_{frames}f", cache / f"out{seed}_{frames}f"
    if not (room / ".complete").exists():
        tracklift("synth", str(room), "--frames", str(frames), "--seed", str(seed), "--quiet")
        (room / ".complete").touch()
    if not (masks / ".complete").exists():
        tracklift("synth-masks", str(room), "--out", str(masks), "--preset", "mild", "--quiet")
        (masks / ".complete").touch()
    if not (out / ".complete").exists():
        tracklift("segment", str(room), "--out", str(out), "--masks", str(masks), "--pictures", "0")
        (out / ".complete").touch()
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_side(out: Path, repeats: int) -> dict:
    from benchmarks.measure import measure
    from tracklift.view.cli import open_viewer
    from tracklift.view.outputs import load_segmented
    from tracklift.view.server import start_server

    _, read = measure(lambda: load_segmented(out), repeats)

    def build():
        server = start_server(None, free_port())
        try:
            return open_viewer(out, server)
        finally:
            server.stop()

    viewer, built = measure(build, repeats)
    output = viewer.output
    return {
        "read_outputs_s": read["median_s"],
        "build_viewer_s": built["median_s"],
        "read_runs_s": read["seconds"],
        "build_runs_s": built["seconds"],
        "max_rss_mb": built["max_rss_mb"],
        "instances": len(output.entries),
        "points": len(output.points),
        "faces": 0 if output.faces is None else len(output.faces),
        "steps": output.history.steps,
    }


def browser_side(out: Path, repeats: int, screenshot: Path | None) -> dict:
    import numpy as np

    from tracklift.outputs.pictures import instance_colors
    from tracklift.view.cli import open_viewer
    from tracklift.view.headless import Browser, colour_pixels, hue_pixels
    from tracklift.view.segmented import HIGHLIGHT
    from tracklift.view.server import start_server

    first, query = [], []
    for run in range(repeats):
        port = free_port()
        server = start_server(None, port)
        try:
            viewer = open_viewer(out, server)
            palette = instance_colors(len(viewer.output.entries))
            with Browser(size=(1280, 800), timeout=120) as browser:
                start = time.perf_counter()
                browser.open(f"http://127.0.0.1:{port}")
                while True:  # until at least three instance colours are on screen (rendering lightens them)
                    image = browser.screenshot()
                    if sum(colour_pixels(image[:, :-360], c, tolerance=60) > 50 for c in palette) >= 3:
                        break
                    if time.perf_counter() - start > 300:
                        raise TimeoutError("the viewer never showed instance colours")
                first.append(time.perf_counter() - start)
                # Lit meshes shade the highlight: recognise it by hue (tight: an instance colour is 3 hue
                # units away), in the scene area, against the count before the query.
                before = hue_pixels(browser.screenshot()[:, :-360], HIGHLIGHT, hue_tolerance=2)
                start = time.perf_counter()
                browser.type_into("query", QUERY)
                while hue_pixels(browser.screenshot()[:, :-360], HIGHLIGHT, hue_tolerance=2) < before + 300:
                    if time.perf_counter() - start > 300:
                        raise TimeoutError("the query's highlight never showed")
                query.append(time.perf_counter() - start)
                if screenshot is not None and run == repeats - 1:
                    browser.evaluate(
                        "document.querySelectorAll('.mantine-Notification-root, "
                        "[class*=Notification]').forEach(e => e.remove())"
                    )
                    time.sleep(1.0)
                    import cv2

                    cv2.imwrite(str(screenshot), np.ascontiguousarray(browser.screenshot()[..., ::-1]))
        finally:
            server.stop()
    return {
        "first_colours_s": statistics.median(first),
        "first_colours_runs_s": first,
        "query_highlight_s": statistics.median(query),
        "query_runs_s": query,
        "query": QUERY,
    }


def markdown_section(doc: dict) -> str:
    from benchmarks.markdown import fmt

    s, b, z = doc["server"], doc["browser"], doc["sizes"]
    return "\n".join(
        [
            "## Web viewer load time (`tracklift view`)",
            "",
            f"One synthetic room (`tracklift synth`, seed {doc['seed']}, {doc['frames']} frames of 640×480, `mild` "
            "masks), "
            f"segmented with `tracklift segment` defaults: {s['instances']} instances over {s['points']} mesh vertices "
            f"({s['faces']} faces), {s['steps']} history steps. Recorded {doc['date']} on "
            f"{machine_line(doc['machine'])}; "
            "medians of timed runs after a warm-up (browser: fresh headless Chromium each run, SwiftShader WebGL, no "
            "GPU).",
            "",
            "| what | seconds |",
            "|---|---:|",
            f"| read the outputs (baseline: JSON, instances .npz, PLY, history) | {fmt(s['read_outputs_s'], 2)} |",
            "| build the viewer on the server (the same + meshes, boxes, labels, cameras, GUI) | "
            f"{fmt(s['build_viewer_s'], 2)} |",
            f"| browser: navigate → instance colours on screen | {fmt(b['first_colours_s'], 1)} |",
            f"| browser: type “{b['query']}” → highlight on screen (first query loads MiniLM) | "
            f"{fmt(b['query_highlight_s'], 1)} |",
            "",
            f"Growth history file {fmt(z['history_kb'], 0)} KB beside the instances .npz "
            f"({fmt(z['instances_npz_kb'], 0)} KB) "
            f"and the PLY ({fmt(z['ply_kb'], 0)} KB).",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.viewer", description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--screenshot", help="save the viewer after the query here (PNG)")
    parser.add_argument("--cache", default=str(HERE / ".cache" / "viewer"))
    parser.add_argument("--results", default=str(HERE / "results"))
    parser.add_argument("--markdown", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args(argv)

    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    out = prepare(cache, args.frames, args.seed)
    name = next(p.stem for p in out.glob("*.json"))
    doc = {
        "kind": "viewer",
        "frames": args.frames,
        "seed": args.seed,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "load_average_start": list(os.getloadavg()),
        "server": server_side(out, args.repeats),
        "browser": browser_side(out, args.repeats, Path(args.screenshot) if args.screenshot else None),
        "sizes": {
            "history_kb": (out / f"{name}_history.npz").stat().st_size / 1024,
            "instances_npz_kb": (out / f"{name}_instances.npz").stat().st_size / 1024,
            "ply_kb": (out / f"{name}_instances.ply").stat().st_size / 1024,
        },
        "load_average_end": list(os.getloadavg()),
    }
    from benchmarks.run import record

    record(doc, Path(args.results) / "viewer.json", args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
