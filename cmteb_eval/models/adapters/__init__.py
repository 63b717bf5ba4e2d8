"""Models handed to us as Python objects (``in_memory.py``: SentenceTransformer, CrossEncoder,
mteb encoders, anything with ``encode``), FlagEmbedding's embedder objects through their query/corpus
methods (``flag_embedding.py``) and our embedders handed to mteb (``mteb_bridge.py``).
May import every other models sub-package.
"""
