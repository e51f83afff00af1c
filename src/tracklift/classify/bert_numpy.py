"""A BERT sentence encoder in NumPy: the bundled all-MiniLM-L6-v2 without importing torch.

Naming instances maps a few dozen free-form labels onto a vocabulary; through sentence-transformers that costs
5 s of imports (torch, transformers) for 30 ms of arithmetic. This module runs the same network — BERT encoder,
mean pooling over the tokens, L2 normalisation (the model folder's `modules.json`) — from the folder's
`config.json`, `model.safetensors` and `tokenizer.json`, with `tokenizers` (Rust, fast to import) for the
word pieces. `tests/test_classify_bert_numpy.py` checks it against sentence-transformers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.special import erf


class NumpySentenceEncoder:
    """Sentence embeddings from a BERT model folder (sentence-transformers layout, mean pooling).

    `encode` and `get_sentence_embedding_dimension` mirror sentence-transformers' names, so `TextEmbedder`
    takes either.
    """

    def __init__(self, folder: str | Path, max_tokens: int | None = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        self.config = json.loads((folder / "config.json").read_text())
        if self.config.get("model_type") != "bert" or self.config.get("hidden_act") != "gelu":
            raise ValueError(f"{folder}: expected a BERT model with gelu activations, got {self.config}")
        weights = load_file(str(folder / "model.safetensors"))
        # dense weights stored transposed and contiguous: x @ W is one BLAS call per layer without copies
        self._w = {
            name.removeprefix("bert."): np.ascontiguousarray(array.T if _is_dense(name, array) else array, np.float32)
            for name, array in weights.items()
        }
        st_config = folder / "sentence_bert_config.json"
        limit = json.loads(st_config.read_text()).get("max_seq_length") if st_config.exists() else None
        self.max_tokens = int(max_tokens or limit or self.config["max_position_embeddings"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_tokens)

    def get_sentence_embedding_dimension(self) -> int:
        return int(self.config["hidden_size"])

    def encode(self, texts: Sequence[str], normalize_embeddings: bool = True, batch_size: int = 64, **_) -> np.ndarray:
        """[N] texts -> [N, D] float32 mean-pooled token states (L2-normalised with `normalize_embeddings`).

        Texts of similar length are batched together so little padding is computed.
        """
        from threadpoolctl import threadpool_limits

        # The matrices are small: BLAS threads only spin against the pipeline's other threads (measured 7×
        # slower on a busy 2-core machine).
        with threadpool_limits(1, user_api="blas"):
            return self._encode(texts, normalize_embeddings, batch_size)

    def _encode(self, texts: Sequence[str], normalize_embeddings: bool, batch_size: int) -> np.ndarray:
        encodings = self.tokenizer.encode_batch([str(t) for t in texts])
        out = np.zeros((len(texts), self.get_sentence_embedding_dimension()), np.float32)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), np.int64)
            mask = np.zeros((len(rows), width), np.float32)
            for r, i in enumerate(rows):
                ids[r, : len(encodings[i].ids)] = encodings[i].ids
                mask[r, : len(encodings[i].ids)] = 1.0
            states = self.forward(ids, mask)
            out[rows] = (states * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        if normalize_embeddings:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """ids: [B, T] int64 token ids; mask: [B, T] float32, 1 for tokens, 0 for padding.
        Returns the last layer's token states [B, T, D] float32."""
        w, eps = self._w, float(self.config["layer_norm_eps"])
        positions = np.arange(ids.shape[1])
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][positions]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        # padding keys get -inf-like scores so no token attends to them (as BERT's extended attention mask)
        key_bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for layer in range(int(self.config["num_hidden_layers"])):
            x = self._layer(x, key_bias, f"encoder.layer.{layer}.", eps)
        return x

    def _layer(self, x: np.ndarray, key_bias: np.ndarray, p: str, eps: float) -> np.ndarray:
        w = self._w
        batch, tokens, dim = x.shape
        heads = int(self.config["num_attention_heads"])

        def split(t: np.ndarray) -> np.ndarray:  # [B, T, D] -> [B, H, T, D/H]
            return t.reshape(batch, tokens, heads, dim // heads).transpose(0, 2, 1, 3)

        q = split(_linear(x, w, p + "attention.self.query"))
        k = split(_linear(x, w, p + "attention.self.key"))
        v = split(_linear(x, w, p + "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(dim // heads)) + key_bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        context = (scores / scores.sum(-1, keepdims=True)) @ v
        context = context.transpose(0, 2, 1, 3).reshape(batch, tokens, dim)
        x = _layer_norm(
            x + _linear(context, w, p + "attention.output.dense"),
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
            eps,
        )
        hidden = _linear(x, w, p + "intermediate.dense")
        hidden = 0.5 * hidden * (1.0 + erf(hidden / np.float32(np.sqrt(2.0))))  # exact gelu, as BERT's "gelu"
        return _layer_norm(
            x + _linear(hidden.astype(np.float32), w, p + "output.dense"),
            w[p + "output.LayerNorm.weight"],
            w[p + "output.LayerNorm.bias"],
            eps,
        )


def _is_dense(name: str, array: np.ndarray) -> bool:
    return array.ndim == 2 and name.startswith(("encoder.", "bert.encoder.")) and name.endswith(".weight")


def _linear(x: np.ndarray, w: dict[str, np.ndarray], name: str) -> np.ndarray:
    """x: [..., in] float32 -> [..., out] float32, through the transposed weight [in, out]."""
    weight = w[name + ".weight"]
    flat = x.reshape(-1, x.shape[-1]) @ weight + w[name + ".bias"]
    return flat.reshape(*x.shape[:-1], weight.shape[1])


def _layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + eps) * gain + bias).astype(np.float32)
