"""What a model is: its files found and loaded (``loading.py``), how its authors run it
(``settings.py`` with the known model cards, data in ``model_cards.toml``), the prompt of each side of
each task (``prompts.py``, mteb's key scheme over its sources; known cards' prompts as data in
``prompt_cards.toml``), its identity by its bytes (``fingerprint.py``), its sentence-transformers modules
read as data (``st_folder.py``) and the decoder-embedder families it may belong to (``families.py``, data in
``families.toml``); the LLM reranker cards, data in ``llm_reranker_cards.toml``, with what tells a causal LM
apart (``llm_cards.py``); ``cards.py`` finds a model in any of these card tables.
Imports only ``cmteb_eval.models``' own modules and the layers below; every other models
sub-package may import it.
"""
