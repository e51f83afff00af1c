"""`tracklift info`: the scene summary, --check listing bad frames, and bad input as one error line."""

from __future__ import annotations

import re

from tests.fixtures_rgbd import make_scannet, make_tum
from tracklift.cli import main


def _fields(out: str) -> dict[str, str]:
    rows = {}
    for line in out.splitlines():
        if line and not line.startswith(" "):
            key, value = re.split(r"\s{2,}", line, maxsplit=1)
            rows[key] = value
    return rows


def test_info_summarises_a_scannet_scene(tmp_path, capsys):
    fx = make_scannet(tmp_path, n=5)
    (fx.root / "scene0000_00_vh_clean_2.ply").write_text("ply\n")
    assert main(["info", str(fx.root)]) == 0
    out = capsys.readouterr().out
    rows = _fields(out)
    assert rows["layout"] == "scannet" and rows["frames"] == "5" and rows["scene"] == "scene0000_00"
    assert rows["colour"].startswith("128×96") and rows["depth"] == "64×48"
    assert rows["intrinsics"].startswith("fx 50.000  fy 51.000  cx 31.500  cy 23.500")
    assert rows["depth range"].startswith("0.5") and "over 3 good frames" in rows["depth range"]
    assert rows["mesh"] == "scene0000_00_vh_clean_2.ply" and rows["gt"] == "-"
    assert rows["bad frames"].startswith("0 ")
    # values start in one column
    summary = [line for line in out.splitlines() if not line.startswith(" ")]
    assert len({len(line) - len(line[line.index("  ") :].lstrip()) for line in summary}) == 1


def test_info_check_lists_every_bad_frame(tmp_path, capsys):
    fx = make_scannet(tmp_path, n=5)
    fx.files["1"]["depth"].unlink()
    fx.files["3"]["pose"].write_text("\n".join(["-inf -inf -inf -inf"] * 4))
    assert main(["info", str(fx.root), "--check"]) == 0
    out = capsys.readouterr().out
    assert _fields(out)["bad frames"] == "2 (all frames read)"
    bad = [line.split(maxsplit=1) for line in out.splitlines() if line.startswith("  ")]
    assert [name for name, _ in bad] == ["1", "3"]
    assert "depth/1.png: missing" in bad[0][1] and "NaN or inf" in bad[1][1]


def test_info_with_explicit_layout(tmp_path, capsys):
    fx = make_tum(tmp_path)
    assert main(["info", str(fx.root), "--layout", "tum", "--samples", "1"]) == 0
    rows = _fields(capsys.readouterr().out)
    assert rows["layout"] == "tum" and "over 1 good frame)" in rows["depth range"]


def test_info_on_bad_input_is_one_error_line(tmp_path, capsys):
    assert main(["info", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "tracklift info: error:" in err and "empty" in err
    (tmp_path / "x.txt").write_text("x")
    assert main(["info", str(tmp_path)]) == 2
    assert "unknown scene layout" in capsys.readouterr().err


def test_info_when_no_frame_is_readable(tmp_path, capsys):
    fx = make_scannet(tmp_path, n=2)
    for name in fx.names:
        fx.files[name]["color"].unlink()
    assert main(["info", str(fx.root)]) == 1  # nothing readable: info fails as segment does (issue 16)
    rows = _fields(capsys.readouterr().out)
    assert rows["colour"].startswith("- (no readable frame") and rows["bad frames"].startswith("2 ")
