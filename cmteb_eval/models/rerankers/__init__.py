"""How (query, passage) pairs become scores: ``cross_encoder.py``. May import ``identity/``,
``encoders/`` (runtime) and the folder's own modules.
"""
