"""Layer 7, reporting on written results (never models or evaluators): ``scores.py`` (main scores
in one shape), ``published.py`` and ``published_data.py`` (published references), ``tables.py`` and
``formats.py`` (leaderboards and their output formats), ``tidy.py`` (the one-table CSV), ``speed.py`` (the timing table), ``compare.py``, ``significance.py``,
``gate.py``, ``reproduce.py``, ``plots.py``, ``outputs.py`` and ``run_summary.py`` (the table
``run`` prints).
"""
