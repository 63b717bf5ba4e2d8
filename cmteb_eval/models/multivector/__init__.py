"""bge-m3's three retrieval methods in one model (``m3_heads.py``: the sparse and ColBERT heads beside
the encoder's weights; ``m3_embedder.py``: the embedder that gives lexical weights and token vectors;
``methods.py``: the methods, the hybrid weights and the refusals), as FlagEmbedding 1.4.2's
``BGEM3FlagModel`` computes them. The scoring is ``evaluators/m3_scoring.py``'s."""
