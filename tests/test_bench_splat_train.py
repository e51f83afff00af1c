"""Helpers of the Gaussian training speed benchmark (benchmarks/splat_train.py); the benchmark itself is
run by `python -m benchmarks.splat_train`, not here."""

import json
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benchmarks.run import render  # noqa: E402
from benchmarks.splat_train import (  # noqa: E402
    BACKENDS,
    BEFORE,
    FULL,
    LOSS_RTOL,
    QUICK,
    SplatTrainSuite,
    first_reaching,
    markdown_section,
    profile_step,
    resample,
    step_cost,
    suite_before,
    torch_peak_mb,
)
from tests.splat_toy import toy_cameras, toy_gaussians  # noqa: E402


def hand_doc(before: dict | None = BEFORE) -> dict:
    """A results document with round numbers: two backends, two segments, step costs at 1000 and 10000."""

    def curve(backend: str, scale: float) -> dict:
        checkpoints = [
            {"step": 0, "seconds": 1.0, "gaussians": 1000, "psnr_holdout": 12.0, "psnr_train": 12.5},
            {"step": 100, "seconds": 1.0 + 20 * scale, "gaussians": 1500, "psnr_holdout": 24.0, "psnr_train": 25.0},
            {"step": 200, "seconds": 1.0 + 50 * scale, "gaussians": 2000, "psnr_holdout": 26.0, "psnr_train": 27.0},
        ]
        return {
            "backend": backend,
            "config": {
                "holdout_every": 8,
                "iterations": 200,
                "tile": 8,
                "sh_degree": 3,
                "densify": {"max_gaussians": 50000},
            },
            "views": 48,
            "holdout_views": 6,
            "init_seconds": 1.0,
            "checkpoints": checkpoints,
            "final": {
                "gaussians": 2000,
                "seconds": 50.0 * scale,
                "seconds_per_iteration": 0.25 * scale,
                "psnr_holdout": 26.0,
                "psnr_train": 27.0,
            },
            "seconds_to_target": first_reaching(checkpoints, 25.0)["seconds"],
            "rss_before_mb": 300.0,
            "max_rss_mb": 700.0,
        }

    timing = {"seconds": [0.02], "tracemalloc_peak_mb": 1.0, "max_rss_mb": 500.0}
    return {
        "kind": "splat_train",
        "suite": {
            "name": "splat_train",
            "seed": 0,
            "width": 160,
            "height": 120,
            "target_psnr": 25.0,
            "budget_seconds": 600.0,
            "repeats": 3,
            "counts": [1000, 10000],
        },
        "date": "2026-12-06 03:00 UTC",
        "machine": "x86_64",
        "load_average": {"start": [0.5, 0.5, 0.5], "end": [1.25, 1.0, 1.0]},
        # as read back from JSON: integer keys become strings
        "before": None if before is None else json.loads(json.dumps(before)),
        "loss_rtol": 1e-4,
        "train": [curve("cpu", 1.0), curve("torch", 2.0)],
        "step_cost": {
            "view": "1",
            "model_gaussians": 2000,
            "rows": [
                {
                    "gaussians": 1000,
                    "visible": 400,
                    "cpu": {"loss": 0.25, **timing, "median_s": 0.014, "torch_peak_mb": 5.0},
                    "torch": {"loss": 0.25, **timing, "median_s": 0.021, "torch_peak_mb": 8.0},
                    "loss_rel_diff": 0.0,
                },
                {
                    "gaussians": 10000,
                    "visible": 900,
                    "cpu": {"loss": 0.125, **timing, "median_s": 0.040, "torch_peak_mb": 12.0},
                    "torch": {"loss": 0.12500125, **timing, "median_s": 0.060, "torch_peak_mb": 50.0},
                    "loss_rel_diff": 1e-5,
                },
            ],
        },
    }


def test_first_reaching_is_the_earliest_checkpoint_at_or_above_the_target():
    rows = [
        {"seconds": 1.0, "psnr_holdout": 20.0},
        {"seconds": 2.0, "psnr_holdout": 25.0},
        {"seconds": 3.0, "psnr_holdout": 24.0},
        {"seconds": 4.0, "psnr_holdout": 27.0},
    ]
    assert first_reaching(rows, 25.0)["seconds"] == 2.0
    assert first_reaching(rows, 26.0)["seconds"] == 4.0
    assert first_reaching(rows, 30.0) is None
    assert first_reaching([], 25.0) is None


def test_markdown_section_rows_from_a_hand_written_doc():
    text = markdown_section(hand_doc())
    assert text.startswith("## Suite `splat_train` (Gaussian training speed)")
    assert "load average 0.50 at the start, 1.25 at the end" in text
    # Summary against the recorded 2026-11-22 values: step time at the goal's counts, then the training run.
    assert "| | before (2026-11-22) | `cpu` | `torch` | before / `cpu` |" in text
    assert "| ms per step, 10000 Gaussians | 96 | 40 | 60 | 2.40× |" in text
    assert "ms per step, 1000 Gaussians" not in text  # only the goal's counts in the summary
    assert "| seconds for the training run | 352 | 50 | 100 | 7.03× |" in text
    assert "| seconds to 25 dB held-out | 59 | 51 | 101 | 1.16× |" in text
    assert "| final held-out PSNR dB | 28.53 | 26.00 | 26.00 | – |" in text
    assert "time per step at 10000 Gaussians at most half of before: **met**" in text
    assert "Target 25 dB within 600 s: `cpu` **after 51 s**; `torch` **after 101 s**" in text
    # Curves side by side; s/step since the previous row: (21 - 1) / 100 and (51 - 21) / 100 for cpu.
    assert "| 0 | 1.0 | – | 1000 | 12.00 | 1.0 | – | 1000 | 12.00 |" in text
    assert "| 100 | 21.0 | 0.200 | 1500 | 24.00 | 41.0 | 0.400 | 1500 | 24.00 |" in text
    assert "| 200 | 51.0 | 0.300 | 2000 | 26.00 | 101.0 | 0.600 | 2000 | 26.00 |" in text
    assert "agree within 0.0001 (relative; largest difference 1.0e-05): **True**" in text
    assert "| 1000 | 400 | 21 | 14 | 21 | 1.50× | 1.50× | 5 | 8 | 0.25000 | 0.25000 |" in text
    assert "| 10000 | 900 | 96 | 40 | 60 | 1.50× | 2.40× | 12 | 50 | 0.12500 | 0.12500 |" in text


def test_markdown_section_says_when_a_goal_is_missed_or_the_losses_differ():
    doc = hand_doc()
    doc["train"][1]["seconds_to_target"] = None
    doc["step_cost"]["rows"][1]["cpu"]["median_s"] = 0.049  # 96 ms before: not halved
    doc["step_cost"]["rows"][1]["loss_rel_diff"] = 2e-4
    text = markdown_section(doc)
    assert "`torch` **not reached**" in text
    assert "at most half of before: **not met**" in text
    assert "(relative; largest difference 2.0e-04): **False**" in text


def test_markdown_section_without_the_before_record():
    text = markdown_section(hand_doc(before=None))
    assert "before" not in text.lower().replace("before initialisation", "").replace("before it", "")
    assert "| | `cpu` | `torch` |" in text
    assert "| ms per step, 10000 Gaussians | 40 | 60 |" in text
    assert "| 10000 | 900 | 40 | 60 | 1.50× | 12 | 50 | 0.12500 | 0.12500 |" in text


def test_benchmarks_page_includes_the_splat_train_section(tmp_path):
    (tmp_path / "splat_train.json").write_text(json.dumps(hand_doc()))
    page = render(tmp_path)
    assert page.startswith("# Benchmarks")
    assert markdown_section(hand_doc()) in page


def test_resample_subsets_and_duplicates_deterministically():
    g, _ = toy_gaussians()
    sub = resample(g, 10, seed=3)
    assert sub.n == 10
    assert torch.equal(sub.means, resample(g, 10, seed=3).means)
    rows = {tuple(r) for r in g.means.tolist()}
    assert len({tuple(r) for r in sub.means.tolist()}) == 10 and {tuple(r) for r in sub.means.tolist()} <= rows
    big = resample(g, g.n + 7, seed=3)
    assert big.n == g.n + 7
    assert torch.equal(big.means[: g.n], g.means)  # every original once, then the duplicates
    assert {tuple(r) for r in big.means[g.n :].tolist()} <= rows
    assert resample(g, g.n, seed=0).n == g.n
    with pytest.raises(ValueError, match="n >= 1"):
        resample(g, 0, seed=0)


def test_torch_peak_counts_live_tensor_bytes():
    def work():
        a = torch.ones(1 << 20)  # 4 MiB
        b = torch.ones(1 << 21)  # 8 MiB, both alive: 12 MiB
        del a
        c = torch.ones(1 << 20)  # 4 MiB in place of a: still 12 MiB
        return float(b[0] + c[0])

    assert torch_peak_mb(work) == pytest.approx(12.0, abs=0.05)


def test_step_cost_times_both_backends_on_one_model_and_their_losses_agree(one_torch_thread):
    g, _ = toy_gaussians()
    cam = toy_cameras(2)[0]
    image = np.random.default_rng(0).integers(0, 256, (cam.height, cam.width, 3), dtype=np.uint8)
    suite = SplatTrainSuite("t", counts=(30, g.n + 20), repeats=1)
    result = step_cost(g, cam, image, suite, progress=False)
    assert [r["gaussians"] for r in result["rows"]] == [30, g.n + 20]
    for row in result["rows"]:
        assert 0 < row["visible"] <= row["gaussians"]
        for backend in BACKENDS:
            assert row[backend]["torch_peak_mb"] > 0 and row[backend]["median_s"] > 0
        assert row["loss_rel_diff"] <= LOSS_RTOL
        assert row["torch"]["loss"] == pytest.approx(row["cpu"]["loss"], rel=LOSS_RTOL)


def test_profile_step_reports_the_kernels_of_forward_and_backward(one_torch_thread):
    g, _ = toy_gaussians()
    cam = toy_cameras(2)[0]
    image = np.zeros((cam.height, cam.width, 3), np.uint8)
    report = profile_step(g, cam, image, 50, top=40)
    forward, backward = report.split("--- backward")
    assert forward.startswith("--- forward, 50 Gaussians, backend cpu") and "_forward" in forward
    assert "_backward" in backward and "_forward" not in backward


def test_before_record_only_for_the_suite_it_was_measured_on():
    assert suite_before(FULL) is BEFORE
    assert suite_before(replace(FULL, counts=(10_000,))) is BEFORE
    assert suite_before(QUICK) is None
    assert suite_before(replace(FULL, iterations=10)) is None
