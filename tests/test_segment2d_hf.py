"""Open-vocabulary segmenters (OWLv2 / Grounding DINO boxes -> SAM masks) on tiny random models saved to
disk and loaded back through the real loading code. The models are random: tests check plumbing, not quality."""

import numpy as np
import pytest

from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame
from tracklift.segment2d.boxes import box_iou_2d
from tracklift.segment2d.factory import make_segmenter

pytest.importorskip("transformers")
pytestmark = pytest.mark.models

VOCAB = ["chair", "table", "lamp", "sofa", "bed"]


def frame(h=48, w=64, seed=0):
    color = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    K = np.array([[50.0, 0, w / 2], [0, 50.0, h / 2], [0, 0, 1]])
    return Frame(color, np.ones((h, w), np.float32), K, np.eye(4), "3", 0)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from tests.tiny_models import save_grounding_dino, save_owlv2, save_sam

    root = tmp_path_factory.mktemp("hf")
    builders = {"owlv2": save_owlv2, "gdino": save_grounding_dino, "sam": save_sam}
    return {name: save(root / name) for name, save in builders.items()}


def test_missing_model_folder_is_a_clear_error(models, tmp_path):
    with pytest.raises(FileNotFoundError, match="OWLv2"):
        make_segmenter(f"hf:owlv2={tmp_path / 'nothing'},sam={models['sam']}", VOCAB)


@pytest.mark.parametrize("detector", ["owlv2", "gdino"])
def test_open_vocab_segmenter_returns_labelled_frame_masks(models, detector):
    from tracklift.segment2d.hf_segmenter import OpenVocabSegmenter
    from tracklift.segment2d.protocol import Segmenter

    seg = make_segmenter(f"hf:{detector}={models[detector]},sam={models['sam']},threshold=0,max=6,box_batch=4", VOCAB)
    assert isinstance(seg, OpenVocabSegmenter) and isinstance(seg, Segmenter)
    result = seg(frame())
    assert isinstance(result, FrameMasks) and result.shape == (48, 64)
    assert 1 <= len(result) <= 6
    assert set(result.labels) <= set(VOCAB)
    assert np.all((result.scores >= 0) & (result.scores <= 1)) and np.all(np.diff(result.scores) <= 0)
    found = seg.detect(frame())
    iou = box_iou_2d(found.boxes, found.boxes)
    assert np.all(iou[np.triu_indices(len(found), 1)] <= 0.5)  # NMS held
    assert np.all((found.boxes >= 0) & (found.boxes <= [64, 48, 64, 48]))


def test_owlv2_query_batches_match_one_forward_and_hf_postprocessing(models):
    import torch
    from transformers import Owlv2ForObjectDetection, Owlv2Processor

    from tracklift.segment2d.hf_owlv2 import Owlv2Detector

    color = frame(40, 64).color
    ours = Owlv2Detector(str(models["owlv2"]), prompt_batch=2)(color, VOCAB, threshold=0.0)
    model = Owlv2ForObjectDetection.from_pretrained(models["owlv2"]).eval()
    processor = Owlv2Processor.from_pretrained(models["owlv2"])
    inputs = processor(text=[[f"a photo of a {v}" for v in VOCAB]], images=color, return_tensors="pt")
    with torch.inference_mode():
        outputs = model(**inputs)
    theirs = processor.post_process_grounded_object_detection(outputs, threshold=0.0, target_sizes=[(40, 64)])[0]
    np.testing.assert_allclose(ours.scores, theirs["scores"].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ours.labels, theirs["labels"].numpy())
    # Theirs are not clipped to the image; ours are.
    np.testing.assert_allclose(ours.boxes, np.clip(theirs["boxes"].numpy(), 0, [64, 40, 64, 40]), atol=1e-3)


def test_grounding_dino_splits_a_long_vocabulary_into_prompts(models):
    from tracklift.segment2d.hf_grounding_dino import GroundingDinoDetector

    detector = GroundingDinoDetector(str(models["gdino"]))
    assert detector.max_tokens == 32
    vocabulary = [f"{w}{c}" for w in ("chair", "table", "lamp") for c in "abcdefg"]  # 21 names, ~3 tokens each
    found = detector(frame().color, vocabulary, threshold=0.0)
    # One forward per prompt, each giving all 8 queries: several prompts were needed.
    assert len(found) % 8 == 0 and len(found) >= 16
    assert found.labels.min() >= 0 and found.labels.max() < len(vocabulary)
    assert len(set(found.labels.tolist())) > 1


def test_sam_masks_follow_their_boxes_in_any_batching(models):
    from tracklift.segment2d.hf_sam import SamBoxPrompter

    color = frame(30, 40).color
    boxes = np.array([[0, 0, 20, 15], [10, 5, 40, 30], [2, 2, 8, 8]], np.float32)
    batched, iou = SamBoxPrompter(str(models["sam"]), box_batch=2)(color, boxes)
    assert batched.shape == (3, 30, 40) and batched.dtype == bool and iou.shape == (3,)
    single = SamBoxPrompter(str(models["sam"]), box_batch=1)
    for i in range(3):
        np.testing.assert_array_equal(single(color, boxes[i : i + 1])[0][0], batched[i])
    empty, _ = single(color, np.zeros((0, 4), np.float32))
    assert empty.shape == (0, 30, 40)
    with pytest.raises(ValueError, match=r"\[M, 4\]"):
        single(color, np.zeros((3,)))


def test_reduced_precision_runs_and_returns_float32_scores(models):
    seg = make_segmenter(f"hf:owlv2={models['owlv2']},sam={models['sam']},threshold=0,dtype=bfloat16,max=3", VOCAB)
    assert str(seg.prompter.model.dtype) == "torch.bfloat16"
    result = seg(frame())
    assert result.scores.dtype == np.float32 and len(result) <= 3
