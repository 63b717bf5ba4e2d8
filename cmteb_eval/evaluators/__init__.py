"""Evaluators by task type. Each takes (spec, split, data_dirs, model) and returns a SplitResult."""

from __future__ import annotations

from typing import Callable

from ..errors import NotYetSupportedError
from ..tasks.card import TaskSpec
from . import classification, clustering, pair_classification, reranking, retrieval, sts
from .base import SplitResult

EVALUATORS: dict[str, Callable[..., SplitResult]] = {
    "STS": sts.evaluate,
    "PairClassification": pair_classification.evaluate,
    "Classification": classification.evaluate,
    "Clustering": clustering.evaluate,
    "Retrieval": retrieval.evaluate,
    "Reranking": reranking.evaluate,
}


def evaluator_for(spec: TaskSpec) -> Callable[..., SplitResult]:
    try:
        return EVALUATORS[spec.type]
    except KeyError:
        raise NotYetSupportedError(
            f"Task {spec.name}: {spec.type} tasks cannot be evaluated by this version of cmteb-eval yet.",
            f"Supported now: {', '.join(EVALUATORS)}. Drop {spec.name} from --tasks or --benchmark.") from None
