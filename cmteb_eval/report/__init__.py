"""Layer 7, reporting on written results (never models or evaluators): ``scores.py`` (main scores
in one shape), ``tables.py`` and ``formats.py`` (leaderboards and their output formats), ``tidy.py``
(the one-table CSV), ``speed.py`` (the timing table), ``plots.py``, ``outputs.py`` (writing a
report file), ``run_summary.py`` (the table ``run`` prints) and ``model_card.py`` (the Hugging Face
model-index of ``cmteb-eval card``). Two rooms: ``comparison/`` (one set of results judged against
another: deltas, significance, the regression gate, reproduction) and ``references/`` (published
scores: the shipped ``published_reference.json`` and the MTEB results repository). Imported by
``cli/`` only.
"""
