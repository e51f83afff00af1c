"""CLIP / SigLIP classifier on tiny randomly initialised models built offline and loaded back from disk."""

from __future__ import annotations

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
pytestmark = pytest.mark.models

from tracklift.classify.backends import make_classifier  # noqa: E402
from tracklift.classify.clip import ClipClassifier, ClipConfig  # noqa: E402
from tracklift.classify.crops import CropConfig, crop_views  # noqa: E402
from tracklift.classify.protocol import Classifier  # noqa: E402
from tracklift.classify.views import View  # noqa: E402
from tracklift.core.instance import Instance3D  # noqa: E402

VOCAB = ["chair", "table", "bed", "lamp"]
SMALL = ClipConfig(crop=CropConfig(scales=(1.0, 2.0), size=32), batch_size=4)


def tiny_tokenizer():
    """The shared tiny CLIP BPE tokenizer, and its special token ids."""
    from .tiny_models import clip_tokenizer

    tok = clip_tokenizer(max_length=16)
    ids = dict(
        vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id
    )
    return tok, ids


# One tiny transformer tower shape for both text and vision, CLIP and SigLIP alike.
TINY_TOWER = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    tok, ids = tiny_tokenizer()
    text = dict(TINY_TOWER, max_position_embeddings=16, **ids)
    vision = dict(TINY_TOWER, image_size=32, patch_size=16)
    path = tmp_path_factory.mktemp("tiny_clip")
    transformers.CLIPModel(
        transformers.CLIPConfig(text_config=text, vision_config=vision, projection_dim=8)
    ).save_pretrained(path)
    image_processor = transformers.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    transformers.CLIPProcessor(image_processor=image_processor, tokenizer=tok).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def siglip_dir(tmp_path_factory):
    import torch

    torch.manual_seed(1)
    tok, ids = tiny_tokenizer()
    text = dict(TINY_TOWER, max_position_embeddings=16, **ids)
    vision = dict(TINY_TOWER, image_size=32, patch_size=16)
    path = tmp_path_factory.mktemp("tiny_siglip")
    transformers.SiglipModel(transformers.SiglipConfig(text_config=text, vision_config=vision)).save_pretrained(path)
    image_processor = transformers.SiglipImageProcessor(size={"height": 32, "width": 32})
    transformers.SiglipProcessor(image_processor=image_processor, tokenizer=tok).save_pretrained(path)
    return path


def make_views(n: int = 2, seed: int = 0) -> list[View]:
    rng = np.random.default_rng(seed)
    views = []
    for i in range(n):
        mask = np.zeros((40, 40), bool)
        mask[10:30, 12:28] = True
        views.append(
            View(
                frame=i,
                visible_fraction=0.9 - 0.2 * i,
                area_fraction=0.2,
                quality=0.5 - 0.1 * i,
                bbox=(12, 10, 28, 30),
                patch=rng.integers(0, 255, (40, 40, 3), dtype=np.uint8),
                patch_origin=(0, 0),
                mask=mask,
            )
        )
    return views


@pytest.mark.parametrize("which", ["clip", "siglip"])
def test_classify_shapes_and_determinism(which, clip_dir, siglip_dir):
    path = clip_dir if which == "clip" else siglip_dir
    clf = ClipClassifier(path, SMALL)
    assert clf.kind == which and isinstance(clf, Classifier)
    inst = Instance3D(id=0, points=np.zeros((2, 3)))
    probs = clf.classify(inst, make_views(), VOCAB)
    assert probs.shape == (4,) and probs.sum() == pytest.approx(1.0) and (probs > 0).all()
    np.testing.assert_allclose(probs, clf.classify(inst, make_views(), VOCAB))
    score = clf.score_query(inst, make_views(), "something to sit on")
    assert 0.0 <= score <= 1.0
    np.testing.assert_allclose(clf.classify(inst, [], VOCAB), [0.25] * 4)
    assert clf.score_query(inst, [], "chair") == 0.0


def test_text_embeddings_are_unit_rows_and_cached_on_disk(clip_dir, tmp_path, monkeypatch):
    config = ClipConfig(crop=SMALL.crop, cache_dir=str(tmp_path))
    first = ClipClassifier(clip_dir, config)
    table = first.text_embeddings(VOCAB)
    assert table.shape == (4, 8)
    np.testing.assert_allclose(np.linalg.norm(table, axis=1), 1.0, atol=1e-5)
    assert len(list(tmp_path.glob("clip_text_*.npy"))) == 1
    second = ClipClassifier(clip_dir, config)

    def fail(*args):
        raise AssertionError("text embeddings were recomputed despite the disk cache")

    monkeypatch.setattr(second, "_ensemble", fail)
    np.testing.assert_array_equal(second.text_embeddings(VOCAB), table)
    # A different vocabulary is a different cache entry.
    monkeypatch.undo()
    assert second.text_embeddings(VOCAB[:2]).shape == (2, 8)
    assert len(list(tmp_path.glob("clip_text_*.npy"))) == 2


def test_image_embedding_is_the_quality_weighted_mean(clip_dir):
    clf = ClipClassifier(clip_dir, SMALL)
    views = make_views(3)
    crops, weights = crop_views(views, SMALL.crop)
    feats = clf._encode_images(crops)
    expected = (weights[:, None] * feats).sum(0)
    np.testing.assert_allclose(clf.image_embedding(views), expected / np.linalg.norm(expected), atol=1e-5)
    assert clf.image_embedding([]) is None


def test_make_classifier_specs(clip_dir, siglip_dir):
    assert make_classifier(f"clip:{clip_dir}").kind == "clip"
    assert make_classifier(f"siglip:{siglip_dir}").kind == "siglip"
    with pytest.raises(ValueError, match="holds a clip model"):
        make_classifier(f"siglip:{clip_dir}")
    with pytest.raises(ValueError, match="give a model folder"):
        make_classifier("clip")
    with pytest.raises(ValueError, match="unknown classifier"):
        make_classifier("resnet:/x")


def test_query_cli_with_clip_reads_views_from_the_scene(clip_dir, tmp_path, capsys):
    import json

    from tracklift.cli import main

    from .fixtures_rgbd import make_scannet
    from .test_pipeline_query import obj, write_predictions

    scene = make_scannet(tmp_path / "scans", n=4).root
    out = tmp_path / "out"
    out.mkdir()
    # Cameras sit at z = 1.5 looking up (+z): put the objects in front of them.
    write_predictions(
        out,
        "scene0000_00",
        [obj(0, "chair", [0.1, 0.2, 2.5], [0.4, 0.4, 0.2]), obj(1, "table", [0.3, 0.2, 3.0], [0.6, 0.6, 0.2])],
    )
    doc = json.loads((out / "scene0000_00.json").read_text())
    doc["scene_dir"] = str(scene)
    (out / "scene0000_00.json").write_text(json.dumps(doc))
    assert (
        main(["query", str(out), "the chair left of the table", "--classifier", f"clip:{clip_dir}", "--stride", "1"])
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and {ln.split()[2] for ln in lines[2:]} == {"chair", "table"}
    assert list((out / ".cache").glob("clip_text_*.npy"))
    doc["scene_dir"] = str(tmp_path / "gone")
    (out / "scene0000_00.json").write_text(json.dumps(doc))
    assert main(["query", str(out), "chair", "--classifier", f"clip:{clip_dir}"]) == 2
    assert "scene_dir" in capsys.readouterr().err
