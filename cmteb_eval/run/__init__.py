"""Layer 6, running: ``setup.py`` loads what a run evaluates and names it (``objects.py``: the
Python API's models in memory), ``config.py`` fingerprints a task's configuration, ``resume.py``
decides which tasks are already done, ``plan.py`` says what the run will encode, and ``runner.py``
is the one run loop (of ``cmteb-eval run`` and ``cmteb_eval.evaluate``): it evaluates the rest,
writes each result at once and returns every task's split results.
"""
