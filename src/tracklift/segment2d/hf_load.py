"""Loading transformers models and processors from a local folder or a hub id, with clear errors.

Imported only by the transformers backends (it imports torch and transformers).
"""

from __future__ import annotations

import torch

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def torch_dtype(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {name!r}")
    return DTYPES[name]


def load_pretrained(cls, name_or_path: str, what: str, **kwargs):
    """`cls.from_pretrained(name_or_path, **kwargs)`; a missing folder or uncached hub id (no network here)
    becomes FileNotFoundError naming `what` and the path."""
    try:
        return cls.from_pretrained(name_or_path, **kwargs)
    except OSError as err:
        raise FileNotFoundError(
            f"cannot load {what} from {name_or_path!r}: not a model folder and not in the Hugging Face cache ({err})"
        ) from err


def load_model(cls, name_or_path: str, what: str, device: str, dtype: str):
    """A model in eval mode on `device` with weights in `dtype` ("float32", "float16", "bfloat16")."""
    model = load_pretrained(cls, name_or_path, what, dtype=torch_dtype(dtype))
    return model.to(device).eval()
