"""Stage timings: accumulation per stage in first-use order, and the table's arithmetic."""

from __future__ import annotations

import pytest

from tracklift.core.timing import StageTimes, timings_table


def test_stages_accumulate_in_first_use_order(monkeypatch):
    clock = iter([0.0, 1.5, 2.0, 2.25, 3.0, 4.0])
    monkeypatch.setattr("tracklift.core.timing.time.perf_counter", lambda: next(clock))
    times = StageTimes()
    with times("read"):
        pass
    with times("lift"):
        pass
    with times("read"):
        pass
    assert times.seconds == {"read": 2.5, "lift": 0.25}
    times.add({"lift": 1.0, "write": 0.5})
    assert times.rounded(2) == {"read": 2.5, "lift": 1.25, "write": 0.5}


def test_a_failing_stage_still_counts(monkeypatch):
    clock = iter([10.0, 12.0])
    monkeypatch.setattr("tracklift.core.timing.time.perf_counter", lambda: next(clock))
    times = StageTimes()
    with pytest.raises(RuntimeError):
        with times("segment"):
            raise RuntimeError("boom")
    assert times.seconds == {"segment": 2.0}


def test_table_by_hand():
    text = timings_table({"read": 3.0, "track": 1.0}, frames=100)
    lines = text.splitlines()
    assert lines[0].split() == ["stage", "seconds", "share", "ms/frame"]
    assert lines[2].split() == ["read", "3.000", "75.0%", "30.0"]
    assert lines[3].split() == ["track", "1.000", "25.0%", "10.0"]
    assert lines[4].split() == ["total", "4.000", "100.0%", "40.0"]
    assert timings_table({}).splitlines()[-1].split() == ["total", "0.000", "–"]
