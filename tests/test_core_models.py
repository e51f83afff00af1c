"""The one transformers loader (`core.models`): clear errors for a missing model folder from every backend
that loads through it, dtype names, and the load itself on a stand-in class."""

from __future__ import annotations

import pytest

from tracklift.core.models import load_pretrained, load_pretrained_model, torch_dtype

transformers = pytest.importorskip("transformers")
pytestmark = pytest.mark.models


def owlv2(path):
    from tracklift.segment2d.hf_owlv2 import Owlv2Detector

    return Owlv2Detector(path)


def grounding_dino(path):
    from tracklift.segment2d.hf_grounding_dino import GroundingDinoDetector

    return GroundingDinoDetector(path)


def sam(path):
    from tracklift.segment2d.hf_sam import SamBoxPrompter

    return SamBoxPrompter(path)


def dinov2(path):
    from tracklift.features.dinov2 import Dinov2Features

    return Dinov2Features(path)


def clip(path):
    from tracklift.classify.clip import ClipClassifier

    return ClipClassifier(path)


def local_vlm(path):
    from tracklift.classify.local_vlm import LocalVLMChat

    return LocalVLMChat(path)


@pytest.mark.parametrize(
    ("build", "what"),
    [
        (owlv2, "OWLv2"),
        (grounding_dino, "Grounding DINO"),
        (sam, "SAM"),
        (dinov2, "DINOv2"),
        (clip, "CLIP/SigLIP"),
        (local_vlm, "local VLM"),
    ],
)
def test_missing_model_folder_is_a_clear_error_for_every_backend(build, what, tmp_path):
    missing = str(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=f"cannot load {what}.* from '{missing}': not a model folder"):
        build(missing)


class Loaded:
    """A stand-in for a transformers class: records how it was loaded and moved."""

    calls: list = []

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        if path == "absent":
            raise OSError("no such folder")
        cls.calls.append((path, kwargs))
        return cls()

    def to(self, device):
        self.device = device
        return self

    def eval(self):
        self.evaluated = True
        return self


def test_load_pretrained_model_passes_dtype_and_moves_to_device():
    import torch

    Loaded.calls = []
    model = load_pretrained_model(Loaded, "here", "stand-in", "cpu", "bfloat16")
    assert model.device == "cpu" and model.evaluated
    load_pretrained_model(Loaded, "here", "stand-in", "cpu")  # no dtype: the checkpoint's own
    assert Loaded.calls == [("here", {"dtype": torch.bfloat16}), ("here", {})]


def test_load_pretrained_turns_os_errors_into_file_not_found():
    with pytest.raises(FileNotFoundError, match=r"cannot load stand-in from 'absent'.*\(no such folder\)"):
        load_pretrained(Loaded, "absent", "stand-in")


def test_dtype_names():
    import torch

    assert torch_dtype("float16") is torch.float16
    with pytest.raises(ValueError, match="dtype must be one of"):
        torch_dtype("float64")
