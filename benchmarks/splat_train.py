"""Gaussian training speed of the CPU rasterizer backends: `python -m benchmarks.splat_train [--quick]`.

One synthetic room (`tracklift.synth`, 160×120, no sensor noise); the default backend "cpu" (per-pixel numba
compositing, `splat/render/sparse_blend.py`) against the baseline in the same process, backend "torch" (the
previous rasterizer: dense tile batches of vectorised torch), and against the numbers recorded on 2026-11-22
before the "cpu" backend existed (`BEFORE`, constants: that run is gone, only its record is left).

* PSNR vs wall time, per backend: the default `TrainConfig` (only `backend` differs), initialised from the
  fused depth points as `train_from_scene` does, trained in segments (`stop_at=` + `resume=True`, which
  continues bit-identically); the held-out PSNR (every 8th view) is scored between segments. The clock is
  initialisation plus the training clock of `train_gaussians` (`metrics["seconds"]`), so the scoring between
  segments is not counted. Also: when the target PSNR was first reached, seconds per step of each segment
  against its Gaussian count, and the process's max RSS so far (it never goes down, so the second backend's
  includes the first's).
* Time per training step vs Gaussian count: the model trained with the default backend resampled to N
  Gaussians (a seeded subset, or all of them plus seeded duplicates), one step on one training view =
  rasterize + L1/SSIM loss + backward, median of timed repeats after a warm-up (`benchmarks.measure`), for
  each backend on the same model; their losses must agree within `LOSS_RTOL` (the "cpu" kernels compute in
  float64, the "torch" tiles in float32). Memory: the peak of live torch tensor bytes during one extra step,
  from the profiler's allocation events; the "cpu" kernels' own float64 arrays (O(N + H·W), under 10 MB at
  40k Gaussians and 160×120) are numba allocations the profiler does not see. The untiled comparison of the
  2026-11-22 record is gone: it measured a knob of the "torch" tiles (skipped above 5k Gaussians for memory),
  not anything the default backend does.

`--profile N` prints cProfile tables of one step's forward and backward at N Gaussians and records nothing.
Where the time goes (`--profile 40000`, "cpu" backend, 14.3k of 40k Gaussians visible, 2026-12-06, load 0.4;
cProfile inflates the total to ~150 ms from ~130 ms):
* forward 59 ms: the compositing kernel 34 ms, `project` 14 ms (SH colours 4), `bin_tiles` 6, L1/SSIM 4;
* backward 92 ms: the kernel 42 ms; autograd of projection, SH and loss over all 40k Gaussians 49 ms, of which
  the small batched matmuls (covariance J·W·M, SH product; torch profiler: aten::bmm) ~19 ms (an
  elementwise SH product measured no faster over a whole step, an elementwise covariance 3× slower alone);
* gathering each tile's Gaussians into contiguous rows before its pixels walk them (this round) cut the
  kernels from 44 + 45 ms to 34 + 38 ms; next would be projecting only the visible Gaussians.

Writes `benchmarks/results/<suite>.json` (`"kind": "splat_train"`) and regenerates BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import pstats
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.markdown import fmt
from benchmarks.measure import machine, machine_line, max_rss_mb, measure

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BACKENDS = ("cpu", "torch")  # the default, then the baseline (the previous rasterizer)
# Losses of one step agree this closely across backends: float64 kernels against float32 tiles (measured
# relative differences up to 8e-7 on the full suite's model, 0 on the quick one), with room for other models.
LOSS_RTOL = 1e-4
# The 2026-11-22 03:46 UTC record of this suite (BENCHMARKS.md then; same room, view 1 and TrainConfig; load
# average 1.75-2.00): the "torch" tiles with 3σ-square tile bounds, before the "cpu" backend and the
# opacity-aware ellipse bounds of `bin_tiles`. Issue 13 asks for its 10k and 40k step times halved.
BEFORE = {
    "date": "2026-11-22",
    "step_ms": {1000: 21, 2000: 27, 5000: 52, 10_000: 96, 20_000: 180, 40_000: 392},
    "train_seconds": 351.7,
    "seconds_per_step": 0.352,
    "seconds_to_target": 59.3,
    "psnr_holdout": 28.53,
}
HALVED_AT = (10_000, 40_000)  # the Gaussian counts of the goal


@dataclass(frozen=True)
class SplatTrainSuite:
    """seed, frames, width, height: the synthetic room. iterations: training steps (None = the TrainConfig
    default); segment: steps between held-out evaluations. target_psnr (dB) within budget_seconds: the
    accuracy goal checked in the report. counts: Gaussian counts of the step timing; repeats: timed steps
    per setting after one warm-up. backends: rasterizer backends compared, the default first.
    resample_seed: the subset / duplicates of the trained model."""

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
    backends: tuple[str, ...] = BACKENDS
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


def suite_before(suite: SplatTrainSuite) -> dict | None:
    """`BEFORE` when `suite` is the one it was measured on (any Gaussian counts: its step times are per
    count), else None."""
    return BEFORE if replace(suite, counts=FULL.counts) == FULL else None


def first_reaching(checkpoints: list[dict], target: float) -> dict | None:
    """The earliest checkpoint ({"seconds", "psnr_holdout", ...}, in training order) at or above `target` dB."""
    return next((c for c in checkpoints if c["psnr_holdout"] >= target), None)


def load_frames(scene_dir: Path):
    """(cameras, images [H, W, 3] uint8, depths [H, W] float32 metres, frames) of the room's views."""
    from tracklift.data.scene import open_scene
    from tracklift.splat.render.camera import Camera

    frames = list(open_scene(scene_dir).stream)
    return [Camera.from_frame(f) for f in frames], [f.color for f in frames], [f.depth for f in frames], frames


def train_curve(scene_dir: Path, out_dir: Path, suite: SplatTrainSuite, backend: str, progress: bool = True):
    """Train from scratch with rasterizer `backend` in segments of `suite.segment` steps, scoring the held-out
    views after each.

    Returns (final Gaussians, result dict: backend, config, checkpoints [{step, seconds, gaussians,
    psnr_holdout, psnr_train}], final metrics, seconds_to_target, RSS).
    """
    from tracklift.splat.train import TrainConfig, train_gaussians
    from tracklift.splat.train.init import init_from_rgbd

    config = TrainConfig(backend=backend, **({} if suite.iterations is None else {"iterations": suite.iterations}))
    cams, images, depths, frames = load_frames(scene_dir)
    # Warm-up (first calls, numba kernels read from their cache): without it the first backend timed pays
    # them (~1.5 s) in its first segment.
    warm = init_from_rgbd(frames, config.init, config.sh_degree, config.seed)
    train_gaussians(cams, images, replace(config, iterations=2), out_dir / "warm-up", init=warm, progress=False)
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
            f"{backend}: step {c['step']:5d}  {c['seconds']:7.1f} s  {c['gaussians']:6d} Gaussians  "
            f"held-out {c['psnr_holdout']:.2f} dB  train {c['psnr_train']:.2f} dB",
            flush=True,
        )
    hit = first_reaching(checkpoints, suite.target_psnr)
    result = {
        "backend": backend,
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
    return g, result


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


def training_step(model, cam, target, backend: str):
    """One training step's work without the optimiser: (forward, backward) callables. forward() renders and
    returns the L1/SSIM loss (a tensor); backward(loss) back-propagates it and frees the gradients again.

    model: Gaussians requiring grad; cam: Camera; target: [H, W, 3] float in [0, 1]."""
    from tracklift.splat.render.rasterizer import rasterize
    from tracklift.splat.train import TrainConfig
    from tracklift.splat.train.losses import photometric_loss

    config = TrainConfig()

    def forward():
        out = rasterize(model, cam, background=config.background, tile=config.tile, backend=backend)
        return photometric_loss(out.color, target, config.ssim_lambda)

    def backward(loss) -> None:
        loss.backward()
        # Freed here, not at the next step's start, so that a profiled step sees its own gradients
        # allocated and freed (a free of a block allocated before profiling is not attributable).
        for p in model.parameters():
            p.grad = None

    return forward, backward


def step_cost(g, cam, image, suite: SplatTrainSuite, progress: bool = True) -> dict:
    """Time and torch peak memory of one training step per Gaussian count of `suite.counts` and backend of
    `suite.backends`, on the same resampled model.

    g: the model to resample (Gaussians); cam: the view (Camera); image: [H, W, 3] uint8 target of `cam`.
    Returns {"view", "model_gaussians", "rows": [{"gaussians", "visible", "loss_rel_diff", <backend>: {...}}]}
    with `benchmarks.measure` timings (seconds) plus "loss" and "torch_peak_mb" per backend; loss_rel_diff is
    the largest |loss - default backend's loss| / default backend's loss.
    """
    import torch

    from tracklift.splat.render.rasterizer import project

    target = torch.as_tensor(image).float() / 255.0
    rows = []
    for n in tqdm(suite.counts, desc="step cost", disable=not progress):
        model = resample(g, n, suite.resample_seed).requires_grad_()
        with torch.no_grad():
            visible = int((project(model, cam).radii > 0).sum())
        row = {"gaussians": n, "visible": visible}
        for backend in suite.backends:
            forward, backward = training_step(model, cam, target, backend)

            def step() -> float:
                loss = forward()
                backward(loss)
                return float(loss.detach())

            loss, timing = measure(step, suite.repeats)
            row[backend] = {"loss": loss, **timing, "torch_peak_mb": torch_peak_mb(step)}
        base = row[suite.backends[0]]["loss"]
        row["loss_rel_diff"] = max(abs(row[b]["loss"] - base) / base for b in suite.backends)
        rows.append(row)
        times = ", ".join(f"{b} {1000 * row[b]['median_s']:.0f} ms" for b in suite.backends)
        print(f"{n:6d} Gaussians ({visible} visible): {times}; losses differ by {row['loss_rel_diff']:.1e}", flush=True)
    return {"view": cam.name, "model_gaussians": g.n, "rows": rows}


def profile_step(g, cam, image, n: int, backend: str = "cpu", top: int = 15) -> str:
    """cProfile tables (cumulative time, `top` rows each) of one step's forward and of its backward at `n`
    Gaussians, after a warm-up step (numba compilation, caches)."""
    import torch

    model = resample(g, n, 0).requires_grad_()
    forward, backward = training_step(model, cam, torch.as_tensor(image).float() / 255.0, backend)
    backward(forward())
    report = io.StringIO()
    for name in ("forward", "backward"):
        profiler = cProfile.Profile()
        if name == "forward":
            loss = profiler.runcall(forward)
        else:
            profiler.runcall(backward, loss)
        report.write(f"--- {name}, {n} Gaussians, backend {backend}\n")
        pstats.Stats(profiler, stream=report).sort_stats("cumulative").print_stats(top)
    return report.getvalue()


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{1000 * seconds:.0f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "–" if a is None or b is None or b <= 0 else f"{a / b:.2f}×"


def markdown_section(doc: dict) -> str:
    """The splat-training section of BENCHMARKS.md from a results document."""
    s, sc, before = doc["suite"], doc["step_cost"], doc.get("before")
    curves = {tr["backend"]: tr for tr in doc["train"]}
    backends = list(curves)
    default, baseline = backends[0], backends[-1]
    tr0 = curves[default]
    cfg = tr0["config"]
    load = doc["load_average"]
    step_before = {} if before is None else {int(k): v / 1000 for k, v in before["step_ms"].items()}
    rows = {r["gaussians"]: r for r in sc["rows"]}
    # Columns of the 'before' record only where it was measured (the full suite).
    then = [] if before is None else [f"before ({before['date']})"]
    lines = [
        f"## Suite `{s['name']}` (Gaussian training speed)",
        "",
        f"Room seed {s['seed']}, {tr0['views']} views of {s['width']}×{s['height']} (every "
        f"{cfg['holdout_every']}th held out: {tr0['holdout_views']} views), default `TrainConfig` "
        f"({cfg['iterations']} steps, tile {cfg['tile']}, SH degree {cfg['sh_degree']}, at most "
        f"{cfg['densify']['max_gaussians']} Gaussians), initialised from the fused depth points. Recorded "
        f"{doc['date']} ({machine_line(doc['machine'])}); load average {load['start'][0]:.2f} at the start, "
        f"{load['end'][0]:.2f} at the end (2 shared cores: other work inflates the times). Backends: "
        f"`{default}` (the default: per-pixel numba compositing) against `{baseline}` (the previous rasterizer: "
        "dense torch tiles) in the same run"
        + (
            "."
            if before is None
            else f"; **before**: this suite's record of {before['date']} (the `torch` tiles with 3σ-square tile "
            "bounds, before the `cpu` backend existed), kept as constants in the benchmark."
        ),
        "",
        "| | " + " | ".join(then + [f"`{b}`" for b in backends]) + " |" + (f" before / `{default}` |" if then else ""),
        "|---|" + "---:|" * (len(backends) + 2 * len(then)),
    ]

    def row(label: str, then_value: float | None, values: list, digits: int, ratio: bool) -> str:
        cells = [fmt(v, digits) for v in ([then_value] if then else []) + values]
        if then:
            cells.append(_ratio(then_value, values[0]) if ratio else "–")
        return f"| {label} | " + " | ".join(cells) + " |"

    for n in HALVED_AT:  # the counts of the goal; every count is in the table further down
        if n in rows:
            values = [1000 * rows[n][b]["median_s"] for b in backends]
            then_ms = None if n not in step_before else 1000 * step_before[n]
            lines.append(row(f"ms per step, {n} Gaussians", then_ms, values, 0, True))
    summary = [
        ("seconds for the training run", "train_seconds", lambda t: t["final"]["seconds"], 0, True),
        ("mean s per step", "seconds_per_step", lambda t: t["final"]["seconds_per_iteration"], 3, True),
        (
            f"seconds to {s['target_psnr']:g} dB held-out",
            "seconds_to_target",
            lambda t: t["seconds_to_target"],
            0,
            True,
        ),
        ("final held-out PSNR dB", "psnr_holdout", lambda t: t["final"]["psnr_holdout"], 2, False),
    ]
    for label, key, get, digits, ratio in summary:
        lines.append(
            row(label, None if before is None else before[key], [get(curves[b]) for b in backends], digits, ratio)
        )
    goal = [n for n in HALVED_AT if n in rows and n in step_before]
    if goal:
        met = all(rows[n][default]["median_s"] <= 0.5 * step_before[n] for n in goal)
        lines += [
            "",
            f"Goal (issue 13): time per step at {' and '.join(map(str, goal))} Gaussians at most half of before: "
            f"**{'met' if met else 'not met'}**.",
        ]

    reached = {
        b: "not reached" if t["seconds_to_target"] is None else f"after {t['seconds_to_target']:.0f} s"
        for b, t in curves.items()
    }
    lines += [
        "",
        "Held-out PSNR vs wall time (seconds: initialisation + the training clock, which includes one checkpoint "
        "save and load per segment; scoring between segments not counted; each backend warmed up by 2 steps "
        f"first). Target {s['target_psnr']:g} dB within {s['budget_seconds']:.0f} s: "
        + "; ".join(f"`{b}` **{reached[b]}**" for b in backends)
        + ".",
        "",
        "| step | "
        + " | ".join(f"`{b}` s | `{b}` s/step | `{b}` Gaussians | `{b}` held-out dB" for b in backends)
        + " |",
        "|---:|" + "---:|---:|---:|---:|" * len(backends),
    ]
    by_step = [{c["step"]: c for c in curves[b]["checkpoints"]} for b in backends]
    prev: list[dict | None] = [None] * len(backends)
    for step in sorted(set().union(*by_step)):
        cells = []
        for i, points in enumerate(by_step):
            c = points.get(step)
            if c is None:
                cells.append("– | – | – | –")
                continue
            p = prev[i]
            rate = None if p is None else (c["seconds"] - p["seconds"]) / max(c["step"] - p["step"], 1)
            cells.append(f"{c['seconds']:.1f} | {fmt(rate, 3)} | {c['gaussians']} | {c['psnr_holdout']:.2f}")
            prev[i] = c
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    lines.append("")
    for b in backends:
        t = curves[b]
        f = t["final"]
        lines += [
            f"`{b}`: {f['gaussians']} Gaussians at the end, {f['seconds']:.0f} s training "
            f"({t['init_seconds']:.2f} s initialisation before it), {f['seconds_per_iteration']:.3f} s/step on "
            f"average, train PSNR {f['psnr_train']:.2f} dB; process max RSS so far {t['max_rss_mb']:.0f} MB "
            f"({t['rss_before_mb']:.0f} MB before initialisation).",
            "",
        ]

    agree = all(r["loss_rel_diff"] <= doc["loss_rtol"] for r in sc["rows"])
    worst = max((r["loss_rel_diff"] for r in sc["rows"]), default=0.0)
    lines += [
        f"Time per training step vs Gaussian count: training view `{sc['view']}`, rasterize + L1/SSIM loss + "
        f"backward, median of {s['repeats']} after a warm-up; the `{default}`-trained model "
        f"({sc['model_gaussians']} Gaussians) subsampled or duplicated (seeded), the same model for every backend. "
        "Torch peak: live torch tensor bytes during one step (profiler allocation events; the `cpu` kernels' "
        f"numba arrays, O(N + H·W), are not in it). Losses of the backends agree within {doc['loss_rtol']:g} "
        f"(relative; largest difference {worst:.1e}): **{agree}**.",
        "",
        "| Gaussians | visible | "
        + " | ".join(["before ms"] * len(then) + [f"`{b}` ms" for b in backends])
        + f" | `{baseline}` / `{default}` | "
        + "".join(f"before / `{default}` | " for _ in then)
        + " | ".join(f"`{b}` torch peak MB" for b in backends)
        + " | "
        + " | ".join(f"loss `{b}`" for b in backends)
        + " |",
        "|---:|---:|" + "---:|" * (3 * len(backends) + 1 + 2 * len(then)),
    ]
    for r in sc["rows"]:
        n = r["gaussians"]
        then_cells = [_ms(step_before.get(n))] if then else []
        ratio_cells = [_ratio(step_before.get(n), r[default]["median_s"])] if then else []
        lines.append(
            f"| {n} | {r['visible']} | "
            + " | ".join(then_cells + [_ms(r[b]["median_s"]) for b in backends])
            + " | "
            + " | ".join(
                [_ratio(r[baseline]["median_s"], r[default]["median_s"])]
                + ratio_cells
                + [f"{r[b]['torch_peak_mb']:.0f}" for b in backends]
                + [f"{r[b]['loss']:.5f}" for b in backends]
            )
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.splat_train", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"the small suite ({QUICK.name!r})")
    parser.add_argument("--iterations", type=int, help="training steps (default: the suite's)")
    parser.add_argument("--counts", help="comma-separated Gaussian counts of the step timing")
    parser.add_argument(
        "--profile", type=int, metavar="N", help="only print cProfile tables of one step at N Gaussians (no record)"
    )
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
    view = 1  # the first training view (view 0 is held out)
    model_dir = cache / f"{scene_dir.name}_{suite.name}_model"
    if args.profile:
        from tracklift.splat.io.ply import read_gaussians_ply

        ply = model_dir / suite.backends[0] / "point_cloud.ply"
        if not ply.is_file():
            raise SystemExit(f"{ply} missing: run the suite once first (it trains the model to profile)")
        cams, images, _, _ = load_frames(scene_dir)
        print(profile_step(read_gaussians_ply(ply), cams[view], images[view], args.profile, suite.backends[0]))
        return 0
    trains, g = [], None
    for backend in suite.backends:
        trained, result = train_curve(scene_dir, model_dir / backend, suite, backend)
        trains.append(result)
        g = trained if g is None else g  # the default backend's model is timed
    cams, images, _, _ = load_frames(scene_dir)
    costs = step_cost(g, cams[view], images[view], suite)
    doc = {
        "kind": "splat_train",
        "suite": asdict(suite),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {**machine(), "torch": torch.__version__, "torch_threads": 1},
        "load_average": {"start": list(load_start), "end": list(os.getloadavg())},
        "before": suite_before(suite),
        "loss_rtol": LOSS_RTOL,
        "train": trains,
        "step_cost": costs,
    }
    from benchmarks.run import record

    record(doc, Path(args.results) / f"{suite.name}.json", args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
