"""cmteb-eval: evaluation and benchmarking of text embedders and rerankers on C-MTEB and MTEB.

The package is layered (docs/architecture.md): tasks/ -> data/ -> models/ -> evaluators/ -> results/
-> run/ -> report/ -> cli/, each folder importing only from the ones before it.
"""

from .version import VERSION as __version__  # noqa: F401


def __getattr__(name: str):
    """``cmteb_eval.evaluate``: the Python API (``api.py``, an entry point), imported when first used."""
    if name == "evaluate":
        from importlib import import_module

        return import_module("cmteb_eval.api").evaluate
    raise AttributeError(f"module 'cmteb_eval' has no attribute {name!r}")
