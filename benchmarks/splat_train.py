"""Gaussian training speed on the CPU rasterizer: `python -m benchmarks.splat_train [--quick]`.

Two measurements on one synthetic room (`tracklift.synth`, 160×120, no sensor noise):

* PSNR vs wall time: the default `TrainConfig`, initialised from the fused depth points as
  `train_from_scene` does, trained in segments (`stop_at=` + `resume=True`, which continues
  bit-identically); the held-out PSNR (every 8th view) is scored between segments. The clock is
  initialisation plus the training clock of `train_gaussians` (`metrics["seconds"]`), so the scoring between
  segments is not counted. Also: when the target PSNR was first reached, seconds per step of each segment
  against its Gaussian count, and the process's max RSS (tracemalloc would only see Python objects, not
  torch tensors, and would slow the timed loop).
* Time per training step vs Gaussian count: the trained model resampled to N Gaussians (a seeded subset,
  or all of them plus seeded duplicates), one step on one training view = rasterize + L1/SSIM loss +
  backward, median of timed repeats after a warm-up (`benchmarks.measure`). Tiled (tile 8, as training)
  against the baseline in the same process: the same rasterizer untiled (one tile covering the image, so
  every visible Gaussian is evaluated at every pixel; results do not depend on the tile). Memory per setting
  is the peak of live torch tensor bytes during one extra step, from the profiler's allocation events
  (max RSS never goes down within a process, so it cannot separate settings). Untiled settings whose
  estimated peak exceeds the suite's budget are skipped and reported as such.

Writes `benchmarks/results/<suite>.json` (`"kind": "splat_train"`) and regenerates BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.markdown import fmt
from benchmarks.measure import machine, machine_line, max_rss_mb, measure

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Peak torch bytes of an untiled step per (padded pixel × visible Gaussian): measured 38-39 at 140-480
# visible Gaussians (float32 log α, α, T, w, boolean masks, their gradients), rounded up so that the skip
# errs on the safe side.
UNTILED_BYTES_PER_ELEMENT = 48


@dataclass(frozen=True)
class SplatTrainSuite:
    """seed, frames, width, height: the synthetic room. iterations: training steps (None = the TrainConfig
    default); segment: steps between held-out evaluations. target_psnr (dB) within budget_seconds: the
    accuracy goal checked in the report. counts: Gaussian counts of the step timing; repeats: timed steps
    per setting after one warm-up; tile: the tiled setting; untiled_budget_gb: untiled settings estimated
    above this peak are skipped. resample_seed: the subset / duplicates of the trained model."""

    name: str
    seed: int = 0
    frames: int = 48
    width: int = 160
    height: int = 120
    iterations: int | None = None
    segment: int = 100
    target_psnr: float = 25.0
    budget_seconds: float = 600.0
    counts: tuple[int, ...] = (1000, 2000, 5000, 10_000, 20_000, 40_000)
    repeats: int = 5
    tile: int = 8
    untiled_budget_gb: float = 4.0
    resample_seed: int = 0


FULL = SplatTrainSuite("splat_train")
QUICK = SplatTrainSuite("splat_train_quick", frames=16, iterations=60, segment=20, counts=(300, 1000), repeats=2)


def prepare_scene(cache: Path, suite: SplatTrainSuite) -> Path:
    """Generate (once; cached) the room and return its folder."""
    from tracklift.synth import SynthConfig, generate_scene

    scene_dir = cache / f"room{suite.seed}_{suite.frames}f_{suite.width}x{suite.height}"
    if not (scene_dir / ".complete").exists():
        synth = SynthConfig(
            seed=suite.seed,
            frames=suite.frames,
            width=suite.width,
            height=suite.height,
            depth_noise=False,
            color_noise=0.0,
        )
        generate_scene(scene_dir, synth, progress=False)
        (scene_dir / ".complete").touch()
    return scene_dir


def first_reaching(checkpoints: list[dict], target: float) -> dict | None:
    """The earliest checkpoint ({"seconds", "psnr_holdout", ...}, in training order) at or above `target` dB."""
    return next((c for c in checkpoints if c["psnr_holdout"] >= target), None)


def train_curve(scene_dir: Path, out_dir: Path, suite: SplatTrainSuite, progress: bool = True):
    """Train from scratch in segments of `suite.segment` steps, scoring the held-out views after each.

    Returns (final Gaussians, cameras, images [H, W, 3] uint8, result dict: config, checkpoints
    [{step, seconds, gaussians, psnr_holdout, psnr_train}], final metrics, seconds_to_target, RSS).
    """
    from tracklift.data.scene import open_scene
    from tracklift.splat.render.camera import Camera
    from tracklift.splat.train import TrainConfig, train_gaussians
    from tracklift.splat.train.init import init_from_rgbd

    config = TrainConfig() if suite.iterations is None else TrainConfig(iterations=suite.iterations)
    frames = list(open_scene(scene_dir).stream)
    cams = [Camera.from_frame(f) for f in frames]
    images = [f.color for f in frames]
    depths = [f.depth for f in frames]
    rss_before = max_rss_mb()
    started = time.perf_counter()
    init = init_from_rgbd(frames, config.init, config.sh_degree, config.seed)
    init_seconds = time.perf_counter() - started
    checkpoints = []
    # Step 0 (resume=False: a fresh run even if an older checkpoint is lying in out_dir) scores the seeding.
    for stop in sorted({0, *range(suite.segment, config.iterations, suite.segment), config.iterations}):
        g, m = train_gaussians(
            cams, images, config, out_dir, init=init, depths=depths, resume=stop > 0, stop_at=stop, progress=progress
        )
        checkpoints.append(
            {
                "step": m["iterations"],
                "seconds": init_seconds + m["seconds"],
                "gaussians": m["gaussians"],
                "psnr_holdout": m["psnr_holdout"],
                "psnr_train": m["psnr_train"],
            }
        )
        c = checkpoints[-1]
        print(
            f"step {c['step']:5d}  {c['seconds']:7.1f} s  {c['gaussians']:6d} Gaussians  "
            f"held-out {c['psnr_holdout']:.2f} dB  train {c['psnr_train']:.2f} dB",
            flush=True,
        )
    hit = first_reaching(checkpoints, suite.target_psnr)
    result = {
        "config": asdict(config),
        "views": len(cams),
        "holdout_views": m["holdout_views"],
        "init_seconds": init_seconds,
        "checkpoints": checkpoints,
        "final": m,
        "seconds_to_target": None if hit is None else hit["seconds"],
        "rss_before_mb": rss_before,
        "max_rss_mb": max_rss_mb(),
    }
    return g, cams, images, result


def resample(g, n: int, seed: int):
    """Exactly `n` Gaussians from `g`: a seeded subset when n <= g.n, else all of them plus seeded duplicates
    (a duplicate costs the rasterizer the same as a new Gaussian at that place)."""
    import torch

    if n < 1 or g.n < 1:
        raise ValueError(f"resample needs n >= 1 and a non-empty model, got n={n}, model of {g.n}")
    rng = np.random.default_rng(seed)
    if n <= g.n:
        idx = np.sort(rng.choice(g.n, n, replace=False))
    else:
        idx = np.concatenate([np.arange(g.n), np.sort(rng.choice(g.n, n - g.n, replace=True))])
    return g.index(torch.from_numpy(idx))


def torch_peak_mb(fn) -> float:
    """Peak of live torch tensor bytes (MiB) allocated during `fn()`, above what was live before, from the
    profiler's CPU allocation events (every tensor allocation and free of the c10 CPU allocator)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events() if e.name() == "[memory]")
    return max(itertools.accumulate((b for _, b in events), initial=0)) / 2**20


def step_cost(g, cam, image, suite: SplatTrainSuite, progress: bool = True) -> dict:
    """Time and torch peak memory of one training step per Gaussian count of `suite.counts`, tiled vs untiled.

    g: the model to resample (Gaussians); cam: the view (Camera); image: [H, W, 3] uint8 target of `cam`.
    Returns {"view", "model_gaussians", "rows": [{"gaussians", "visible", "tiled": {...}, "untiled": {...}}]}
    with `benchmarks.measure` timings (seconds) plus "loss" and "torch_peak_mb" per setting, or "skipped".
    """
    import torch

    from tracklift.splat.render.rasterizer import project, rasterize
    from tracklift.splat.train import TrainConfig
    from tracklift.splat.train.losses import photometric_loss

    lam = TrainConfig().ssim_lambda
    target = torch.as_tensor(image).float() / 255.0
    untiled = max(cam.width, cam.height)
    padded_pixels = untiled * untiled
    rows = []
    for n in tqdm(suite.counts, desc="step cost", disable=not progress):
        model = resample(g, n, suite.resample_seed).requires_grad_()
        with torch.no_grad():
            visible = int((project(model, cam).radii > 0).sum())

        def step(tile: int) -> float:
            out = rasterize(model, cam, tile=tile)
            loss = photometric_loss(out.color, target, lam)
            loss.backward()
            # Freed here, not at the next step's start, so that a profiled step sees its own gradients
            # allocated and freed (a free of a block allocated before profiling is not attributable).
            for p in model.parameters():
                p.grad = None
            return float(loss.detach())

        row = {"gaussians": n, "visible": visible}
        estimate_gb = UNTILED_BYTES_PER_ELEMENT * padded_pixels * visible / 2**30
        for key, tile in (("tiled", suite.tile), ("untiled", untiled)):
            if key == "untiled" and estimate_gb > suite.untiled_budget_gb:
                row[key] = {"tile": tile, "skipped": f"estimated peak {estimate_gb:.1f} GB > budget"}
                continue
            loss, timing = measure(lambda: step(tile), suite.repeats)
            row[key] = {"tile": tile, "loss": loss, **timing, "torch_peak_mb": torch_peak_mb(lambda: step(tile))}
        row["untiled"]["estimated_peak_mb"] = estimate_gb * 1024
        rows.append(row)
        t, u = row["tiled"], row["untiled"]
        print(
            f"{n:6d} Gaussians ({visible} visible): tile {t['tile']} {1000 * t['median_s']:.0f} ms "
            f"{t['torch_peak_mb']:.0f} MB; untiled "
            + (u["skipped"] if "skipped" in u else f"{1000 * u['median_s']:.0f} ms {u['torch_peak_mb']:.0f} MB"),
            flush=True,
        )
    return {"view": cam.name, "model_gaussians": g.n, "rows": rows}


def markdown_section(doc: dict) -> str:
    """The splat-training section of BENCHMARKS.md from a results document."""
    s, tr, sc = doc["suite"], doc["train"], doc["step_cost"]
    cfg = tr["config"]
    load = doc["load_average"]
    hit = tr["seconds_to_target"]
    reached = f"reached after {hit:.0f} s" if hit is not None else "not reached"
    lines = [
        f"## Suite `{s['name']}` (Gaussian training speed)",
        "",
        f"Room seed {s['seed']}, {tr['views']} views of {s['width']}×{s['height']} (every "
        f"{cfg['holdout_every']}th held out: {tr['holdout_views']} views), default `TrainConfig` "
        f"({cfg['iterations']} steps, tile {cfg['tile']}, SH degree {cfg['sh_degree']}, at most "
        f"{cfg['densify']['max_gaussians']} Gaussians), initialised from the fused depth points. Recorded "
        f"{doc['date']} ({machine_line(doc['machine'])}); load average {load['start'][0]:.2f} at the start, "
        f"{load['end'][0]:.2f} at the end (2 shared cores: other work inflates the times).",
        "",
        f"Held-out PSNR vs wall time (seconds: initialisation {tr['init_seconds']:.2f} s + the training clock, "
        "which includes one checkpoint save and load per segment; scoring between segments not counted). "
        f"Target {s['target_psnr']:g} dB within {s['budget_seconds']:.0f} s: **{reached}**.",
        "",
        "| step | seconds | Gaussians | s/step since previous row | held-out PSNR dB | train PSNR dB |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    prev = None
    for c in tr["checkpoints"]:
        rate = None if prev is None else (c["seconds"] - prev["seconds"]) / max(c["step"] - prev["step"], 1)
        lines.append(
            f"| {c['step']} | {c['seconds']:.1f} | {c['gaussians']} | {fmt(rate, 3)} | "
            f"{c['psnr_holdout']:.2f} | {c['psnr_train']:.2f} |"
        )
        prev = c
    final = tr["final"]
    lines += [
        "",
        f"Final: {final['gaussians']} Gaussians, {final['seconds']:.0f} s training, "
        f"{final['seconds_per_iteration']:.3f} s/step on average; process max RSS {tr['max_rss_mb']:.0f} MB "
        f"({tr['rss_before_mb']:.0f} MB before initialisation).",
        "",
        f"Time per training step vs Gaussian count: training view `{sc['view']}`, rasterize + L1/SSIM loss + backward, "
        f"median of {s['repeats']} after a warm-up; the trained model ({sc['model_gaussians']} Gaussians) "
        "subsampled or duplicated (seeded). Baseline in the same process: the same rasterizer untiled (one "
        "tile over the image: every visible Gaussian at every pixel). Memory: peak live torch tensor bytes "
        "during one step (profiler allocation events). Equal losses confirm that tiling does not change the "
        "result.",
        "",
        "| Gaussians | visible | tiled ms | tiled torch peak MB | untiled ms | untiled torch peak MB | "
        "untiled / tiled time | loss tiled | loss untiled |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sc["rows"]:
        t, u = r["tiled"], r["untiled"]
        if "skipped" in u:
            untiled_cells = f"skipped (est. {u['estimated_peak_mb'] / 1024:.0f} GB) | – | – | {t['loss']:.5f} | –"
        else:
            untiled_cells = (
                f"{1000 * u['median_s']:.0f} | {u['torch_peak_mb']:.0f} | "
                f"{u['median_s'] / t['median_s']:.1f}× | {t['loss']:.5f} | {u['loss']:.5f}"
            )
        lines.append(
            f"| {r['gaussians']} | {r['visible']} | {1000 * t['median_s']:.0f} | "
            f"{t['torch_peak_mb']:.0f} | {untiled_cells} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.splat_train", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"the small suite ({QUICK.name!r})")
    parser.add_argument("--iterations", type=int, help="training steps (default: the suite's)")
    parser.add_argument("--counts", help="comma-separated Gaussian counts of the step timing")
    parser.add_argument("--cache", default=str(HERE / ".cache" / "splat_train"))
    parser.add_argument("--results", default=str(HERE / "results"))
    parser.add_argument("--markdown", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args(argv)

    import torch

    # As in benchmarks.trace3d: the rasterizer's small tensors gain nothing from intra-op threads, which
    # contend with other processes on a shared 2-core machine (TrainConfig.threads = 1 for the same reason).
    torch.set_num_threads(1)
    suite = QUICK if args.quick else FULL
    if args.iterations:
        suite = replace(suite, iterations=args.iterations)
    if args.counts:
        suite = replace(suite, counts=tuple(int(c) for c in args.counts.split(",")))
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    scene_dir = prepare_scene(cache, suite)
    g, cams, images, train = train_curve(scene_dir, cache / f"{scene_dir.name}_{suite.name}_model", suite)
    view = 1  # the first training view (view 0 is held out)
    costs = step_cost(g, cams[view], images[view], suite)
    doc = {
        "kind": "splat_train",
        "suite": asdict(suite),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {**machine(), "torch": torch.__version__, "torch_threads": 1},
        "load_average": {"start": list(load_start), "end": list(os.getloadavg())},
        "train": train,
        "step_cost": costs,
    }
    from benchmarks.run import record

    record(doc, Path(args.results) / f"{suite.name}.json", args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
