"""Models handed to us as Python objects (``in_memory.py``: SentenceTransformer, CrossEncoder,
mteb encoders, anything with ``encode``; ``memory_identity.py``: their identity, the weights and
settings of every module, computed per call), FlagEmbedding's embedder objects through their query/corpus
methods (``flag_embedding.py``) and our embedders handed to mteb (``mteb_bridge.py``).
May import every other models sub-package.
"""
