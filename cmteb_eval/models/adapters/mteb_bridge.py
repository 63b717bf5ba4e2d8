"""Hand one of our embedders to mteb: ``mteb.evaluate(as_mteb_encoder(embedder), tasks)``.

mteb passes batches of ``{"text": [...]}`` and a prompt type ("query" or
"document"); we map that to our roles, so our instruction logic applies (the
instruction goes on queries of tasks whose mteb type is one whose queries take it in our
type table: Retrieval and Reranking).
mteb is imported lazily: it is a reference dependency, not needed to run us.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...tasks.types import TYPES
from ..protocol import PASSAGE, QUERY, TEXT, Embedder


class _TaskView:
    """The little of a TaskSpec our embedders read: whether queries take the instruction, and the
    task's name and type (the keys of a prompt table, identity/prompts.py)."""

    def __init__(self, query_instruction: bool, name: str | None = None, type: str | None = None) -> None:
        self.query_instruction = query_instruction
        self.name = name
        self.type = type


def as_mteb_encoder(embedder: Embedder, name: str = "cmteb-eval/model", revision: str | None = None):
    method = getattr(embedder, "retrieval_method", None) or "dense"
    if method != "dense":  # mteb scores dense vectors only: it would get the dense numbers under this method's name
        from ...errors import UserError

        raise UserError(f"bge-m3's {method} scores cannot be handed to mteb, which scores dense embeddings only.",
                        "Evaluate it with cmteb-eval run --retrieval-method, or hand mteb the dense model.")
    from mteb.models import ModelMeta
    from mteb.models.abs_encoder import AbsEncoder
    from mteb.models.model_meta import ScoringFunction
    from mteb.types import PromptType

    class CmtebEvalEncoder(AbsEncoder):
        def __init__(self) -> None:
            self.model = embedder
            self.mteb_model_meta = ModelMeta.create_empty(overwrites=dict(
                name=name, revision=revision, framework=["PyTorch"],
                similarity_fn_name=ScoringFunction.COSINE, embed_dim=getattr(embedder, "dimension", None)))

        def encode(self, inputs, *, task_metadata, hf_split, hf_subset, prompt_type=None,
                   **kwargs: Any) -> np.ndarray:
            texts = [text for batch in inputs for text in batch["text"]]
            if prompt_type == PromptType.query:
                role = QUERY
            elif prompt_type == PromptType.document:
                role = PASSAGE
            else:
                role = TEXT
            row = TYPES.get(task_metadata.type)  # our type table: do its queries take the instruction?
            view = _TaskView(row is not None and row.query_instruction, task_metadata.name, task_metadata.type)
            return embedder.encode(texts, role=role, task=view)

    return CmtebEvalEncoder()
