"""How texts become vectors: ``embedder.py`` (the adapter a run uses), ``pooling.py`` (token
sequences to vectors), ``st_head.py`` (sentence-transformers modules after pooling),
``runtime.py`` (device, threads, batches), ``precision.py`` (float32 retry), and the forward pass:
``backends.py`` choosing among ``lean_encoder.py`` and ``onnx_backend.py`` (or transformers).
May import ``identity/`` and ``cache/``.
"""
