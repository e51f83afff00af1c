"""The viewer of a segmented scene, driven from Python: what it loads, draws, highlights and replays;
bad folders, a taken port and a non-loopback host give one-line errors."""

import json
import socket
from types import SimpleNamespace

import numpy as np
import pytest

from tracklift.cli import main
from tracklift.core.instance import Instance3D
from tracklift.outputs.pictures import instance_colors
from tracklift.outputs.scene_files import write_scene
from tracklift.view.outputs import load_segmented, output_kind
from tracklift.view.segmented import BACKGROUND, DIM_SHARE, HIGHLIGHT, element_owner, element_steps, match_colours
from tracklift.view.server import check_host, check_port_free, is_loopback
from tracklift.vocab import load_vocabulary

from .test_pipeline_cli import scene  # noqa: F401  (module fixture: a scene folder and its masks)
from .view_helpers import free_port, segment, server  # noqa: F401


@pytest.fixture(scope="module")
def out(scene, tmp_path_factory):  # noqa: F811
    root, masks_dir = scene
    path = tmp_path_factory.mktemp("view") / "out"
    segment(root, masks_dir, path)
    return path


def test_element_steps_and_owners_of_points_and_faces():
    history = SimpleNamespace(point_step=np.array([0, 2, -1, 1]), steps=4)
    owner = np.array([0, 0, 1, -1])
    points = SimpleNamespace(points=np.zeros((4, 3)), owner=owner, faces=None, history=history)
    assert element_steps(points).tolist() == [0, 2, 3, 1]  # never tracked: shown from the last step
    assert element_owner(points).tolist() == [0, 0, 1, -1]
    faces = np.array([[0, 1, 3], [0, 1, 1], [2, 2, 2]])
    mesh = SimpleNamespace(points=np.zeros((4, 3)), owner=owner, faces=faces, history=history)
    assert element_steps(mesh).tolist() == [2, 2, 3]
    assert element_owner(mesh).tolist() == [-1, 0, 1]
    assert element_steps(SimpleNamespace(points=np.zeros((4, 3)), faces=None, history=None)).tolist() == [0] * 4


def test_match_colours():
    palette = instance_colors(3)
    np.testing.assert_array_equal(match_colours(palette, None), palette)
    coloured = match_colours(palette, [2])
    np.testing.assert_array_equal(coloured[2], HIGHLIGHT)
    np.testing.assert_array_equal(coloured[0], (DIM_SHARE * palette[0] + (1 - DIM_SHARE) * BACKGROUND).astype(np.uint8))
    # the highlight is never an instance colour
    assert (np.abs(instance_colors(500).astype(int) - HIGHLIGHT).max(axis=1) >= 25).all()


def test_viewer_draws_each_instance_and_its_box(out, server):  # noqa: F811
    from tracklift.view.segmented import SegmentedViewer

    output = load_segmented(out)
    view = SegmentedViewer(server, output)
    n = len(output.entries)
    assert n >= 3 and set(view.nodes) == set(range(-1, n))
    for k in range(n):
        np.testing.assert_allclose(
            np.sort(view.nodes[k].points, axis=0), np.sort(output.points[output.owner == k], axis=0)
        )
        np.testing.assert_array_equal(view.nodes[k].colors, instance_colors(n)[k])
        box = np.asarray(output.entries[k]["box"])
        np.testing.assert_allclose(view.boxes[k].position, box[:3], atol=1e-6)
        assert view.labels[k].text == f"{output.entries[k]['label']} {output.entries[k]['score']:.2f}"
    view.set_visible(1, False)
    assert not view.nodes[1].visible and not view.boxes[1].visible and not view.labels[1].visible
    assert view.nodes[0].visible


def test_slider_replays_the_growth(out, server):  # noqa: F811
    from tracklift.view.segmented import SegmentedViewer

    view = SegmentedViewer(server, load_segmented(out))
    history = view.output.history
    total = [sum(len(view.nodes[k].points) for k in range(len(view.output.entries)))]
    for step in range(history.steps - 1, -1, -1):
        view.set_step(step)
        total.append(sum(len(view.nodes[k].points) for k in range(len(view.output.entries))))
        np.testing.assert_allclose(view.cameras.current.position, history.pose[step, :3, 3], atol=1e-5)
    assert total[0] == total[1] == int((view.output.owner >= 0).sum())
    assert total == sorted(total, reverse=True) and total[-1] < total[0]


def test_query_highlights_the_best_match_and_clears(out, server):  # noqa: F811
    from tracklift.view.segmented import SegmentedViewer

    view = SegmentedViewer(server, load_segmented(out))
    labels = [e["label"] for e in view.output.entries]
    view.query.value = "cabinet"  # what typing does; the callback runs the query
    matches = view.run_query("cabinet")
    assert matches and {labels[k] for k in matches} == {"cabinet"}
    assert len(matches) == min(labels.count("cabinet"), 3)
    for k in range(len(labels)):
        expected = HIGHLIGHT if k in matches else match_colours(view.palette, matches)[k]
        np.testing.assert_array_equal(view.nodes[k].colors, expected)
    assert view.labels[matches[0]].text.startswith("#1 cabinet")
    assert "cabinet" in view.results.content
    view.query.value = ""
    assert view.run_query("") == []
    np.testing.assert_array_equal(view.nodes[matches[0]].colors, view.palette[matches[0]])


def test_clicking_a_camera_shows_its_frame(out, server, scene):  # noqa: F811
    import cv2

    from tracklift.view.segmented import SegmentedViewer

    root, _ = scene
    view = SegmentedViewer(server, load_segmented(out), frustums=3)
    assert len(view.cameras.frustums) == 3
    step = max(view.cameras.frustums)
    view.cameras.show_frame(step)
    name = view.output.history.frame_name[step]
    expected = cv2.imread(str(root / "color" / f"{name}.jpg"))[..., ::-1]
    np.testing.assert_array_equal(view.cameras.image.image, expected)
    assert view.cameras.image.visible and view.cameras.image.label == f"frame {name}"


def test_mesh_outputs_are_drawn_as_meshes_per_instance(tmp_path, server):  # noqa: F811
    from tracklift.view.segmented import SegmentedViewer

    # three unit squares (two triangles each) in a row: instance 0 owns the left one, 1 the right one; the
    # middle one has corners of both and is background
    points = np.array(
        [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [2, 0, 0], [2, 1, 0], [3, 0, 0], [3, 1, 0]], np.float32
    )
    faces = np.array([[0, 1, 2], [0, 2, 3], [1, 4, 5], [1, 5, 2], [4, 6, 7], [4, 7, 5]])
    masks = np.array([[1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1]], bool)
    instances = [
        Instance3D(0, points[masks[0]], {"chair": 1.0}, [0], 0.9),
        Instance3D(1, points[masks[1]], {"table": 1.0}, [0], 0.5),
    ]
    write_scene(tmp_path, "m", instances, masks, points, load_vocabulary("scannet200"), reference="mesh", faces=faces)
    view = SegmentedViewer(server, load_segmented(tmp_path))
    assert len(view.nodes[0].faces) == 2 and len(view.nodes[1].faces) == 2 and len(view.nodes[-1].faces) == 2
    np.testing.assert_allclose(view.nodes[1].vertices[:, 0].min(), 2.0)
    assert view.cameras is None  # no history: no cameras, no slider
    view.run_query("table")
    assert view.nodes[1].color == tuple(int(c) for c in HIGHLIGHT)


def test_hosts_and_ports():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    assert check_host(None, explicit=False) == "127.0.0.1"
    with pytest.raises(ValueError, match="refusing to serve on non-loopback host 0.0.0.0.*--host"):
        check_host("0.0.0.0", explicit=False)
    assert check_host("0.0.0.0", explicit=True) == "0.0.0.0"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ValueError, match=f"port {port} on 127.0.0.1 is in use"):
            check_port_free("127.0.0.1", port)
    with pytest.raises(ValueError, match="1..65535"):
        check_port_free("127.0.0.1", 70000)


def test_view_cli_bad_input_is_one_line(out, tmp_path, capsys):
    assert main(["view", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.strip() == f"tracklift view: error: {tmp_path / 'nope'}: no such folder"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["view", str(empty)]) == 2
    assert "neither a `tracklift segment` output" in capsys.readouterr().err
    # an output of an older tracklift: predictions and JSON, no instances .npz
    old = tmp_path / "old"
    old.mkdir()
    (old / "s.txt").write_text("")
    (old / "s.json").write_text(json.dumps({"scene": "s", "instances": []}))
    assert main(["view", str(old)]) == 2
    err = capsys.readouterr().err
    assert "s.json has no s_instances.npz" in err and "older tracklift" in err and len(err.strip().splitlines()) == 1
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["view", str(out), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip()
        == f"tracklift view: error: port {port} on 127.0.0.1 is in use (another viewer?); pick another with --port"
    )


def test_outputs_without_history_still_open(out, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "boxes_history.npz").unlink()
    assert output_kind(copy) == "segment"
    assert load_segmented(copy).history is None
    (copy / "boxes_history.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="boxes_history.npz: not a history .npz"):
        load_segmented(copy)


@pytest.mark.parametrize(
    "host, where",
    [
        (None, "http://localhost:{port} (loopback only; pass --host"),
        ("0.0.0.0", "http://0.0.0.0:{port} (visible on the network)"),
    ],
)
def test_view_cli_serves_until_stopped(out, host, where, monkeypatch, capsys):
    pytest.importorskip("viser")
    import tracklift.view.server as server_module

    served = []
    monkeypatch.setattr(server_module, "serve_forever", lambda srv: (served.append(srv.get_host()), srv.stop()))
    port = free_port()
    assert main(["view", str(out), "--port", str(port), *(["--host", host] if host else [])]) == 0
    printed = capsys.readouterr().out
    assert served == [host or "127.0.0.1"]
    assert f"viewer: {where.format(port=port)}" in printed and "loaded in" in printed
