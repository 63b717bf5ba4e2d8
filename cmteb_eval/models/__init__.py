"""Layer 3, models: what a run evaluates, by concern. Each sub-package owns one concern and may
import the modules of this folder and the sub-packages listed before it, never a later one and
never a sibling's private (``_``-prefixed) names.

Modules here (imported by every sub-package): ``protocol.py`` (the small Protocols a model
satisfies), ``pair.py`` (what a run evaluates: an embedder and/or a reranker), ``vectors.py``
(distinct inputs once, finite outputs), ``progress.py`` (progress bars or log lines, the task's
timing meter), ``distributed.py`` (torchrun sharding).

Sub-packages, in import order:

- ``identity/``: what a model is: finding and loading its files (``loading.py``), how it must be
  run (``settings.py``, with the known model cards as data in ``model_cards.toml``; LLM reranker cards in
  ``llm_reranker_cards.toml``, read by ``llm_cards.py``), its identity by its bytes (``fingerprint.py``),
  sentence-transformers folders read as data (``st_folder.py``), decoder-embedder families as data
  (``families.py`` with ``families.toml``).
- ``cache/``: the embedding cache (``store.py``; ``index.py``, where its vectors are;
  ``fill.py``, filling it chunk by chunk as encoding goes).
- ``encoders/``: how texts become vectors: the embedder adapter (``embedder.py``), pooling,
  sentence-transformers heads (``st_head.py``), device and batches (``runtime.py``), the float32
  retry (``precision.py``), the forward-pass backends (``backends.py``, ``lean_encoder.py``,
  ``onnx_backend.py``).
- ``rerankers/``: how (query, passage) pairs become scores (``cross_encoder.py``; ``llm_reranker.py``,
  ``llm_prompts.py`` and ``minicpm_layerwise.py``, LLM rerankers as their cards run them).
- ``multivector/``: bge-m3's sparse and ColBERT heads and the embedder that runs them by a retrieval
  method (``m3_heads.py``, ``m3_embedder.py``, ``methods.py``).
- ``served/``: models behind an HTTP endpoint (OpenAI-compatible, infinity, TEI): the client
  (``client.py``), the checks on answers (``answers.py``), each API's shapes (``apis.py``) and the
  embedder and reranker adapters (``embedder.py``, ``reranker.py``).
- ``adapters/``: models handed to us as Python objects (``in_memory.py``, FlagEmbedding's in
  ``flag_embedding.py``) and our embedders handed to mteb (``mteb_bridge.py``).
"""
