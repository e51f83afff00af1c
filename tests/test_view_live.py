"""Following a run: the live viewer (`segment --live`) and the rerun recording (`segment --rerun`)."""

import numpy as np
import pytest

from tracklift.cli import main
from tracklift.lift.voxels import key_centres

from .test_pipeline_cli import scene  # noqa: F401  (module fixture: a scene folder and its masks)
from .test_pipeline_mapper import config
from .view_helpers import free_port, segment, server  # noqa: F401


def test_live_viewer_follows_the_tracks_and_hands_over_to_the_result(scene, server, tmp_path):  # noqa: F811
    from tracklift.data.scene import open_scene
    from tracklift.pipeline import map_scene
    from tracklift.pipeline.backends import make_segmenter
    from tracklift.view.live import LiveViewer, track_colour
    from tracklift.view.segmented import SegmentedViewer

    root, masks_dir = scene
    live = LiveViewer(server, 0.05)
    seen = []
    mapper = map_scene(
        open_scene(root),
        make_segmenter("precomputed", masks_dir),
        None,
        config(),
        progress=False,
        on_frame=lambda m, f, masks, ids: (live.update(m, f, masks, ids), seen.append(f.pose)),
    )
    tracks = mapper.tracker.tracks
    assert set(live.nodes) == set(tracks)
    for t, node in live.nodes.items():
        np.testing.assert_allclose(node.points, key_centres(tracks[t].voxels.keys, 0.05))
        np.testing.assert_array_equal(node.colors, track_colour(t))
    np.testing.assert_allclose(live.camera.position, seen[-1][:3, 3])
    assert len(live.trajectory.points) == len(seen) - 1 and "tracks" in live.status.content
    segment(root, masks_dir, tmp_path / "out")
    viewer = live.finish(tmp_path / "out")
    assert isinstance(viewer, SegmentedViewer) and not live.nodes


def test_segment_live_serves_until_stopped(scene, tmp_path, monkeypatch, capsys):  # noqa: F811
    pytest.importorskip("viser")
    import tracklift.view.server as server_module

    served = []
    monkeypatch.setattr(server_module, "serve_forever", lambda srv: (served.append(srv.get_port()), srv.stop()))
    root, masks_dir = scene
    port = free_port()
    segment(root, masks_dir, tmp_path / "out", "--live", "--port", str(port))
    assert served == [port]
    assert f"viewer: http://localhost:{port}" in capsys.readouterr().out


def test_segment_rerun_recording(scene, tmp_path, capsys):  # noqa: F811
    pytest.importorskip("rerun")
    from rerun.chunk import RrdReader

    root, masks_dir = scene
    rrd = tmp_path / "logs" / "run.rrd"
    segment(root, masks_dir, tmp_path / "out", "--rerun", str(rrd))
    assert str(rrd) in capsys.readouterr().out
    assert [p.name for p in rrd.parent.iterdir()] == ["run.rrd"]  # no temporary file left
    summary = RrdReader(rrd).store().summary().splitlines()
    rows: dict[str, int] = {}
    for line in summary:
        path, count = line.split()[0], int(line.split()[1].removeprefix("rows="))
        rows[path] = rows.get(path, 0) + count
    for path in (
        "/world/camera",
        "/world/camera/image",
        "/world/camera/image/rgb",
        "/world/camera/image/depth",
        "/world/camera/image/masks",
    ):
        assert rows[path] == 11, path  # one per mapped frame (frame 5 of 12 has a NaN pose)
    assert rows["/world/boxes"] == 12  # per frame, and the final instances'
    assert rows["/world/instances"] == 1
    assert any(p.startswith("/world/map/track_") for p in rows)


def test_segment_rerun_bad_path(scene, tmp_path, capsys):  # noqa: F811
    root, masks_dir = scene
    assert main(["segment", str(root), "--out", str(tmp_path), "--masks", str(masks_dir), "--rerun", "x.txt"]) == 2
    assert "--rerun must name a .rrd file, got x.txt" in capsys.readouterr().err


def test_segment_rerun_without_rerun_installed(scene, tmp_path, monkeypatch, capsys):  # noqa: F811
    import sys

    monkeypatch.setitem(sys.modules, "rerun", None)  # `import rerun` now raises ImportError
    root, masks_dir = scene
    code = main(
        [
            "segment",
            str(root),
            "--out",
            str(tmp_path),
            "--masks",
            str(masks_dir),
            "--rerun",
            str(tmp_path / "r.rrd"),
            "--pictures",
            "0",
            "--features",
            "none",
            "--mode",
            "spatial",
        ]
    )
    assert code == 2
    assert (
        capsys.readouterr().err.strip()
        == "tracklift segment: error: --rerun needs rerun-sdk: pip install 'tracklift[rerun]'"
    )
    assert not (tmp_path / "r.rrd").exists()
