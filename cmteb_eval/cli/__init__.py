"""Layer 8, the command line: argument parsing and the commands, and nothing else. ``main.py`` builds
the parser and dispatches, ``args.py`` holds the argument helpers; ``run.py``, ``tasks.py``,
``cache.py``, ``card.py``, ``report.py`` (with its arguments in ``report_args.py``) and ``page.py`` (the
HTML page) hold the commands, each calling the layers below (``run/`` to evaluate, ``report/`` to read results).
``cmteb_eval.cli:main`` is the console script; ``run_main`` is ``python run_eval.py``.
"""

from ..run.setup import packaged_minilm  # noqa: F401  (the default model, as before)
from .main import main, run_main  # noqa: F401
