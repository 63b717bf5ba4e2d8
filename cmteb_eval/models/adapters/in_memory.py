"""Models given as Python objects (the Python API, ``cmteb_eval.evaluate``): adapters to our
Protocols (``protocol.py``).

- a ``SentenceTransformer``: its own ``encode`` with the prompt mteb would pass (the query prompt on
  queries of tasks that take the instruction, the document prompt on passages, the default prompt
  on every other text), so any module chain runs exactly as sentence-transformers runs it;
- a sentence-transformers ``CrossEncoder``: its transformers model and tokenizer in our
  cross-encoder (raw logits, its max length);
- an mteb encoder (an object with ``mteb_model_meta``): ``encode(DataLoader, task_metadata=...,
  hf_split=..., hf_subset=..., prompt_type=...)`` with the task's mteb name;
- FlagEmbedding's FlagModel, FlagLLMModel, FlagICLModel, BGEM3FlagModel: ``flag_embedding.py`` (the API
  picks it before ``adapt_embedder``);
- any object with ``encode(list[str])``: called with the texts, plus ``role=`` / ``prompt_type=``
  when its signature names them; one that takes neither cannot tell queries from documents, and the
  result of an asymmetric task (Retrieval, Reranking) says so (``warnings``).

Identity: a model in memory changes between calls (a training loop, a setting changed by hand), so
each adapter is made per call and identified by a SHA-256 of the weights and the settings of every
module of its stack (``memory_identity.py``), or by the identity the caller gives; without either (an
object with no weights we can read) it has none, and the API neither resumes nor caches it.
"""

from __future__ import annotations

import inspect
from typing import Any, Sequence

import numpy as np

from ...errors import UserError, WrongModelKindError
from ...tasks.aliases import mteb_name, mteb_subset
from ..cache.fill import cached_encode
from ..identity.prompts import NO_PROMPT, PromptResolver, PromptTable, st_table
from ..protocol import PASSAGE, QUERY, TEXT
from ..vectors import distinct, refuse_non_finite
from .memory_identity import default_name, memory_identity, tokenizer_identity

IDENTITY_SOURCE = "SHA-256 of the weights and the settings of every module in memory"

ASYMMETRIC = ("Retrieval", "Reranking")  # task types whose queries and documents are encoded differently


def class_name(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def is_sentence_transformer(obj: Any) -> bool:
    return any(c.__name__ == "SentenceTransformer" and c.__module__.startswith("sentence_transformers")
               for c in type(obj).__mro__)


def is_st_cross_encoder(obj: Any) -> bool:
    return any(c.__name__ == "CrossEncoder" and c.__module__.startswith("sentence_transformers")
               for c in type(obj).__mro__)


def is_mteb_encoder(obj: Any) -> bool:
    return hasattr(obj, "mteb_model_meta") and callable(getattr(obj, "encode", None))


def as_vectors(output: Any, count: int, who: str) -> np.ndarray:
    """A model's output as a float32 (count, dim) array, or a UserError saying what came back."""
    if hasattr(output, "detach"):
        output = output.detach().float().cpu().numpy()
    try:
        vectors = np.asarray(output, dtype=np.float32)
    except (TypeError, ValueError):
        vectors = None
    if vectors is None or vectors.ndim != 2 or vectors.shape[0] != count:
        shape = getattr(vectors, "shape", None)
        raise UserError(f"{who}.encode returned {type(output).__name__} of shape {shape} for {count} texts; "
                        f"an embedder returns one row per text.", "Return an array of shape (len(texts), dim).")
    refuse_non_finite(vectors, who=who, what="embeddings", units="texts", dtype="float32",
                      hint="Check the model's weights.")
    return vectors


class InMemoryEmbedder:
    """Base of the embedder adapters: identity, dimension and ``describe``."""

    kind = "embedder"

    def __init__(self, obj: Any, name: str, identity: str | None, settings: dict[str, Any], extra: Any = None) -> None:
        self.obj = obj
        self.settings = settings
        if identity is not None:
            self.fingerprint, self.identity_source = str(identity), "given by the caller"
        else:
            self.fingerprint = memory_identity(obj, {"settings": settings, "extra": extra})
            self.identity_source = IDENTITY_SOURCE if self.fingerprint else "none"
        self.name = name or default_name(obj, self.fingerprint)
        self.dimension = None
        self.cache = None  # a models.cache.EmbeddingCache: used only when the model has an identity

    def cached(self, texts: Sequence[str], role: str, instruction: str, encode) -> np.ndarray:
        """``encode(texts)`` through the embedding cache, keyed by the model's identity, role and instruction
        (each distinct text once); straight through without a cache, an identity or a known dimension."""
        if self.cache is None or not self.stable or self.dimension is None:
            return encode(list(texts))
        unique, positions = distinct(texts)
        namespace = self.cache.namespace({"in_memory": class_name(self.obj), "identity": self.fingerprint,
                                          "dimension": self.dimension, "role": role, "instruction": instruction})
        vectors = cached_encode(unique, namespace, None, self.dimension, encode)
        return vectors[np.asarray(positions, dtype=np.int64)] if positions else vectors

    @property
    def stable(self) -> bool:
        """Whether results and embeddings may be reused: the model has an identity."""
        return self.fingerprint is not None

    def describe(self, task=None) -> dict[str, Any]:
        return {"model": self.name, "kind": "embedder", "in_memory": class_name(self.obj),
                "weights_fingerprint": self.fingerprint, "identity": self.identity_source, **self.settings,
                "query_instruction": self.instruction_for(QUERY, task) if task is not None
                else self.settings.get("query_instruction", "")}

    def instruction_for(self, role: str, task) -> str:
        return ""

    def _check(self, vectors: np.ndarray) -> np.ndarray:
        if self.dimension is None:
            self.dimension = int(vectors.shape[1])
        return vectors


class SentenceTransformerEmbedder(InMemoryEmbedder):
    """A SentenceTransformer, run by its own ``encode`` with the prompt mteb would pass."""

    def __init__(self, model: Any, name: str, identity: str | None = None, batch_size: int | None = None,
                 use_instruction: bool = True, given: PromptTable | None = None) -> None:
        prompts = {str(k): str(v or "") for k, v in (getattr(model, "prompts", None) or {}).items()}
        default = getattr(model, "default_prompt_name", None)
        self.prompts = {QUERY: prompts.get("query", ""), PASSAGE: prompts.get("document", ""),
                        TEXT: prompts.get(default, "") if default else ""}
        # prompts= first, then the model's own (task- and type-keyed ones too), as for a folder (identity/prompts.py)
        self.resolver = PromptResolver(tuple(t for t in (given, st_table(prompts, default, "the SentenceTransformer"))
                                             if t is not None))
        self.use_instruction = use_instruction
        self.batch_size = batch_size or 32
        settings = {"modules": [type(m).__name__ for m in model], "max_length": getattr(model, "max_seq_length", None),
                    "truncate_dim": getattr(model, "truncate_dim", None), "prompts": prompts,
                    "default_prompt_name": default, "similarity_fn_name": getattr(model, "similarity_fn_name", None),
                    "query_instruction": self.prompts[QUERY], "instructions_enabled": use_instruction,
                    "instruction_source": "the model's prompts (query, document, default_prompt_name)"}
        similarity = settings["similarity_fn_name"] or "cosine"
        if similarity not in ("cosine", "dot"):
            raise UserError(f"The SentenceTransformer's similarity_fn_name is {similarity!r}; this harness scores "
                            f"with the cosine.", "Set model.similarity_fn_name = 'cosine' or evaluate it with mteb.")
        super().__init__(model, name, identity, settings, tokenizer_identity(getattr(model, "tokenizer", None)))
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dimension = dimension()
        if getattr(model, "truncate_dim", None):
            self.dimension = min(self.dimension or model.truncate_dim, model.truncate_dim)

    def instruction_for(self, role: str, task) -> str:
        return self.prompt_for(role, task).prefix

    def prompt_for(self, role: str, task):
        return self.resolver.prompt(task, role) if self.use_instruction else NO_PROMPT

    def describe(self, task=None) -> dict[str, Any]:
        info = super().describe(task)
        if task is not None:
            info["prompts"] = {side: (p if self.use_instruction else NO_PROMPT).recorded()
                               for side, p in self.resolver.sides(task).items()}
        return info

    def encode(self, texts: Sequence[str], *, role: str = TEXT, task=None) -> np.ndarray:
        found = self.prompt_for(role, task)
        prompt = found.prefix
        if found.suffix:  # a template: the suffix follows each text; the prefix is ST's prompt (include_prompt)
            texts = [f"{text}{found.suffix}" for text in texts]

        def run(batch: list[str]) -> np.ndarray:
            output = self.obj.encode(batch, prompt=prompt, batch_size=self.batch_size, convert_to_numpy=True,
                                     show_progress_bar=False)
            return as_vectors(output, len(batch), f"SentenceTransformer {self.name!r}")

        return self._check(self.cached(texts, role, prompt, run))


class CallableEmbedder(InMemoryEmbedder):
    """Any object with ``encode(list[str])``; ``role=`` (query, passage, text) and ``prompt_type=``
    (query, document, None) are passed when its signature names them."""

    def __init__(self, obj: Any, name: str, identity: str | None = None) -> None:
        try:
            parameters = inspect.signature(obj.encode).parameters
        except (TypeError, ValueError):
            parameters = {}
        self.passes = [p for p in ("role", "prompt_type") if p in parameters]
        super().__init__(obj, name, identity, {"passes": self.passes})

    def describe(self, task=None) -> dict[str, Any]:
        info = super().describe(task)
        if not self.passes and getattr(task, "type", None) in ASYMMETRIC:
            info["warnings"] = [f"{class_name(self.obj)}.encode takes neither role= nor prompt_type=, so it "
                                f"cannot tell queries from documents: on this {task.type} task both were encoded "
                                f"alike, without a query instruction or document prompt. Wrap the model so that encode takes "
                                f"prompt_type='query'/'document' (or pass a SentenceTransformer / FlagEmbedding "
                                f"object) to run it as its authors do."]
        return info

    def encode(self, texts: Sequence[str], *, role: str = TEXT, task=None) -> np.ndarray:
        kwargs = {}
        if "role" in self.passes:
            kwargs["role"] = role
        if "prompt_type" in self.passes:
            kwargs["prompt_type"] = {QUERY: "query", PASSAGE: "document"}.get(role)
        return self._check(as_vectors(self.obj.encode(list(texts), **kwargs), len(texts), f"Model {self.name!r}"))


class MtebEncoderEmbedder(InMemoryEmbedder):
    """An mteb encoder: called as mteb calls it, with the task's mteb metadata and prompt type."""

    def __init__(self, obj: Any, name: str, identity: str | None = None) -> None:
        meta = getattr(obj, "mteb_model_meta", None)  # its identity: the weights of obj.model when it has them
        super().__init__(obj, name, identity, {"mteb_model": getattr(meta, "name", None),
                                               "mteb_revision": getattr(meta, "revision", None)})
        self._metadata: dict[str, Any] = {}

    def _task_metadata(self, task):
        import mteb

        key = mteb_name(task)
        if key not in self._metadata:
            try:
                self._metadata[key] = mteb.get_task(key).metadata
            except KeyError:
                raise UserError(f"Task {task.name} has no mteb task ({key!r}), so an mteb encoder cannot be told which "
                                f"task it encodes.", "Wrap the model as an object with encode(list[str]).") from None
        return self._metadata[key]

    def encode(self, texts: Sequence[str], *, role: str = TEXT, task=None) -> np.ndarray:
        from datasets import Dataset
        from mteb.types import PromptType
        from torch.utils.data import DataLoader

        if task is None:
            raise UserError("An mteb encoder needs the task it encodes for.", "Pass the task.")
        loader = DataLoader(Dataset.from_dict({"text": list(texts)}), batch_size=32)
        prompt_type = {QUERY: PromptType.query, PASSAGE: PromptType.document}.get(role)
        output = self.obj.encode(loader, task_metadata=self._task_metadata(task), hf_split=task.eval_splits[0],
                                 hf_subset=mteb_subset(task), prompt_type=prompt_type)
        return self._check(as_vectors(output, len(texts), f"mteb encoder {self.name!r}"))


def cross_encoder_from(ce: Any, name: str | None, identity: str | None = None, batch_size: int = 32,
                       sigmoid: bool = False):
    """Our CrossEncoderReranker on a sentence-transformers CrossEncoder's model and tokenizer."""
    from ..rerankers.cross_encoder import CrossEncoderReranker

    labels = getattr(ce, "num_labels", 1)
    prompts = {k: v for k, v in (getattr(ce, "prompts", None) or {}).items() if v}
    model = getattr(ce, "model", None)
    if labels != 1 or prompts or getattr(ce, "default_prompt_name", None) or not hasattr(model, "state_dict"):
        raise WrongModelKindError(
            f"The CrossEncoder {name or type(ce).__name__!r} has {labels} label(s), prompts {prompts or 'none'} and a "
            f"{type(model).__name__} model; the reranker runs one-logit torch cross-encoders without prompts.",
            "Evaluate it with mteb, or save a one-label model without prompts.")
    max_length = int(getattr(ce, "max_seq_length", None) or getattr(ce, "max_length", None) or 512)
    fingerprint = identity or memory_identity(ce, {"max_length": max_length,
                                                   "tokenizer": tokenizer_identity(ce.tokenizer)})
    name = name or default_name(ce, fingerprint)
    return CrossEncoderReranker.from_loaded(model, ce.tokenizer, name=name, max_length=max_length,
                                            fingerprint=fingerprint, batch_size=batch_size, sigmoid=sigmoid,
                                            in_memory=class_name(ce))


def adapt_embedder(obj: Any, name: str | None, identity: str | None = None, batch_size: int | None = None,
                   use_instruction: bool = True, given: PromptTable | None = None):
    """The adapter for an embedder given as a Python object (see the module's docstring); ``name`` None:
    the default name, with a short identity (``memory_identity.default_name``). ``given``: the prompts=
    table, which a SentenceTransformer takes before its own prompts; another object cannot take it
    (refused, never ignored)."""
    if is_sentence_transformer(obj):
        return SentenceTransformerEmbedder(obj, name, identity, batch_size, use_instruction, given)
    if given is not None:
        raise UserError(f"prompts= / query_instruction= / document_instruction= cannot be applied to a "
                        f"{class_name(obj)}: cmteb-eval does not build its inputs.",
                        "Pass a SentenceTransformer, or the model's folder or hub id, with the prompts.")
    if is_mteb_encoder(obj):
        return MtebEncoderEmbedder(obj, name, identity)
    if callable(getattr(obj, "encode", None)):
        return CallableEmbedder(obj, name, identity)
    raise UserError(f"Cannot evaluate a {class_name(obj)}: it has no encode method.",
                    "Pass a SentenceTransformer, a CrossEncoder (as the reranker), an mteb encoder, a model folder "
                    "or hub id, or any object with encode(list[str]) -> array.")
