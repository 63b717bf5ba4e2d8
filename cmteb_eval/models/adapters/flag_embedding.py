"""FlagEmbedding's embedder objects given to the Python API (``cmteb_eval.evaluate(FlagModel(...))``), run as
FlagEmbedding's own C-MTEB evaluation runs them: queries of tasks that take the instruction through
``encode_queries`` (their instruction, format, in-context examples and suffix applied by the object),
passages through ``encode_corpus``, every other text through ``encode``.

- ``FlagModel`` (BERT BGE), ``FlagLLMModel`` (bge-multilingual-gemma2, decoder last-token),
  ``FlagICLModel`` (bge-en-icl, with its examples): their vectors as returned;
- ``BGEM3FlagModel``: the dense vectors (``return_dense=True``; sparse and multi-vector scores are other
  retrieval methods, not run here).

Any other FlagEmbedding class (a reranker, an object of a version we do not know) is refused, naming the
fix: a generic ``encode`` would lose the query instruction silently (issue 24's FlagModel row).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ...errors import UserError
from ..protocol import PASSAGE, QUERY, TEXT
from .in_memory import InMemoryEmbedder, as_vectors, class_name, tokenizer_identity

FLAG_EMBEDDERS = ("FlagModel", "FlagLLMModel", "FlagICLModel", "BGEM3FlagModel")
# the classes behind the names above in FlagEmbedding 1.x (FlagModel is BaseEmbedder, ...)
FLAG_BASES = {"BaseEmbedder": "FlagModel", "BaseLLMEmbedder": "FlagLLMModel", "ICLLLMEmbedder": "FlagICLModel",
              "M3Embedder": "BGEM3FlagModel"}


def is_flag_embedding(obj: Any) -> bool:
    return any(c.__module__.split(".")[0] == "FlagEmbedding" for c in type(obj).__mro__)


def flag_kind(obj: Any) -> str | None:
    """Which of the FlagEmbedding embedders ``obj`` is (its most specific known class), or None."""
    for cls in type(obj).__mro__:
        if cls.__module__.split(".")[0] != "FlagEmbedding":
            continue
        if cls.__name__ in FLAG_EMBEDDERS:
            return cls.__name__
        if cls.__name__ in FLAG_BASES:
            return FLAG_BASES[cls.__name__]
    return None


def _format(template: str, *parts: str) -> str:
    template = template.replace("\\n", "\n")  # as AbsEmbedder.get_detailed_instruct reads it
    return template.format(*parts)


class FlagEmbeddingEmbedder(InMemoryEmbedder):
    """A FlagEmbedding embedder object, through its query / corpus methods."""

    def __init__(self, obj: Any, name: str, identity: str | None = None, batch_size: int | None = None,
                 use_instruction: bool = True) -> None:
        kind = flag_kind(obj)
        if kind is None:
            raise UserError(f"{class_name(obj)} is a FlagEmbedding object but not one of its embedders "
                            f"({', '.join(FLAG_EMBEDDERS)}).",
                            "Pass a FlagModel, FlagLLMModel, FlagICLModel or BGEM3FlagModel (a FlagReranker goes "
                            "to reranker=, as a folder path), or the model's folder.")
        self.flag_kind = kind
        self.use_instruction = use_instruction
        self.batch_size = batch_size
        instruction = getattr(obj, "query_instruction_for_retrieval", None)
        template = getattr(obj, "query_instruction_format", "{}{}")
        self.query_prefix = ""
        if instruction:
            # what the object puts around a query; the ICL model adds its examples before and its suffix after
            self.query_prefix = _format(template, instruction, "\x00").split("\x00")[0]
        if kind == "FlagICLModel":
            self.query_prefix = getattr(obj, "prefix", "") + self.query_prefix
        settings = {"flag_embedding": kind, "query_instruction": instruction or "",
                    "query_instruction_format": template if instruction else "",
                    "query_suffix": getattr(obj, "suffix", "") if kind == "FlagICLModel" else "",
                    "examples_prefix": getattr(obj, "prefix", "") if kind == "FlagICLModel" else "",
                    "passage_instruction": getattr(obj, "passage_instruction_for_retrieval", None) or "",
                    "pooling_method": getattr(obj, "pooling_method", None),
                    "normalize": getattr(obj, "normalize_embeddings", None),
                    "query_max_length": getattr(obj, "query_max_length", None),
                    "passage_max_length": getattr(obj, "passage_max_length", None),
                    "use_fp16": getattr(obj, "use_fp16", None), "use_bf16": getattr(obj, "use_bf16", None),
                    "vectors": "dense_vecs" if kind == "BGEM3FlagModel" else "encode output",
                    "instructions_enabled": use_instruction,
                    "instruction_source": f"the {kind} object (encode_queries / encode_corpus / encode)"}
        super().__init__(obj, name, identity, settings, tokenizer_identity(getattr(obj, "tokenizer", None)))

    def method_for(self, role: str, task) -> str:
        """FlagEmbedding's C-MTEB evaluation: encode_queries on queries of tasks that take the instruction,
        encode_corpus on passages, encode on the rest."""
        if role == QUERY and self.use_instruction and (task is None or task.query_instruction):
            return "encode_queries"
        if role == PASSAGE and self.use_instruction:
            return "encode_corpus"
        return "encode"

    def instruction_for(self, role: str, task) -> str:
        method = self.method_for(role, task)
        if method == "encode_queries":
            return self.query_prefix
        if method == "encode_corpus":
            return self.settings["passage_instruction"]
        return ""

    def describe(self, task=None) -> dict[str, Any]:
        info = super().describe(task)
        if task is not None:
            info["methods"] = {role: self.method_for(role, task) for role in (QUERY, PASSAGE, TEXT)}
            if self.use_instruction and task.query_instruction and not self.settings["query_instruction"] \
                    and self.flag_kind != "BGEM3FlagModel":
                info["warnings"] = [f"The {self.flag_kind} has no query_instruction_for_retrieval, so this task's "
                                    f"queries were encoded without one; the model's published scores use its "
                                    f"instruction. Pass query_instruction_for_retrieval=... when building it."]
        return info

    def encode(self, texts: Sequence[str], *, role: str = TEXT, task=None) -> np.ndarray:
        method = self.method_for(role, task)
        kwargs: dict[str, Any] = {"convert_to_numpy": True}
        if self.batch_size:
            kwargs["batch_size"] = self.batch_size
        if self.flag_kind == "BGEM3FlagModel":
            kwargs.update(return_dense=True, return_sparse=False, return_colbert_vecs=False)

        def run(batch: list[str]) -> np.ndarray:
            output = getattr(self.obj, method)(batch, **kwargs)
            if isinstance(output, dict):
                output = output["dense_vecs"]
            return as_vectors(output, len(batch), f"{self.flag_kind} {self.name!r}.{method}")

        key = f"{method}|{self.instruction_for(role, task)}|{self.settings['query_suffix']}"
        return self._check(self.cached(texts, role, key, run))
