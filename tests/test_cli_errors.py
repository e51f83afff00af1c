"""The top-level command line on file-system faults and bad names (issue 16): one line
`tracklift CMD: error: …` naming the file, exit 2, never a traceback."""

from __future__ import annotations

import errno
import tempfile

import numpy as np
import pytest

from tests.faults import deny, write_frame_masks
from tests.fixtures_rgbd import make_scannet
from tests.test_eval_io import gt_ids, mask, write_gt
from tracklift.cli import main, one_line
from tracklift.eval import PredictedInstance, write_predictions
from tracklift.vocab import load_vocabulary
from tracklift.vocab.load import UnknownVocabularyError


def _one_error_line(capsys, command: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("tracklift ")]  # others: progress bars
    assert len(lines) == 1 and lines[0].startswith(f"tracklift {command}: error: "), err
    return lines[0]


def _eval_case(tmp_path) -> list[str]:
    write_gt(tmp_path / "gt", "s", gt_ids())
    write_predictions(tmp_path / "pred", "s", [PredictedInstance(mask(0, 200), 2, 0.9)], load_vocabulary("scannet200"))
    return ["eval", "--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt")]


def _segment(scene, out, masks) -> list[str]:
    write_frame_masks(masks, ["0", "1", "2"])
    return [
        "segment",
        str(scene),
        "--out",
        str(out),
        "--segmenter",
        "precomputed",
        "--masks",
        str(masks),
        "--max-frames",
        "3",
        "--classifier",
        "none",
        "--pictures",
        "0",
    ]


def test_eval_json_naming_a_folder(tmp_path, capsys):
    (tmp_path / "r.json").mkdir()
    assert main([*_eval_case(tmp_path), "--json", str(tmp_path / "r.json")]) == 2
    assert _one_error_line(capsys, "eval").endswith(f"{tmp_path / 'r.json'}: Is a directory")


def test_eval_json_inside_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main([*_eval_case(tmp_path), "--json", str(tmp_path / "file" / "r.json")]) == 2
    assert f"{tmp_path / 'file'}: File exists" in _one_error_line(capsys, "eval")


def test_eval_gt_file_the_user_may_not_read(tmp_path, monkeypatch, capsys):
    args = _eval_case(tmp_path)
    deny(monkeypatch, tmp_path / "gt" / "s.txt")
    assert main(args) == 2
    assert _one_error_line(capsys, "eval").endswith(f"{tmp_path / 'gt' / 's.txt'}: Permission denied")


def test_segment_out_naming_a_file(tmp_path, capsys):
    fx = make_scannet(tmp_path, n=2)
    (tmp_path / "out").write_text("not a folder")
    assert main(_segment(fx.root, tmp_path / "out", tmp_path / "masks")) == 2
    assert f"{tmp_path / 'out'}" in _one_error_line(capsys, "segment")


def test_segment_output_folder_not_writable(tmp_path, monkeypatch, capsys):
    fx = make_scannet(tmp_path, n=2)
    out = tmp_path / "out"
    real = tempfile.mkstemp

    def refuse(*args, dir=None, **kwargs):
        if dir is not None and str(dir).startswith(str(out)):
            raise PermissionError(errno.EACCES, "Permission denied", str(dir))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    assert main(_segment(fx.root, out, tmp_path / "masks")) == 2
    assert _one_error_line(capsys, "segment").endswith("Permission denied")


def test_info_on_intrinsics_or_depth_folder_the_user_may_not_read(tmp_path, monkeypatch, capsys):
    fx = make_scannet(tmp_path, n=2)
    with monkeypatch.context() as m:
        deny(m, fx.root / "intrinsic" / "intrinsic_depth.txt")
        assert main(["info", str(fx.root)]) == 2
        assert "intrinsic_depth.txt: Permission denied" in _one_error_line(capsys, "info")
    deny(monkeypatch, fx.root / "depth")
    assert main(["info", str(fx.root)]) == 2
    assert f"{fx.root / 'depth'}: Permission denied" in _one_error_line(capsys, "info")


@pytest.mark.parametrize("vocab", ["bogus", "/nonexistent/vocab.txt"])
def test_segment_with_an_unknown_vocabulary(tmp_path, capsys, vocab):
    fx = make_scannet(tmp_path, n=2)
    assert main([*_segment(fx.root, tmp_path / "out", tmp_path / "masks"), "--vocab", vocab]) == 2
    line = _one_error_line(capsys, "segment")
    assert vocab in line and ("unknown vocabulary" in line or "does not exist" in line)


def test_vocabulary_from_a_class_file_path(tmp_path):
    path = tmp_path / "mine.tsv"
    path.write_text("id\tname\n3\tlamp\n5\tdesk\n")
    vocab = load_vocabulary(str(path))
    assert vocab.ids == (3, 5) and vocab.name_of(5) == "desk"
    with pytest.raises(KeyError):  # the packaged-name contract stays
        load_vocabulary("nyu40")
    assert str(UnknownVocabularyError("plain message")) == "plain message"


def test_one_line_names_the_file():
    err = PermissionError(errno.EACCES, "Permission denied", "/data/scene/0.png")
    assert one_line(err) == "/data/scene/0.png: Permission denied"
    assert one_line(ValueError("two\nlines")) == "two lines"
    assert one_line(FileNotFoundError("gone.txt: missing")) == "gone.txt: missing"


def test_non_utf8_scene_folder_is_read_and_written(tmp_path, capsys):
    fx = make_scannet(tmp_path, n=3)
    scene = fx.root.rename(fx.root.with_name("sc\udcffene"))
    assert main(["info", str(scene)]) == 0
    assert "sc\\udcffene" in capsys.readouterr().out
    assert main(_segment(scene, tmp_path / "out", tmp_path / "masks")) == 0
    assert (tmp_path / "out" / "sc\udcffene.txt").is_file()
    assert np.load(tmp_path / "out" / "sc\udcffene_instances.npz")["points"].shape[1] == 3


def test_eval_gt_id_beyond_int64_names_file_and_line(tmp_path, capsys):
    args = _eval_case(tmp_path)
    gt = tmp_path / "gt" / "s.txt"
    lines = gt.read_text().splitlines()
    lines[4] = "99999999999999999999999"
    gt.write_text("\n".join(lines) + "\n")
    assert main(args) == 2
    assert _one_error_line(capsys, "eval").endswith(f"{gt} line 5: integer 99999999999999999999999 is out of range")
