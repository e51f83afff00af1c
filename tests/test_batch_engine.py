"""`tracklift.batch.engine`: admission to the process pool by workers and memory, why a worker died, and the
choice of engine (the process pool, saying so, when Ray is not installed)."""

import logging
import sys

import pytest

from tracklift.batch.engine import ProcessEngine, admits, death_message, make_engine


@pytest.mark.parametrize(
    "running, needed, expected",
    [
        ([], 10**12, True),  # a lone task always starts
        ([3], 3, True),  # 6 ≤ 8, 2 workers
        ([3], 6, False),  # 9 > 8
        ([1, 1], 1, False),  # workers full
    ],
)
def test_admission_by_workers_and_memory(running, needed, expected):
    assert admits(running, needed, workers=2, budget=8) is expected


def test_death_message_names_the_signal():
    assert "SIGKILL" in death_message(-9) and "out-of-memory" in death_message(-9)
    assert "code 1" in death_message(1)


def test_without_ray_auto_falls_back_to_the_process_pool_and_says_so(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with caplog.at_level(logging.WARNING):
        engine = make_engine("auto", 2)
    assert isinstance(engine, ProcessEngine) and engine.workers == 2
    assert "Ray is not installed" in caplog.text and "process pool of 2" in caplog.text
    with pytest.raises(ValueError, match="Ray is not installed"):
        make_engine("ray", 2)
    with pytest.raises(ValueError, match="Ray is not installed"):
        make_engine("auto", 2, "ray://head:10001")


def test_engine_argument_errors():
    with pytest.raises(ValueError, match="--address needs the ray engine"):
        make_engine("process", 2, "auto")
    with pytest.raises(ValueError, match="unknown engine"):
        make_engine("dask", 2)
    with pytest.raises(ValueError, match="--workers must be"):
        ProcessEngine(0)
