"""What every evaluator takes besides the model, and what it returns for one split.

An evaluator is the ``evaluate(spec, split, data_dirs, model, options)`` function of the module
the type table names (``tasks/types.py``, column ``evaluator``); ``model`` is an Embedder, or for
the types that take a pair (column ``takes``) a ``models.pair.ModelPair``; ``options`` are the
run's ``RunOptions``: how it evaluates, never what.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..errors import NotYetSupportedError, UserError
from ..models.protocol import TEXT, Embedder
from ..models.vectors import distinct
from ..tasks.card import TaskSpec, scoring_settings
from ..tasks.types import TASK_TYPES, TYPES

DEFAULT_TOP_K = 1000
DEFAULT_RERANK_TOP_K = 100


@dataclass
class SplitResult:
    """Scores of one split: ``scores`` holds fractions keyed by metric name and
    ``main_score``; ``items`` holds per-item values (per pair, per query) in the type's
    declared format (``tasks/items.py``) that significance tests resample; ``protocol``
    names how the scores were computed."""

    scores: dict[str, float]
    source: str
    protocol: str
    items: dict[str, Any] = field(default_factory=dict)
    hf_subset: str = "default"
    predictions: Any = None  # the split's predictions in mteb's prediction-file format (run --save-predictions)


@dataclass(frozen=True)
class RunOptions:
    """The run's options an evaluator reads: the reranking protocol override (``--protocol``; None:
    the card's, else v1), the retrieval depth kept per query (``--top-k``) and how many first-stage
    results a cross-encoder reranks (``--rerank-top-k``)."""

    protocol: str | None = None
    top_k: int = DEFAULT_TOP_K
    rerank_top_k: int = DEFAULT_RERANK_TOP_K
    save_predictions: str | None = None  # a folder: each task's ranked results as mteb's <task>_predictions.json

    def __post_init__(self) -> None:
        if self.rerank_top_k < 1 or self.top_k < 1:
            raise UserError("--rerank-top-k and --top-k must be at least 1.", "Pass positive numbers.")

    def reranking_protocol(self, spec: TaskSpec) -> str:
        """``--protocol``, else the card's ``[scoring] protocol``, else v1."""
        protocol = self.protocol or scoring_settings(spec)["protocol"]
        variants = TYPES["Reranking"].variants
        if protocol not in variants:
            raise UserError(f"Unknown reranking protocol {protocol!r} (task {spec.name}).",
                            f"Use one of: {', '.join(variants)}.")
        return protocol

    def recorded(self, spec: TaskSpec) -> dict[str, Any]:
        """The options that change ``spec``'s numbers, as result files record them beside the model
        (which ones: the type table's column ``records``)."""
        values = {"retrieval_top_k": lambda: self.top_k, "reranking_protocol": lambda: self.reranking_protocol(spec)}
        return {name: values[name]() for name in TYPES[spec.type].records}


def texts_reader_for(spec: TaskSpec) -> Callable[[TaskSpec, str, Any], list[str]] | None:
    """The ``texts(spec, split, data_dirs)`` of the type's evaluator module: every text a split encodes
    (for the run's plan), or None when the module has none."""
    row = TYPES.get(spec.type)
    try:
        return getattr(importlib.import_module(row.evaluator), "texts", None) if row is not None else None
    except ModuleNotFoundError:
        return None


def evaluator_for(spec: TaskSpec) -> Callable[..., SplitResult]:
    """The ``evaluate`` function of the module the type table names for ``spec.type``."""
    row = TYPES.get(spec.type)
    try:
        if row is None:
            raise ModuleNotFoundError(spec.type)
        return importlib.import_module(row.evaluator).evaluate
    except ModuleNotFoundError:
        raise NotYetSupportedError(
            f"Task {spec.name}: {spec.type} tasks cannot be evaluated by this version of cmteb-eval yet.",
            f"Supported now: {', '.join(TASK_TYPES)}. Drop {spec.name} from --tasks or --benchmark.") from None


def embed_once(model: Embedder, texts: list[str], spec: TaskSpec) -> tuple[np.ndarray, list[int]]:
    """Embed each distinct text once; returns the vectors and each input's row in them."""
    unique, positions = distinct(texts)
    vectors = np.asarray(model.encode(unique, role=TEXT, task=spec))
    return vectors, positions
