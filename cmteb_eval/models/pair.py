"""What a run evaluates: an embedder, a cross-encoder, or both (retrieve, then rerank the top k).

A ``ModelPair`` holds the models only; how they are run (the reranking protocol, the retrieval
depth, how many results the cross-encoder reranks) are the run's options
(``evaluators/base.py``, RunOptions). Evaluators of the types that use a cross-encoder take the
pair (the type table's column ``takes``); the others take its embedder.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..errors import UserError, WrongModelKindError
from ..tasks.card import TaskSpec
from .protocol import Embedder, PairScorer


@dataclass(frozen=True)
class ModelPair:
    embedder: Embedder | None = None
    reranker: PairScorer | None = None

    def __post_init__(self) -> None:
        if self.embedder is None and self.reranker is None:
            raise UserError("Nothing to evaluate: neither an embedder nor a reranker was given.",
                            "Pass --model, --reranker or both.")

    @classmethod
    def of(cls, model: Any) -> "ModelPair":
        """A pair as given, or the pair of one bare model: a cross-encoder (it scores pairs and
        encodes nothing) or an embedder."""
        if isinstance(model, ModelPair):
            return model
        if hasattr(model, "score_pairs") and not hasattr(model, "encode"):
            return cls(reranker=model)
        return cls(embedder=model)

    def require_embedder(self, task: TaskSpec | None) -> Embedder:
        if self.embedder is None:
            name = task.name if task is not None else "this task"
            kind = task.type if task is not None else "this"
            raise WrongModelKindError(
                f"Task {name} ({kind}) needs an embedder, but only a cross-encoder (--reranker) was given.",
                "A cross-encoder alone can only rerank given candidates (Reranking tasks); add --model EMBEDDER "
                "to retrieve or to run other task types.")
        return self.embedder

    def with_embedder(self, embedder: Embedder) -> "ModelPair":
        return replace(self, embedder=embedder)

    @property
    def dimension(self) -> int | None:
        """The embedder's output size when it states one (a model of ours does; a fake may not)."""
        size = getattr(self.embedder, "dimension", None)
        return size if isinstance(size, int) else None

    def describe(self, task: TaskSpec | None = None) -> dict[str, Any]:
        """The models' own descriptions: the embedder's, with the cross-encoder's under ``reranker``
        (the cross-encoder's alone when there is no embedder)."""
        if self.embedder is None:
            return dict(self.reranker.describe(task))
        info = dict(self.embedder.describe(task))
        if self.reranker is not None:
            info["reranker"] = self.reranker.describe(task)
        return info
