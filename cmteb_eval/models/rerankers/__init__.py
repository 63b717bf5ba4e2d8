"""How (query, passage) pairs become scores: ``cross_encoder.py`` (sequence-classification
models), ``llm_reranker.py`` with ``llm_prompts.py`` (causal LMs scored from the next-token logits
of their card's prompt) and ``minicpm_layerwise.py`` (bge-reranker-v2-minicpm-layerwise's layer-wise
forward); which adapter a model gets: ``run/setup.py``. May import ``identity/``, ``encoders/``
(runtime) and the folder's own modules.
"""
