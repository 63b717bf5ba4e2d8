"""Layer 7, reporting on written results (never models or evaluators): ``scores.py`` (main scores
in one shape), ``tables.py`` and ``formats.py`` (leaderboards and their output formats), ``averages.py``
(the one average every report prints), ``tidy.py`` (the one-table CSV), ``speed.py`` (the timing table)
and ``timings.py`` (which runs' times compare), ``plots.py``, ``outputs.py`` (writing a report file),
``run_summary.py`` (the table ``run`` prints). Three rooms: ``comparison/`` (one set of results judged
against another: deltas, significance, the regression gate, reproduction), ``references/`` (published
scores: the shipped ``published_reference.json`` and the MTEB results repository) and ``publishing/``
(the Hugging Face model-index and ``.eval_results`` files of ``card``, the HTML leaderboard page).
Imported by ``cli/`` only.
"""
