"""The embedding cache: ``store.py`` (checksummed shards under a namespace key), ``index.py``
(16 bytes per text: where its vector is) and ``fill.py`` (shards written as encoding goes); ``ragged.py``: outputs of varying length per text (bge-m3's
lexical weights and ColBERT vectors), each under its own key.
Imports nothing of the other models sub-packages; encoders and adapters import it.
"""
