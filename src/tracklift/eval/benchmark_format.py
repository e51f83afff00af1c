"""The ScanNet benchmark prediction format: read it (for evaluation) and write it (for peers).

`<dir>/<scene>.txt` lists one instance per line, `<mask file> <label> <score>`, where the mask file is
relative to `<dir>` (ours: `pred_mask/<scene>_<k>.txt`, one 0/1 line per reference vertex), the label is
a vocabulary id or a class name (which may contain spaces) and the score is the last field. Beside it,
`<scene>.json` repeats the instances with names and extra fields (views, box, …).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from pathlib import Path

import numpy as np

from tracklift.eval.idfile import mask_to_bytes, read_ids
from tracklift.eval.prediction import PredictedInstance
from tracklift.io.atomic import atomic_write_bytes, atomic_write_text
from tracklift.io.paths import contained_path
from tracklift.io.textfile import read_text
from tracklift.vocab import Vocabulary

log = logging.getLogger(__name__)

MASK_DIR = "pred_mask"
# The label column value of an instance without a class (label_id None).
UNKNOWN_LABEL_ID = -1
_INTEGER = re.compile(r"^[+-]?\d+(\.0*)?$")  # ids may be written as floats ("5.0"), as the reference reads them


def read_predictions(
    pred_dir: str | os.PathLike,
    vocab: Vocabulary | None,
    num_vertices: dict[str, int] | None = None,
    strict_labels: bool = False,
) -> dict[str, list[PredictedInstance]]:
    """scene -> instances, from every `<scene>.txt` directly inside `pred_dir`.

    vocab: resolves class names and checks ids (an unknown one is an error); None keeps numeric ids
           unchecked and names as None (class-agnostic evaluation).
    num_vertices: scene -> expected mask length; a mask file of another length is an error.
    strict_labels: a label of the vocabulary that is not evaluated (wall, floor) is an error too; by
           default it is read, and `evaluate` skips and counts it as ScanNet's reference script does.
    Errors name the file and line.
    """
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise FileNotFoundError(f"prediction folder {pred_dir} does not exist")
    index_files = sorted(p for p in pred_dir.glob("*.txt") if p.is_file())
    if not index_files:
        raise FileNotFoundError(f"prediction folder {pred_dir} has no <scene>.txt files")
    expected = num_vertices or {}
    return {p.stem: _read_scene(p, pred_dir, vocab, expected.get(p.stem), strict_labels) for p in index_files}


def _read_scene(
    index: Path, pred_dir: Path, vocab: Vocabulary | None, num_vertices: int | None, strict_labels: bool
) -> list[PredictedInstance]:
    # Keyed by mask file: a file listed twice keeps its first place and its last label and score,
    # as the reference reads it.
    entries: dict[Path, tuple[int | None, float, str]] = {}
    for lineno, line in enumerate(read_text(index).splitlines(), 1):
        if not line.strip():
            continue
        where = f"{index} line {lineno}"
        fields = line.split()
        if len(fields) < 3:
            raise ValueError(f"{where}: expected '<mask file> <label> <score>', found {line!r}")
        rel, label, score_text = fields[0], " ".join(fields[1:-1]), fields[-1]
        try:
            score = float(score_text)
        except ValueError:
            raise ValueError(f"{where}: score {score_text!r} is not a number") from None
        if not math.isfinite(score):
            raise ValueError(f"{where}: score {score_text!r} is not finite")
        mask_path = contained_path(pred_dir, rel, where, "mask file")
        if mask_path in entries:
            log.warning("%s: mask file %s is listed again; the later line wins", where, rel)
        label_id = _label_id(label, vocab, where)
        if strict_labels and vocab is not None and label_id is not None and label_id not in vocab.evaluated:
            raise ValueError(
                f"{where}: label {vocab.name_of(label_id)!r} (id {label_id}) is not an evaluated "
                f"class of {vocab.name!r} (without --strict-labels it is skipped and counted)"
            )
        entries[mask_path] = (label_id, score, where)
    instances = []
    for mask_path, (label_id, score, where) in entries.items():
        if not mask_path.is_file():
            raise FileNotFoundError(f"{where}: mask file {mask_path} does not exist")
        mask = read_ids(mask_path) != 0
        if num_vertices is not None and len(mask) != num_vertices:
            raise ValueError(
                f"mask file {mask_path} ({where}) has {len(mask)} lines, the scene's GT has {num_vertices} vertices"
            )
        instances.append(PredictedInstance(mask, label_id, score))
    return instances


def _label_id(label: str, vocab: Vocabulary | None, where: str) -> int | None:
    """A label column value as a vocabulary id; UNKNOWN_LABEL_ID reads as None."""
    if _INTEGER.match(label):
        label_id = int(float(label))
        if label_id == UNKNOWN_LABEL_ID:
            return None
        if vocab is not None and label_id not in vocab:
            raise ValueError(f"{where}: unknown label id {label_id} (not in vocabulary {vocab.name!r})")
        return label_id
    if vocab is None:
        return None
    try:
        return vocab.id_of(label)
    except KeyError:
        raise ValueError(f"{where}: unknown label {label!r} (not in vocabulary {vocab.name!r})") from None


def write_predictions(
    out_dir: str | os.PathLike,
    scene: str,
    preds: list[PredictedInstance],
    vocab: Vocabulary,
    extra_json: list[dict] | None = None,
    scene_json: dict | None = None,
) -> Path:
    """Write one scene's instances in the benchmark format; returns the path of `<scene>.txt`.

    Each file is written atomically; mask files first, then `<scene>.json`, then the index
    `<scene>.txt`, so an index never names a missing mask. Mask files of an earlier, longer run of the
    same scene are removed. extra_json: one dict per instance merged into its JSON entry (views, box, …).
    scene_json: more top-level entries of `<scene>.json` (they may not override "scene" or "instances").
    A label_id of None is written as UNKNOWN_LABEL_ID.
    """
    out_dir = Path(out_dir)
    if not scene or re.search(r"[\s/\\]", scene):
        raise ValueError(f"scene name {scene!r} must be non-empty without spaces or slashes")
    if extra_json is not None and len(extra_json) != len(preds):
        raise ValueError(f"extra_json has {len(extra_json)} entries for {len(preds)} instances")
    lengths = {len(p.mask) for p in preds}
    if len(lengths) > 1:
        raise ValueError(f"scene {scene!r}: instance masks have different lengths {sorted(lengths)}")
    lines, entries = [], []
    for k, p in enumerate(preds):
        if p.label_id is not None and p.label_id not in vocab:
            raise ValueError(f"scene {scene!r} instance {k}: label id {p.label_id} is not in vocabulary {vocab.name!r}")
        rel = f"{MASK_DIR}/{scene}_{k}.txt"
        atomic_write_bytes(out_dir / rel, mask_to_bytes(p.mask))
        label_id = UNKNOWN_LABEL_ID if p.label_id is None else p.label_id
        # repr keeps the score exact, so ties and order survive the round trip
        lines.append(f"{rel} {label_id} {p.score!r}\n")
        entry = {
            "mask_file": rel,
            "label": None if p.label_id is None else vocab.name_of(p.label_id),
            "label_id": p.label_id,
            "score": p.score,
        }
        extra = extra_json[k] if extra_json is not None else {}
        clash = set(extra) & set(entry)
        if clash:
            raise ValueError(f"scene {scene!r} instance {k}: extra_json may not override {sorted(clash)}")
        entries.append({**entry, **extra})
    clash = set(scene_json or {}) & {"scene", "instances"}
    if clash:
        raise ValueError(f"scene {scene!r}: scene_json may not override {sorted(clash)}")
    document = {"scene": scene, "instances": entries, **(scene_json or {})}
    atomic_write_text(out_dir / f"{scene}.json", json.dumps(document, indent=1, default=_json_default, allow_nan=False))
    atomic_write_text(out_dir / f"{scene}.txt", "".join(lines))
    _remove_stale_masks(out_dir / MASK_DIR, scene, len(preds))
    return out_dir / f"{scene}.txt"


def _json_default(value: object) -> object:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _remove_stale_masks(mask_dir: Path, scene: str, count: int) -> None:
    pattern = re.compile(rf"^{re.escape(scene)}_(\d+)\.txt$")
    if not mask_dir.is_dir():
        return
    for path in mask_dir.iterdir():
        m = pattern.match(path.name)
        if m and int(m.group(1)) >= count:
            path.unlink()
