"""Layer 6, running: ``setup.py`` loads what a run evaluates and names it, ``config.py`` fingerprints
a task's configuration, ``resume.py`` decides which tasks are already done, ``plan.py`` says what the run will encode, and ``runner.py``
evaluates the rest and writes each result at once.
"""
