"""Per-scene completion markers: `OUT/.batch/<scene>.done` is written atomically after every output of the
scene, and names the settings that made them and each file's size. A rerun skips a scene only when its marker
matches the current settings and every listed file is still there with that size; anything else (no marker,
other settings, a file missing or changed) means the scene is redone. `<scene>.running` says which process
works on a scene now; `<scene>.log` keeps the worker's messages."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import re
from pathlib import Path

from tracklift.io.atomic import atomic_write_text
from tracklift.io.paths import contained_path

STATE_DIR = ".batch"


def settings_key(settings: dict) -> str:
    """A hash of the JSON-serialisable settings that determine a scene's outputs."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def state_path(out: str | Path, scene: str, kind: str) -> Path:
    """OUT/.batch/<scene>.<kind>: kind 'done' (marker), 'running' or 'log'."""
    return Path(out) / STATE_DIR / f"{scene}.{kind}"


def scene_files(out: str | Path, scene: str) -> list[Path]:
    """The files `tracklift segment` wrote for `scene` in `out`: the index `<scene>.txt`, the mask files it
    names, and `<scene>.json`, `<scene>_instances.{npz,ply}` and the `<scene>_<kind>.png` pictures."""
    out = Path(out)
    index = out / f"{scene}.txt"
    masks = []
    for k, line in enumerate(index.read_text().splitlines(), start=1):
        if line.strip():
            name = line.split()[0]
            contained_path(out, name, f"{index} line {k}", "mask file")  # refused when it leaves OUT
            masks.append(out / name)
    picture = re.compile(re.escape(scene) + r"_[a-z]+\.png")
    pictures = sorted(p for p in out.glob(f"{glob.escape(scene)}_*.png") if picture.fullmatch(p.name))
    return [
        index,
        *masks,
        out / f"{scene}.json",
        out / f"{scene}_instances.npz",
        out / f"{scene}_instances.ply",
        *pictures,
    ]


def write_marker(out: str | Path, scene: str, key: str, result: dict) -> None:
    """Mark `scene` complete: its settings key, its files with their sizes and the run's `result`."""
    out = Path(out)
    files = {str(p.relative_to(out)): p.stat().st_size for p in scene_files(out, scene)}
    document = {"scene": scene, "settings": key, "files": files, "result": result}
    atomic_write_text(state_path(out, scene, "done"), json.dumps(document, indent=1, sort_keys=True))


def completed(out: str | Path, scene: str, key: str) -> dict | None:
    """The recorded result when `scene`'s outputs in `out` are complete for settings `key`, else None."""
    out = Path(out)
    path = state_path(out, scene, "done")
    try:
        document = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if document.get("settings") != key:
        return None
    for name, size in document.get("files", {}).items():
        file = contained_path(out, name, f"{path} 'files'", "output")
        if not file.is_file() or file.stat().st_size != size:
            return None
    return document.get("result", {})


def clear_marker(out: str | Path, scene: str) -> None:
    """Forget that `scene` was complete (before its outputs are rewritten)."""
    with contextlib.suppress(FileNotFoundError):
        state_path(out, scene, "done").unlink()
