"""What a model is: its files found and loaded (``loading.py``), how its authors run it
(``settings.py`` with the known model cards, data in ``model_cards.toml``), the prompt of each side of
each task (``prompts.py``, mteb's key scheme over its sources; known cards' prompts as data in
``prompt_cards.toml``), its identity by its
bytes (``fingerprint.py``) and its sentence-transformers modules read as data (``st_folder.py``).
Imports only ``cmteb_eval.models``' own modules and the layers below; every other models
sub-package may import it.
"""
