"""Helpers of the Gaussian training speed benchmark (benchmarks/splat_train.py); the benchmark itself is
run by `python -m benchmarks.splat_train`, not here."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benchmarks.run import render  # noqa: E402
from benchmarks.splat_train import (  # noqa: E402
    SplatTrainSuite,
    first_reaching,
    markdown_section,
    resample,
    step_cost,
    torch_peak_mb,
)
from tests.splat_toy import toy_cameras, toy_gaussians  # noqa: E402


def hand_doc() -> dict:
    """A results document with round numbers: two segments, one untiled setting run and one skipped."""
    checkpoints = [
        {"step": 0, "seconds": 1.0, "gaussians": 1000, "psnr_holdout": 12.0, "psnr_train": 12.5},
        {"step": 100, "seconds": 21.0, "gaussians": 1500, "psnr_holdout": 24.0, "psnr_train": 25.0},
        {"step": 200, "seconds": 51.0, "gaussians": 2000, "psnr_holdout": 26.0, "psnr_train": 27.0},
    ]
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
        },
        "date": "2026-11-22 03:00 UTC",
        "machine": "x86_64",
        "load_average": {"start": [0.5, 0.5, 0.5], "end": [1.25, 1.0, 1.0]},
        "train": {
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
            "final": {"gaussians": 2000, "seconds": 50.0, "seconds_per_iteration": 0.25},
            "seconds_to_target": first_reaching(checkpoints, 25.0)["seconds"],
            "rss_before_mb": 300.0,
            "max_rss_mb": 700.0,
        },
        "step_cost": {
            "view": "1",
            "model_gaussians": 2000,
            "rows": [
                {
                    "gaussians": 1000,
                    "visible": 400,
                    "tiled": {"tile": 8, "loss": 0.25, **timing, "median_s": 0.02, "torch_peak_mb": 10.0},
                    "untiled": {
                        "tile": 160,
                        "loss": 0.25,
                        **timing,
                        "median_s": 0.2,
                        "torch_peak_mb": 400.0,
                        "estimated_peak_mb": 480.0,
                    },
                },
                {
                    "gaussians": 2000,
                    "visible": 900,
                    "tiled": {"tile": 8, "loss": 0.125, **timing, "median_s": 0.03, "torch_peak_mb": 12.0},
                    "untiled": {"tile": 160, "skipped": "estimated peak 6.0 GB > budget", "estimated_peak_mb": 6144.0},
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
    assert "Target 25 dB within 600 s: **reached after 51 s**" in text
    assert "load average 0.50 at the start, 1.25 at the end" in text
    # s/step since the previous row: (21 - 1) / 100 and (51 - 21) / 100.
    assert "| 0 | 1.0 | 1000 | – | 12.00 | 12.50 |" in text
    assert "| 100 | 21.0 | 1500 | 0.200 | 24.00 | 25.00 |" in text
    assert "| 200 | 51.0 | 2000 | 0.300 | 26.00 | 27.00 |" in text
    assert "| 1000 | 400 | 20 | 10 | 200 | 400 | 10.0× | 0.25000 | 0.25000 |" in text
    assert "| 2000 | 900 | 30 | 12 | skipped (est. 6 GB) | – | – | 0.12500 | – |" in text


def test_markdown_section_says_when_the_target_is_missed():
    doc = hand_doc()
    doc["train"]["seconds_to_target"] = None
    assert "**not reached**" in markdown_section(doc)


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


def test_step_cost_tiled_and_untiled_agree_and_the_budget_skips(one_torch_thread):
    g, _ = toy_gaussians()
    cam = toy_cameras(2)[0]
    image = np.random.default_rng(0).integers(0, 256, (cam.height, cam.width, 3), dtype=np.uint8)
    suite = SplatTrainSuite("t", counts=(30, g.n + 20), repeats=1, tile=8, untiled_budget_gb=1.0)
    result = step_cost(g, cam, image, suite, progress=False)
    assert [r["gaussians"] for r in result["rows"]] == [30, g.n + 20]
    for row in result["rows"]:
        t, u = row["tiled"], row["untiled"]
        assert 0 < row["visible"] <= row["gaussians"]
        assert (t["tile"], u["tile"]) == (8, 64)
        # Results do not depend on the tile; float32 sums in another order: measured rel. difference 2e-7.
        assert u["loss"] == pytest.approx(t["loss"], rel=1e-5)
        assert t["torch_peak_mb"] > 0 and u["torch_peak_mb"] > 0 and t["median_s"] > 0
    skipped = step_cost(
        g, cam, image, SplatTrainSuite("t", counts=(30,), repeats=1, untiled_budget_gb=0.0), progress=False
    )
    assert "skipped" in skipped["rows"][0]["untiled"] and "median_s" in skipped["rows"][0]["tiled"]
