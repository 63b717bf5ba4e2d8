"""Layer 3, models: embedders and cross-encoders behind the small Protocols of ``protocol.py``.
``loading.py`` finds and loads a model's files, ``settings.py`` works out how it must be run,
``fingerprint.py`` identifies it by its bytes; ``st_folder.py`` reads a sentence-transformers folder's
modules as sentence-transformers does and ``st_head.py`` runs its modules after pooling (Dense, LayerNorm,
Normalize); ``in_memory.py`` adapts models given as Python objects (SentenceTransformer, CrossEncoder,
mteb encoders, anything with ``encode``); ``embedder.py`` and ``cross_encoder.py`` are the
adapters, with ``pooling.py`` (token sequences to vectors), ``vectors.py`` (distinct inputs once,
finite outputs), ``runtime.py`` (device, threads, batches), ``precision.py`` (float32 retry),
``backends.py`` with ``lean_encoder.py`` and ``onnx_backend.py`` (the forward pass), ``cache.py``
(the embedding cache; ``cache_index.py``, where its vectors are) with ``cache_fill.py`` (filling it chunk by chunk as encoding goes), ``progress.py``
(progress bars or log lines, and the task's timing meter), ``distributed.py`` (torchrun sharding), ``pair.py`` (what a run evaluates)
and ``mteb_bridge.py`` (our embedders handed to mteb).
"""
