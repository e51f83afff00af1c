"""2D segmenters by spec string (the CLI's `--segmenter`).

Grammar:
    precomputed:<dir>                 masks written by any external segmenter (design.md format)
    rgbd[:<key>=<value>,...]          the weight-free RGB-D segmenter; keys are scalar RGBDConfig fields,
                                      e.g. rgbd:planes=segment,k=3
    hf:<detector>=<model>,sam=<model>[,<option>=<value>...]
                                      text-prompted boxes -> SAM masks; needs a vocabulary.
        detector: owlv2 | gdino       <model>: a local folder or a Hugging Face hub id (cached: no network)
        options:  threshold=<float>   minimum detector score (default 0.1 for owlv2, 0.3 for gdino)
                  nms=<float>         NMS IoU (default 0.5)      max=<int>  boxes per frame (default 100)
                  device=<str>        torch device (default cpu) dtype=float32|float16|bfloat16
                  prompt_batch=<int>  OWLv2 queries per forward  box_batch=<int>  SAM boxes per decode
Values may not contain ',' or '='.
e.g. hf:owlv2=google/owlv2-base-patch16-ensemble,sam=facebook/sam-vit-base,threshold=0.15
"""

from __future__ import annotations

from tracklift.core.config import config_from_spec, parse_spec_options
from tracklift.segment2d.protocol import Segmenter

DETECTORS = ("owlv2", "gdino")
DEFAULT_THRESHOLD = {"owlv2": 0.1, "gdino": 0.3}


def _rgbd(options: str) -> Segmenter:
    from tracklift.segment2d.rgbd import RGBDConfig, RGBDSegmenter

    return RGBDSegmenter(config_from_spec(RGBDConfig, options, "rgbd segmenter"))


def _hf(options: dict[str, str], vocabulary: list[str] | None) -> Segmenter:
    from tracklift.segment2d.hf_segmenter import OpenVocabConfig, OpenVocabSegmenter, check_vocabulary

    vocabulary = check_vocabulary(vocabulary)
    detector_keys = [k for k in DETECTORS if k in options]
    if len(detector_keys) != 1 or "sam" not in options:
        raise ValueError(f"hf segmenter needs exactly one of {DETECTORS} and sam=, got {sorted(options)}")
    kind = detector_keys[0]
    known = {kind, "sam", "threshold", "nms", "max", "device", "dtype", "prompt_batch", "box_batch"}
    if set(options) - known:
        raise ValueError(f"hf segmenter: unknown option(s) {sorted(set(options) - known)}; known: {sorted(known)}")
    device, dtype = options.get("device", "cpu"), options.get("dtype", "float32")
    if kind == "owlv2":
        from tracklift.segment2d.hf_owlv2 import Owlv2Detector

        detector = Owlv2Detector(options[kind], device, dtype, prompt_batch=int(options.get("prompt_batch", 64)))
    else:
        from tracklift.segment2d.hf_grounding_dino import GroundingDinoDetector

        detector = GroundingDinoDetector(options[kind], device, dtype)
    from tracklift.segment2d.hf_sam import SamBoxPrompter

    prompter = SamBoxPrompter(options["sam"], device, dtype, box_batch=int(options.get("box_batch", 16)))
    config = OpenVocabConfig(
        threshold=float(options.get("threshold", DEFAULT_THRESHOLD[kind])),
        nms_iou=float(options.get("nms", 0.5)),
        max_detections=int(options.get("max", 100)),
    )
    return OpenVocabSegmenter(detector, prompter, vocabulary, config)


def make_segmenter(spec: str, vocabulary: list[str] | None = None) -> Segmenter:
    """Build the segmenter a spec names (grammar in the module docstring)."""
    kind, _, rest = spec.partition(":")
    if kind == "precomputed":
        if not rest:
            raise ValueError("precomputed segmenter needs a folder: precomputed:<dir>")
        from tracklift.segment2d.precomputed import PrecomputedSegmenter

        return PrecomputedSegmenter(rest)
    if kind == "rgbd":
        return _rgbd(rest)
    if kind == "hf":
        return _hf(parse_spec_options(rest, "hf segmenter"), vocabulary)
    raise ValueError(
        f"unknown segmenter spec {spec!r}: expected precomputed:<dir>, rgbd[:options] or hf:<detector>=...,sam=..."
    )
