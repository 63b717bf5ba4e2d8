"""cmteb-eval: evaluation and benchmarking of text embedders and rerankers on C-MTEB and MTEB.

The package is layered (README, "Layout"): tasks/ -> data/ -> models/ -> evaluators/ -> results/
-> run/ -> report/ -> cli/, each folder importing only from the ones before it.
"""

from .version import VERSION as __version__  # noqa: F401
