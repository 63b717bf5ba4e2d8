"""Published scores as references (``report/``'s references room): ``published_data.py`` (the shipped
``report/published_reference.json``: published per-task scores and the BGE model card's printed
rows), ``published.py`` (those as ModelScores, ``published:NAME``) and ``results_repo.py`` (a model
of a checkout of the MTEB results repository, ``--results-repo``). Imported by ``report/`` and ``cli/``.
"""
