"""Name 3D instances and answer text queries about them (open-vocabulary understanding).

views      best views of each instance (projection + depth test), with 2D masks
crops      highlighted multi-scale crops of a view
protocol   the Classifier protocol: label distribution over a vocabulary, query score
vote       weight-free classifier: 2D label votes mapped onto the vocabulary (text)
text       MiniLM text embeddings, label -> vocabulary mapping
clip       CLIP / SigLIP through transformers
llm        multimodal LLM classifier over a chat backend: openai_chat (HTTP), local_vlm (transformers)
answers    parsing of free-form LLM answers;  chat / cache: backends and content-hash caches
label      classify_instances and the pipeline hook;  scores: final instance confidence
query      rank_instances for class, synonym, functional, spatial and superlative queries
           (affordances, spatial);  benchmark: query retrieval on GT-generated queries

Importing this package loads no model and no heavy library.
"""

from tracklift.core.lazy import lazy_exports

__all__ = ["Classifier", "labeller", "make_classifier", "rank_instances"]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Classifier": "tracklift.classify.protocol",
        "make_classifier": "tracklift.classify.backends",
        "labeller": "tracklift.classify.label",
        "rank_instances": "tracklift.classify.query",
    },
)
