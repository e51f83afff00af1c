"""Segmenter spec strings: parsing, the rgbd options, clear errors."""

import pytest

from tracklift.core.config import parse_spec_options
from tracklift.segment2d.factory import make_segmenter

VOCAB = ["chair", "table", "lamp", "sofa", "bed"]


def test_parse_options_and_rgbd_spec():
    assert parse_spec_options("a=1,b=x/y", "w") == {"a": "1", "b": "x/y"}
    seg = make_segmenter("rgbd:planes=segment,k=3,max_segments=5")
    assert (seg.config.planes, seg.config.k, seg.config.max_segments) == ("segment", 3.0, 5)
    assert make_segmenter("rgbd").config.planes == "remove"


@pytest.mark.parametrize(
    "spec, vocab, message",
    [
        ("mask2former:x", VOCAB, "unknown segmenter spec"),
        ("rgbd:bogus=1", None, "unknown option"),
        ("rgbd:k", None, "option 'k' is not key=value"),
        ("rgbd:k=1,k=2", None, "option 'k' given twice"),
        ("rgbd:min_area=-5", None, r"^rgbd segmenter: RGBDConfig.min_area must be ≥ 0.0, got -5.0$"),
        ("rgbd:max_segments=1e9", None, r"^rgbd segmenter: option max_segments must be int, got '1e9'$"),
        ("rgbd:planes=floor", None, r"^rgbd segmenter: RGBDConfig.planes must be one of remove, segment, keep"),
        ("hf:owlv2=x,sam=y", None, "non-empty list of class names"),
        ("hf:owlv2=x", VOCAB, "exactly one of"),
        ("hf:owlv2=x,gdino=y,sam=z", VOCAB, "exactly one of"),
        ("hf:owlv2=x,sam=y,colour=red", VOCAB, "unknown option"),
        ("precomputed:", None, "needs a folder"),
    ],
)
def test_factory_rejects_bad_specs(spec, vocab, message):
    with pytest.raises(ValueError, match=message):
        make_segmenter(spec, vocab)
