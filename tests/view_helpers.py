"""Shared pieces of the viewer tests: a free port, a running viser server, a segmented tiny scene."""

from __future__ import annotations

import socket

import pytest

from tracklift.cli import main


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server():
    pytest.importorskip("viser")
    from tracklift.view.server import start_server

    srv = start_server(None, free_port())
    yield srv
    srv.stop()


def segment(root, masks_dir, out, *extra: str) -> None:
    """`tracklift segment` of the box scene of test_pipeline_cli, spatial tracking, fused points."""
    code = main(
        [
            "segment",
            str(root),
            "--out",
            str(out),
            "--masks",
            str(masks_dir),
            "--voxel",
            "0.05",
            "--features",
            "none",
            "--mode",
            "spatial",
            "--pictures",
            "0",
            *extra,
        ]
    )
    assert code == 0
