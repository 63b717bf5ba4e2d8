"""What a run evaluates: an embedder, a cross-encoder, or both (retrieve, then rerank the top k).

``EvaluatedModel`` satisfies the Embedder Protocol (it delegates ``encode`` to its
embedder), so STS and PairClassification evaluators take it unchanged; the
Retrieval and Reranking evaluators also look at its ``reranker``,
``rerank_top_k``, ``protocol`` and ``top_k``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..errors import UserError, WrongModelKindError
from ..tasks.card import TaskSpec
from .protocol import TEXT, Embedder, PairScorer

DEFAULT_RERANK_TOP_K = 100


@dataclass
class EvaluatedModel:
    embedder: Embedder | None = None
    reranker: PairScorer | None = None
    rerank_top_k: int = DEFAULT_RERANK_TOP_K
    protocol: str | None = None  # reranking protocol override (v1, v2); None: the task's default
    top_k: int = 1000  # retrieval depth kept per query

    def __post_init__(self) -> None:
        if self.embedder is None and self.reranker is None:
            raise UserError("Nothing to evaluate: neither an embedder nor a reranker was given.",
                            "Pass --model, --reranker or both.")
        if self.rerank_top_k < 1 or self.top_k < 1:
            raise UserError("--rerank-top-k and --top-k must be at least 1.", "Pass positive numbers.")

    def require_embedder(self, task: TaskSpec | None) -> Embedder:
        if self.embedder is None:
            name = task.name if task is not None else "this task"
            kind = task.type if task is not None else "this"
            raise WrongModelKindError(
                f"Task {name} ({kind}) needs an embedder, but only a cross-encoder (--reranker) was given.",
                "A cross-encoder alone can only rerank given candidates (Reranking tasks); add --model EMBEDDER "
                "to retrieve or to run other task types.")
        return self.embedder

    def encode(self, texts: Sequence[str], *, role: str = TEXT, task: TaskSpec | None = None) -> np.ndarray:
        return self.require_embedder(task).encode(texts, role=role, task=task)

    def describe(self, task: TaskSpec | None = None) -> dict[str, Any]:
        info: dict[str, Any] = dict(self.embedder.describe(task)) if self.embedder is not None else {}
        if self.reranker is not None:
            reranker = self.reranker.describe(task)
            if self.embedder is None:
                info = dict(reranker)
            else:
                info["reranker"] = reranker
                info["rerank_top_k"] = self.rerank_top_k
        if task is not None and task.type == "Retrieval":
            info["retrieval_top_k"] = self.top_k
        if task is not None and task.type == "Reranking":  # --protocol, else the card's, else v1
            from ..evaluators.reranking import task_protocol

            info["reranking_protocol"] = task_protocol(task, self.protocol)
        return info


def as_evaluated(model: Any) -> EvaluatedModel:
    """Wrap a bare embedder or cross-encoder handed to an evaluator."""
    if isinstance(model, EvaluatedModel):
        return model
    if hasattr(model, "score_pairs") and not hasattr(model, "encode"):
        return EvaluatedModel(reranker=model)
    return EvaluatedModel(embedder=model)
