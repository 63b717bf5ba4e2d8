"""Judging one set of results against another (``report/``'s comparison room): ``compare.py``
(per-task, per-type and overall deltas), ``significance.py`` (paired bootstrap and permutation tests
over the per-item files, Holm's correction), ``gate.py`` (``cmteb-eval check``: the regression gate
and its tolerances) and ``reproduce.py`` (our scores against the published ones). They read
``report/scores.py``'s ModelScores; imported by ``cli/``.
"""
