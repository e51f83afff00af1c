"""Open-vocabulary benchmark: label voting, text mapping, superpoint refinement and queries on synthetic rooms.

`python -m benchmarks.openvocab [--quick]`. Per synthetic room (`tracklift.synth`) and mask preset the
OpenTrack3D pipeline runs once (fused tracker, weight-free handcrafted features, precomputed corrupted
masks, consistency refinement on: the `tracklift segment` defaults); the same instances are then named and
scored in four variants:

* `exact`           majority of the 2D label votes whose string is exactly a ScanNet200 name (case and
                    surrounding spaces ignored); synonyms and free-form labels are ignored;
* `text`            the `VoteClassifier`: every vote mapped onto the vocabulary (aliases, then MiniLM nearest
                    name above a similarity floor), weighted by the mapping similarity;
* `exact+sp`, `text+sp`  the same predictions snapped to mesh superpoints (`segment_mesh` on the room's
                    mesh, `snap_predictions`).

Mask presets: the harness's `oracle`, `mild`, `hard`, and `freeform` = `mild` with every correct label of a
class that has synonyms written as one ("sofa", "tv monitor", "bookcase"), as a segmenter prompted with its
own words would: there the text mapping matters (in `mild`/`hard` nearly every object also gets votes naming
it exactly, so ignoring synonyms costs little).

Size: the full suite is the harness's three rooms (640×480, 60 frames, 20 objects) under four presets, about
4 minutes on a shared 2-core machine with room and mask generation, 2 minutes once cached; `--quick` is one
320×240 room of 30 frames (15 objects) under three presets, about 30 seconds.

Instances are transferred onto the mesh vertices as the harness's methods do (`benchmarks.methods`), and
ranked by `instance_confidence(proposal score, label confidence)` (`labeller(..., rescore=True)`). Reported,
pooled over the rooms of a preset: semantic and class-agnostic AP / AP50 / AP25 (ScanNet protocol), and
query retrieval (`query_benchmark`: class names, synonyms and functional phrasings generated from the
room's objects) on the `text`-labelled instances, ranked by rules on the labels alone and with the vote
classifier's query score. Writes `benchmarks/results/<suite>.json` and the section of BENCHMARKS.md
between the openvocab markers.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from tqdm import tqdm

from benchmarks.markdown import fmt
from benchmarks.measure import machine
from benchmarks.scenes import build_cached, ensure_masks, ensure_scene
from benchmarks.suite import FULL as HARNESS_FULL
from benchmarks.suite import Suite

if TYPE_CHECKING:
    from tracklift.core.instance import Instance3D

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Mask presets beyond `tracklift synth-masks --preset`: (base preset, extra command-line options).
EXTRA_PRESETS = {"freeform": ("mild", ("--synonyms", "1.0"))}
# The harness's rooms (`benchmarks.suite.FULL`: the same seeded scenes and masks, so AP is comparable with
# its table) under every preset.
FULL = dataclasses.replace(HARNESS_FULL, name="openvocab", presets=("oracle", "mild", "hard", "freeform"), repeats=1)
QUICK = Suite(
    "openvocab_quick",
    seeds=(0,),
    frames=30,
    width=320,
    height=240,
    objects=15,
    presets=("mild", "hard", "freeform"),
    repeats=1,
)
LABELLINGS = ("exact", "text")
VARIANTS = tuple(f"{lab}{sp}" for lab in LABELLINGS for sp in ("", "+sp"))
QUERY_RANKINGS = ("rules", "vote")  # rank_instances without / with the vote classifier's score_query


@dataclasses.dataclass
class ExactVoteClassifier:
    """The 2D label votes without text mapping: a vote counts only when its string is a vocabulary name
    (case and surrounding spaces ignored); `smoothing` as in `VoteClassifier`, so the two variants differ
    only in how votes reach the vocabulary."""

    smoothing: float = 0.05
    name: str = "vote-exact"
    needs_views: bool = False

    def classify(self, instance: Instance3D, views: Sequence, vocabulary: Sequence[str]) -> np.ndarray:
        """[C] float64 probabilities from the instance's exactly named votes (uniform without any)."""
        from tracklift.classify.vote import vote_tally
        from tracklift.vocab.vocabulary import normalize_name

        index = {normalize_name(n): i for i, n in enumerate(vocabulary)}
        mapping = {lab: (index.get(normalize_name(lab), -1), 1.0) for lab in instance.label_votes}
        tally = vote_tally(instance.label_votes, vocabulary, mapping)
        uniform = np.full(len(vocabulary), 1.0 / len(vocabulary))
        if tally.sum() <= 0:
            return uniform
        return (1 - self.smoothing) * tally / tally.sum() + self.smoothing * uniform

    def score_query(self, instance: Instance3D, views: Sequence, query: str) -> float:
        """Share of the instance's vote weight on labels equal to the query (no text similarity)."""
        from tracklift.vocab.vocabulary import normalize_name

        key = normalize_name(query)
        total = sum(w for w in instance.label_votes.values() if w > 0)
        same = sum(w for lab, w in instance.label_votes.items() if w > 0 and normalize_name(lab) == key)
        return same / total if total > 0 else 0.0


def preset_masks(cache: Path, scene: Path, preset: str, seed: int) -> Path:
    """The scene's corrupted 2D masks of `preset` (a synth-masks preset or one of EXTRA_PRESETS), cached."""
    if preset not in EXTRA_PRESETS:
        return ensure_masks(cache, scene, preset, seed)
    from tracklift.cli import main as cli

    base, options = EXTRA_PRESETS[preset]

    def make(folder: Path) -> None:
        with contextlib.redirect_stdout(io.StringIO()):  # its summary line would break the progress display
            code = cli(
                [
                    "synth-masks",
                    str(scene),
                    "--out",
                    str(folder),
                    "--preset",
                    base,
                    *options,
                    "--seed",
                    str(seed),
                    "--quiet",
                ]
            )
        if code != 0:
            raise RuntimeError(f"tracklift synth-masks failed on {scene} ({preset})")

    return build_cached(cache / "masks" / f"{scene.name}_{preset}_m{seed}", make)


def classifiers(embedder=None) -> dict[str, Any]:
    """The labelling variants by name: exact-name votes, and votes mapped by text embedding."""
    from tracklift.classify.vote import VoteClassifier

    return {"exact": ExactVoteClassifier(), "text": VoteClassifier(embedder=embedder)}


def score_instances(
    instances: Sequence[Instance3D],
    masks: np.ndarray,
    superpoints: np.ndarray,
    vocab,
    labellers: dict[str, Any],
    snap=None,
) -> tuple[dict[str, list], dict[str, list]]:
    """Name copies of `instances` with each classifier and turn them into predictions of every variant.

    masks: [I, V] bool, instance i on mesh vertex v. superpoints: [V] int superpoint id per vertex.
    Returns (variant -> [PredictedInstance], labelling -> the named Instance3D copies). Scores are
    `instance_confidence(proposal, label confidence)`; the inputs are not modified.
    """
    from tracklift.classify.label import labeller
    from tracklift.eval import PredictedInstance
    from tracklift.superpoints.snap import snap_predictions

    masks = np.asarray(masks, bool)
    superpoints = np.asarray(superpoints)
    if masks.shape != (len(instances), len(superpoints)):
        raise ValueError(
            f"masks must be [I, V] = [{len(instances)}, {len(superpoints)}] (instances, superpoints), got {masks.shape}"
        )
    preds, named = {}, {}
    for key, classifier in labellers.items():
        copies = [dataclasses.replace(inst) for inst in instances]  # labeller names and rescores in place
        labeller(classifier, vocab, rescore=True)(None, copies)  # vote classifiers read no views: no scene needed
        plain = [PredictedInstance(m, vocab.id_of(inst.label), inst.score) for m, inst in zip(masks, copies)]
        preds[key] = plain
        preds[f"{key}+sp"] = snap_predictions(plain, superpoints, snap)
        named[key] = copies
    return preds, named


def pooled_queries(per_query: list[dict]) -> dict:
    """Mean top-1 / recall@R / AP over queries pooled from several rooms, overall and per kind."""

    def means(rows: list[dict]) -> dict:
        return {
            "queries": len(rows),
            **{k: float(np.nanmean([r[k] for r in rows])) if rows else None for k in ("top1", "recall_at_r", "ap")},
        }

    kinds = ("class", "synonym", "functional")
    return {**means(per_query), "by_kind": {k: means([q for q in per_query if q["kind"] == k]) for k in kinds}}


@dataclasses.dataclass
class Room:
    """One synthetic room: its folder, the opened scene, GT per mesh vertex ([V] int64, 1000·label + instance),
    its objects from scene.json that queries may ask for, and the mesh superpoints ([V] int64)."""

    path: Path
    scene: Any
    gt: np.ndarray
    objects: list[dict]
    superpoints: np.ndarray


def open_room(path: Path) -> Room:
    """A synthetic room folder (`tracklift synth` output) with its GT, objects and mesh superpoints."""
    from tracklift.data.scene import open_scene
    from tracklift.eval.gt import read_gt_file
    from tracklift.io.ply import read_ply
    from tracklift.superpoints.segmentator import segment_mesh
    from tracklift.synth.corrupt import STRUCTURE

    scene = open_scene(path)
    if scene.gt_path is None or scene.mesh_path is None:
        raise FileNotFoundError(f"synthetic scene {path} lacks its gt/{scene.name}.txt or its mesh")
    mesh = read_ply(scene.mesh_path)
    gt = read_gt_file(scene.gt_path)
    if len(gt) != len(mesh.vertices):
        raise ValueError(f"{scene.gt_path}: {len(gt)} labels for {len(mesh.vertices)} mesh vertices")
    # No query asks for walls, floor or ceiling: the corrupted masks never contain them (synth-masks'
    # default, as segmenters prompted with object classes), so no instance could answer.
    objects = [o for o in json.loads((path / "scene.json").read_text())["objects"] if o["label"] not in STRUCTURE]
    return Room(path, scene, gt, objects, segment_mesh(mesh.vertices, mesh.faces))


def run_room(room: Room, masks_dir: Path, config, vocab, labellers: dict[str, Any], embedder) -> dict:
    """The pipeline once on `room` from `masks_dir`, then every variant and the queries.

    Returns {"preds": variant -> [PredictedInstance], "queries": ranking -> per-query rows,
    "instances", "pipeline_s", "scoring_s"}.
    """
    from benchmarks.methods import segment_onto_mesh
    from tracklift.classify.benchmark import query_benchmark

    t0 = time.perf_counter()
    result = segment_onto_mesh(room.scene, masks_dir, config)  # as the instance suite's methods do
    instances, masks = result.instances, result.masks
    t1 = time.perf_counter()
    preds, named = score_instances(instances, masks, room.superpoints, vocab, labellers)
    queries = {}
    for ranking in QUERY_RANKINGS:
        classifier = labellers["text"] if ranking == "vote" else None
        result = query_benchmark(named["text"], room.objects, classifier=classifier, embedder=embedder)
        queries[ranking] = [{**q, "scene": room.scene.name} for q in result["per_query"]]
    return {
        "preds": preds,
        "queries": queries,
        "instances": len(instances),
        "pipeline_s": t1 - t0,
        "scoring_s": time.perf_counter() - t1,
    }


def summarise(runs: list[dict], rooms: list[Room], vocab) -> dict:
    """One preset's runs (one per room) pooled: AP per variant, query metrics, instance counts, timings."""
    from tracklift.eval import evaluate

    gts = {r.scene.name: r.gt for r in rooms}
    variants = {}
    for variant in VARIANTS:
        preds = {r.scene.name: run["preds"][variant] for r, run in zip(rooms, runs)}
        variants[variant] = {
            "semantic": evaluate(preds, gts, vocab)["all"],
            "agnostic": evaluate(preds, gts, vocab, agnostic=True)["all"],
            "predictions_per_room": float(np.mean([len(p) for p in preds.values()])),
        }
    per_query = {k: [q for run in runs for q in run["queries"][k]] for k in QUERY_RANKINGS}
    return {
        "variants": variants,
        "queries": {k: pooled_queries(rows) for k, rows in per_query.items()},
        "per_query": per_query,
        "instances_per_room": float(np.mean([run["instances"] for run in runs])),
        "pipeline_seconds": [run["pipeline_s"] for run in runs],
        "scoring_seconds": [run["scoring_s"] for run in runs],
    }


@contextlib.contextmanager
def _torch_threads(n: int):
    # MiniLM encodes a few words at a time: threads gain nothing, and on a shared 2-core machine they
    # contend with other processes (measured here under load: encoding ~10x slower with 2 threads than 1).
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_suite(suite: Suite, cache: Path, embedder=None, progress: bool = True) -> dict:
    """Every room × preset of `suite` through the pipeline and all variants; returns the results document
    (what `benchmarks/results/<suite>.json` holds; `markdown_section` renders it).

    cache: folder of generated scenes and masks (`benchmarks.scenes` layout). embedder: a
    `TextEmbedder` for mapping and queries (default: the bundled MiniLM).
    """
    from tracklift.classify.text import default_text_embedder
    from tracklift.pipeline.mapper import PipelineConfig
    from tracklift.track.config import TrackerConfig
    from tracklift.vocab import load_vocabulary

    started = time.time()
    # the `tracklift segment` defaults but vertex-level: the `+sp` variants snap as `segment` does by default
    config = PipelineConfig(tracker=TrackerConfig(mode="fused"), snap=None)
    vocab = load_vocabulary("scannet200")
    embedder = embedder or default_text_embedder()
    labellers = classifiers(embedder)
    seeds = tqdm(suite.seeds, desc="rooms", unit="room", disable=not progress)
    rooms = [open_room(ensure_scene(cache, seed, suite)) for seed in seeds]
    runs: dict[str, list[dict]] = {p: [] for p in suite.presets}
    jobs = [(p, r) for p in suite.presets for r in rooms]
    with _torch_threads(1):
        for preset, room in tqdm(jobs, desc="rooms × presets", unit="run", disable=not progress):
            masks_dir = preset_masks(cache, room.path, preset, suite.mask_seed)
            runs[preset].append(run_room(room, masks_dir, config, vocab, labellers, embedder))
    return {
        "kind": "openvocab",
        "suite": suite.describe(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "wall_seconds": round(time.time() - started, 1),
        "machine": machine(),
        "presets": {p: summarise(r, rooms, vocab) for p, r in runs.items()},
    }


def markdown_section(doc: dict) -> str:
    """The open-vocabulary section of BENCHMARKS.md from a results document (see `run_suite`)."""
    s = doc["suite"]
    lines = [
        f"## Suite `{s['name']}` (open-vocabulary labelling, refinement, queries)",
        "",
        f"{len(s['seeds'])} room(s) (seeds {', '.join(map(str, s['seeds']))}), {s['frames']} frames of "
        f"{s['width']}×{s['height']}, {s['objects']} objects; one pipeline run per room and preset (fused tracker, "
        f"handcrafted features), then four labellings of the same instances: `exact` = votes exactly naming a "
        f"ScanNet200 class, `text` = votes mapped by MiniLM (`VoteClassifier`), `+sp` = snapped to mesh "
        f"superpoints. Scores: `instance_confidence`. Recorded {doc['date']} (`python -m benchmarks.openvocab`).",
        "",
        "| masks | variant | sem. AP | sem. AP50 | sem. AP25 | agn. AP | agn. AP50 | agn. AP25 | predictions/room |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for preset, r in doc["presets"].items():
        for variant, v in r["variants"].items():
            sem, agn = v["semantic"], v["agnostic"]
            lines.append(
                f"| {preset} | {variant} | {fmt(sem['ap'])} | {fmt(sem['ap50'])} | {fmt(sem['ap25'])} | "
                f"{fmt(agn['ap'])} | {fmt(agn['ap50'])} | {fmt(agn['ap25'])} | "
                f"{fmt(v['predictions_per_room'], 1)} |"
            )
    lines += [
        "",
        "Query retrieval on the `text`-labelled instances (queries generated from each room's objects; a hit is "
        "box IoU ≥ 0.25 with a relevant object): `rules` ranks on labels alone, `vote` adds the vote "
        "classifier's query score. top-1 / recall@R / AP, overall and per kind (number of queries).",
        "",
        "| masks | ranking | all | class | synonym | functional |",
        "|---|---|---|---|---|---|",
    ]
    for preset, r in doc["presets"].items():
        for ranking, q in r["queries"].items():
            cells = [q, *(q["by_kind"][k] for k in ("class", "synonym", "functional"))]
            lines.append(
                f"| {preset} | {ranking} | "
                + " | ".join(
                    f"{fmt(c['top1'], 2)} / {fmt(c['recall_at_r'], 2)} / {fmt(c['ap'], 2)} ({c['queries']})"
                    for c in cells
                )
                + " |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.openvocab", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"the small suite ({QUICK.name!r}) instead of {FULL.name!r}"
    )
    # A folder of its own: two processes building the same cache entry at once would clash.
    parser.add_argument("--cache", default=str(HERE / ".cache" / "openvocab"), help="generated scenes and masks")
    parser.add_argument("--results", default=str(HERE / "results"), help="folder of <suite>.json results")
    parser.add_argument(
        "--markdown", default=str(ROOT / "BENCHMARKS.md"), help="page regenerated from all result files"
    )
    args = parser.parse_args(argv)

    from benchmarks.run import record

    suite = QUICK if args.quick else FULL
    doc = run_suite(suite, Path(args.cache))
    record(doc, Path(args.results) / f"{suite.name}.json", args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
