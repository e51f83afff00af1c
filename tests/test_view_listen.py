"""Nothing listens on the network unless asked, end to end: `tracklift view` and `tracklift segment --live`
started as a user would, their listening sockets read from /proc: loopback by default, every interface only
with `--host 0.0.0.0`."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from tests.processes import start
from tests.splat_toy import toy_cameras, toy_gaussians
from tests.view_helpers import free_port
from tracklift.cli import main

pytest.importorskip("viser")
if not Path("/proc/self/net/tcp").exists():
    pytest.skip("listening sockets are read from Linux's /proc", allow_module_level=True)


def _address(hex_address: str) -> str:
    """/proc/net/tcp{,6}'s hex address (32-bit words in host order, little-endian here) as text."""
    raw = b"".join(bytes.fromhex(hex_address[i : i + 8])[::-1] for i in range(0, len(hex_address), 8))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def listening(pid: int) -> set[tuple[str, int]]:
    """The (address, port) of every TCP socket process `pid` listens on."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:  # closed while we looked
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A = LISTEN
                address, port = local.split(":")
                found.add((_address(address), int(port, 16)))
    return found


def sockets_of(args: list[str], timeout: float = 120.0) -> set[tuple[str, int]]:
    """Start `tracklift ARGS`, wait until it listens, return where; the process is killed after."""
    proc = start(args)
    try:
        deadline = time.monotonic() + timeout
        while not (found := listening(proc.pid)):
            assert proc.poll() is None, f"tracklift {args[0]} ended (exit {proc.returncode}) before listening"
            assert time.monotonic() < deadline, f"tracklift {args[0]} not listening after {timeout} s"
            time.sleep(0.05)
        return found
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A Gaussian model folder (the toy boxes): the cheapest thing `tracklift view` opens."""
    from tracklift.splat.io.camera_file import write_cameras
    from tracklift.splat.io.ply import write_gaussians_ply

    folder = tmp_path_factory.mktemp("listen") / "model"
    g, _ = toy_gaussians()
    cams = toy_cameras(2)
    write_gaussians_ply(folder / "point_cloud.ply", g)
    write_cameras(folder / "cameras.json", cams, [False, False])
    return folder


def test_view_listens_on_loopback_only_by_default(model):
    port = free_port()
    assert sockets_of(["view", str(model), "--port", str(port)]) == {("127.0.0.1", port)}


def test_view_listens_on_every_interface_only_when_asked(model):
    port = free_port()
    assert sockets_of(["view", str(model), "--port", str(port), "--host", "0.0.0.0"]) == {("0.0.0.0", port)}


def test_segment_live_listens_on_loopback_only_by_default(tmp_path):
    scene, masks = tmp_path / "scene0001_00", tmp_path / "masks"
    synth = ["synth", str(scene), "--frames", "4", "--width", "64", "--height", "48", "--objects", "5", "--quiet"]
    assert main(synth) == 0
    assert main(["synth-masks", str(scene), "--out", str(masks), "--quiet"]) == 0
    port = free_port()
    args = ["segment", str(scene), "--masks", str(masks), "--out", str(tmp_path / "out"), "--live", "--port", str(port)]
    assert sockets_of(args) == {("127.0.0.1", port)}
