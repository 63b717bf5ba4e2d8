"""Layer 4, evaluators: one module per task type (``sts``, ``pair_classification``,
``classification``, ``clustering``, ``retrieval``, ``reranking``, with ``rerank_stage``,
``summarization``), exact search (``search``), bge-m3's sparse, ColBERT and hybrid scores (``multivector/``), every metric definition (``metrics``) and what evaluators share (``base``:
SplitResult, RunOptions, the lookup of a type's evaluator in the type table). Evaluators read
data (``data/``) and call models through the small Protocols of ``models/protocol.py``.
"""
