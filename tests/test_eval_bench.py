"""The benchmark harness's own machinery: measuring, suite choice, and the BENCHMARKS.md page."""

from __future__ import annotations

import json

import pytest

from benchmarks.measure import measure
from benchmarks.methods import METHODS
from benchmarks.run import choose_suite, parse_args, render
from benchmarks.suite import FULL, QUICK


def test_measure_warms_up_then_times_repeats_and_traces_memory():
    calls = []

    def fn():
        calls.append(len(calls))
        return bytearray(4 * 2**20)  # 4 MiB, seen by tracemalloc

    result, stats = measure(fn, repeats=3)
    assert len(calls) == 5 and len(result) == 4 * 2**20  # warm-up + 3 timed + 1 traced
    assert len(stats["seconds"]) == 3 and stats["median_s"] == sorted(stats["seconds"])[1]
    assert stats["tracemalloc_peak_mb"] >= 4.0 and stats["max_rss_mb"] > 0


def test_naive_baseline_is_always_a_method():
    assert next(iter(METHODS)) == "naive"


def test_choose_suite_applies_options_and_rejects_unknown_names():
    suite = choose_suite(parse_args(["--quick", "--presets", "oracle,hard", "--repeats", "2"]))
    assert suite.name == QUICK.name and suite.presets == ("oracle", "hard") and suite.repeats == 2
    assert choose_suite(parse_args([])) == FULL
    assert len(FULL.seeds) >= 3 and (FULL.width, FULL.height) == (640, 480)
    with pytest.raises(SystemExit, match="unknown method"):
        choose_suite(parse_args(["--methods", "magic"]))
    with pytest.raises(SystemExit, match="unknown preset"):
        choose_suite(parse_args(["--presets", "perfect"]))


def test_markdown_lists_every_method_and_preset(tmp_path):
    scores = {"ap": 0.5, "ap50": 0.75, "ap25": None}
    run = {
        "agnostic": scores,
        "semantic": scores,
        "fps": 12.34,
        "seconds_per_scene": [1.0],
        "tracemalloc_peak_mb": 10.0,
        "max_rss_mb": 100.0,
        "instances_per_scene": 7.0,
    }
    doc = {
        "suite": QUICK.describe(),
        "date": "2026-01-01 00:00 UTC",
        "wall_seconds": 1.0,
        "machine": {"cpus": 2, "python": "3.11", "numpy": "2", "platform": "linux"},
        "methods": {"naive": {"oracle": run, "hard": run}},
    }
    (tmp_path / "quick.json").write_text(json.dumps(doc))
    page = render(tmp_path)
    assert "## Suite `quick`" in page
    assert "| naive | oracle | 0.500 | 0.750 | – |" in page and "| naive | hard |" in page and "| 12.3 |" in page
    assert "No results recorded yet" in render(tmp_path / "empty")
