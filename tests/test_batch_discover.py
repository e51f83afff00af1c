"""`tracklift.batch.discover`: scene folders of every dataset layout, list files, clear errors."""

import json

import pytest

from tracklift.batch.discover import find_scenes


def scannet(folder):
    for d in ("color", "depth", "pose", "intrinsic"):
        (folder / d).mkdir(parents=True)
    return folder


def posed_images(folder):
    folder.mkdir(parents=True)
    (folder / "intrinsic.txt").write_text("1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n")
    (folder / "00000.jpg").write_bytes(b"")
    return folder


def replica(folder):
    (folder / "results").mkdir(parents=True)
    (folder / "results" / "frame000000.jpg").write_bytes(b"")
    (folder / "traj.txt").write_text("")
    return folder


def names(jobs):
    return [j.name for j in jobs]


def test_scannet_scans_folder_sorted_and_non_scenes_ignored(tmp_path):
    for name in ("scene0002_00", "scene0001_01", "scene0001_00"):
        scannet(tmp_path / "scans" / name)
    (tmp_path / "scans" / "notes").mkdir()
    (tmp_path / "scans" / "readme.txt").write_text("")
    jobs = find_scenes(tmp_path)
    assert names(jobs) == ["scene0001_00", "scene0001_01", "scene0002_00"]
    assert jobs[0].path == tmp_path / "scans" / "scene0001_00"


def test_posed_images_and_replica_layouts(tmp_path):
    posed_images(tmp_path / "mmdet" / "posed_images" / "scene0113_00")
    assert names(find_scenes(tmp_path / "mmdet")) == ["scene0113_00"]
    for room in ("room1", "office0", "room0"):
        replica(tmp_path / "Replica" / room)
    (tmp_path / "Replica" / "cam_params.json").write_text(json.dumps({}))
    assert names(find_scenes(tmp_path / "Replica")) == ["office0", "room0", "room1"]


def test_root_that_is_a_scene_is_one_job(tmp_path):
    scannet(tmp_path / "scene0005_00")
    assert names(find_scenes(tmp_path / "scene0005_00")) == ["scene0005_00"]


def test_list_file_relative_absolute_and_comments(tmp_path):
    for name in ("a", "b", "c"):
        scannet(tmp_path / "scans" / name)
    other = posed_images(tmp_path / "elsewhere" / "z")
    listing = tmp_path / "val.txt"
    listing.write_text(f"# validation\nc\n\nscans/a\n{other}\n")
    assert names(find_scenes(tmp_path, listing)) == ["a", "c", "z"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("a\nmissing\n", "line 2: no scene folder 'missing'"),
        ("notascene\n", "line 1:"),
        ("# nothing\n", "names no scene"),
    ],
)
def test_list_file_errors_name_the_line(tmp_path, content, message):
    scannet(tmp_path / "scans" / "a")
    (tmp_path / "notascene").mkdir()
    (tmp_path / "notascene" / "x.txt").write_text("")
    listing = tmp_path / "list.txt"
    listing.write_text(content)
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        find_scenes(tmp_path, listing)


def test_clashing_names_and_empty_root_are_errors(tmp_path):
    scannet(tmp_path / "scans" / "s")
    posed_images(tmp_path / "posed_images" / "s")
    with pytest.raises(ValueError, match="two scenes are named 's'"):
        find_scenes(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no scene folders found"):
        find_scenes(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="no such dataset folder"):
        find_scenes(tmp_path / "nope")
