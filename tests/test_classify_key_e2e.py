"""The LLM endpoint's API key, end to end: `tracklift segment --classifier llm:URL` run as a user would, the key
in TRACKLIFT_LLM_API_KEY, against a local OpenAI-compatible server. The key reaches the server in the
Authorization header and nowhere else: no output file, no cache, no line of stdout/stderr, verbose or not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import cli_env
from tests.test_classify_llm import FakeServer
from tracklift.classify.openai_chat import ENV_KEY, ENV_MODEL
from tracklift.cli import main

KEY = "sk-e2e-4b8d1f0a9c7e5b3d2f1a0e9c"


@pytest.fixture(scope="module")
def room(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("key")
    scene, masks = base / "scene0002_00", base / "masks"
    synth = ["synth", str(scene), "--frames", "6", "--width", "96", "--height", "72", "--objects", "5", "--seed", "1"]
    assert main([*synth, "--quiet"]) == 0
    assert main(["synth-masks", str(scene), "--out", str(masks), "--quiet"]) == 0
    return scene, masks


def files_under(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*") if p.is_file()]


@pytest.mark.parametrize("verbose", [False, True])
def test_the_key_reaches_the_server_and_nothing_else(room, tmp_path, verbose):
    scene, masks = room
    out, home = tmp_path / "out", tmp_path / "home"
    cache = out / ".cache" if verbose else tmp_path / "cache"  # the default cache, and one of the user's
    server = FakeServer()
    # a failure (retried and logged), an answer outside the vocabulary (logged at debug level), then answers
    server.script = [("status", 500), ("ok", '{"label": "xyzzy"}')] + [("ok", '{"label": "chair"}')] * 200
    # HOME: any cache a library keeps in the home folder lands where we look
    env = cli_env(**{ENV_KEY: KEY, ENV_MODEL: "tiny-vlm", "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")})
    args = ["segment", str(scene), "--masks", str(masks), "--out", str(out), "--classifier", f"llm:{server.url}"]
    if not verbose:
        args += ["--cache-dir", str(cache)]
    try:
        run = subprocess.run(
            [sys.executable, "-m", "tracklift.cli", *(["--verbose"] if verbose else []), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        server.close()
    assert run.returncode == 0, run.stderr[-2000:]
    assert server.headers and all(h.get("Authorization") == f"Bearer {KEY}" for h in server.headers)
    assert KEY not in run.stdout and KEY not in run.stderr
    assert "HTTP 500" in run.stderr  # the failure was logged (without the key)
    assert ("DEBUG" in run.stderr) == verbose  # so was the odd answer, with --verbose
    written = files_under(out, cache, home) + files_under(tmp_path / "cache") * (not verbose)
    assert any(p.is_relative_to(cache) for p in written)  # the answers were cached ...
    assert any(p.name.endswith("_instances.npz") for p in written)  # ... and the outputs written ...
    for path in written:  # ... without the key, in their contents or their names
        assert KEY.encode() not in path.read_bytes(), path
        assert KEY not in str(path)
