"""TODO"""

from .main import main, packaged_minilm, run_main  # noqa: F401  (the console script is cmteb_eval.cli:main)
