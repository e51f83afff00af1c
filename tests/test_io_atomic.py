"""Atomic writes: temporaries a SIGKILL left behind are removed by a later process's write to the folder;
those of a process still writing are kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from tracklift.io.atomic import TEMPORARY, atomic_write_text

SRC = os.path.join(os.path.dirname(__file__), "..", "src")


def _python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, timeout=60, check=False
    )


def test_a_write_after_a_killed_write_removes_its_temporary(tmp_path):
    killed = _python(f"""
        import os, signal
        from tracklift.io.atomic import atomic_open
        with atomic_open({str(tmp_path / "scene.json")!r}) as f:
            f.write('{{"half": ')
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert killed.returncode == -signal.SIGKILL
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and TEMPORARY.match(left[0]) and left[0].startswith(".scene.json.")
    assert (
        _python(f"""
        from tracklift.io.atomic import atomic_write_text
        atomic_write_text({str(tmp_path / "other.txt")!r}, 'x')
    """).returncode
        == 0
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.txt"]


def test_temporaries_of_running_writers_and_foreign_files_are_kept(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".a.json.{sleeper.pid}-abc123.tmp"  # a parallel worker mid-write
        live.write_text("{")
        own = tmp_path / ".notes.tmp"  # not atomic_open's naming: a user's file
        own.write_text("keep")
        past = os.path.getmtime(live) - 3600
        os.utime(live, (past, past))
        os.utime(own, (past, past))
        assert (
            _python(f"""
            from tracklift.io.atomic import atomic_write_text
            atomic_write_text({str(tmp_path / "b.json")!r}, '{{}}')
        """).returncode
            == 0
        )
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, own.name, "b.json"])
    finally:
        sleeper.kill()
        sleeper.wait()


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "one")
    atomic_write_text(tmp_path / "a.txt", "two")
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"] and (tmp_path / "a.txt").read_text() == "two"
