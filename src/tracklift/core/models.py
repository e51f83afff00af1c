"""Loading transformers models and processors from a local folder or a hub id, with clear errors.

The one loader of every transformers backend (open-vocabulary detectors, SAM, DINOv2, CLIP/SigLIP, the
local VLM). torch is imported inside the functions, so importing this module costs nothing; the callers
pass the transformers classes they already imported.
"""

from __future__ import annotations

DTYPES = ("float32", "float16", "bfloat16")


def torch_dtype(name: str):
    """The torch dtype called `name` (one of DTYPES)."""
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {name!r}")
    import torch

    return getattr(torch, name)


def load_pretrained(cls, name_or_path: str, what: str, **kwargs):
    """`cls.from_pretrained(name_or_path, **kwargs)`; a missing folder or uncached hub id (no network here)
    becomes FileNotFoundError naming `what` and the path."""
    try:
        return cls.from_pretrained(str(name_or_path), **kwargs)
    except OSError as err:
        raise FileNotFoundError(
            f"cannot load {what} from {str(name_or_path)!r}: not a model folder and not in the Hugging Face cache"
            f" ({err})"
        ) from err


def load_pretrained_model(cls, name_or_path: str, what: str, device: str, dtype: str | None = None):
    """A model in eval mode on `device` with weights in `dtype` ("float32", "float16", "bfloat16"; None: the
    transformers default for the checkpoint)."""
    kwargs = {} if dtype is None else {"dtype": torch_dtype(dtype)}
    return load_pretrained(cls, name_or_path, what, **kwargs).to(device).eval()
