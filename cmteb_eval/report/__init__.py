"""Layer 7, reporting on written results (never models or evaluators): ``scores.py`` (main scores
in one shape), ``published.py`` and ``published_data.py`` (published references), ``tables.py`` and
``formats.py`` (leaderboards and their output formats), ``averages.py`` (the one average every report
prints), ``tidy.py`` (the one-table CSV), ``speed.py`` (the timing table) and ``timings.py`` (which
runs' times compare), ``compare.py``, ``significance.py``,
``gate.py``, ``reproduce.py``, ``plots.py``, ``outputs.py`` and ``run_summary.py`` (the table
``run`` prints); ``results_repo.py`` (a model of the MTEB results repository as published:ORG/MODEL)
``model_card.py`` and ``eval_results.py`` (the Hugging Face model-index and ``.eval_results`` files of
``cmteb-eval card``) and ``page.py`` (the
self-contained HTML leaderboard page of ``cmteb-eval report --html``).
"""
