"""The models of the Python API (``cmteb_eval.evaluate``): objects in memory (adapted by
``models/adapters/in_memory.py``, identified by their weights or by the caller's ``identity``),
models of ours, or folders and hub ids (loaded as ``cmteb-eval run`` loads them, ``setup.py``),
made into the ``ModelPair`` the run loop takes, with the results folder's name.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from ..errors import UserError
from ..models.adapters.flag_embedding import FlagEmbeddingEmbedder, is_flag_embedding
from ..models.adapters.memory_identity import folder_equal_to
from ..models.identity.prompts import given_table
from ..models.adapters.in_memory import adapt_embedder, cross_encoder_from, is_st_cross_encoder
from ..models.pair import ModelPair
from ..results.naming import safe_name
from .setup import DEFAULT_MODEL_NAME, ModelRequest, is_packaged, load_models


def models_from_objects(model: Any, reranker: Any, request: ModelRequest, identity: str | None = None,
                        reranker_identity: str | None = None, cache_dir: str | None = None,
                        log: Callable[[str], Any] = print) -> tuple[ModelPair, str]:
    """The pair to evaluate and the results folder's name; ``request`` holds the load options and
    ``model_name`` (its ``model`` and ``reranker`` are set here from the objects' paths)."""
    from ..models.cache.store import EmbeddingCache

    if model is None and reranker is None:
        raise UserError("evaluate() was given no model.", "Pass model= (and/or reranker=).")
    if isinstance(model, ModelPair) and reranker is None:  # ours: an embedder and/or a cross-encoder
        model, reranker = model.embedder, model.reranker
    is_scorer = is_st_cross_encoder(model) or (hasattr(model, "score_pairs") and not hasattr(model, "encode"))
    if is_scorer and reranker is None:  # a cross-encoder alone is the reranker
        model, reranker, reranker_identity = None, model, identity
    folder = folder_equal_to(model) if identity is None and not isinstance(model, (str, Path, type(None))) else None
    if folder is not None:  # the folder's model, unchanged: evaluated (and named) as `cmteb-eval run --model` does
        log(f"The model in memory equals the folder it was loaded from ({folder}): evaluated as that folder.")
        model = str(folder)
        request = replace(request, model_name=request.model_name or (DEFAULT_MODEL_NAME if is_packaged(folder)
                                                                     else None))
    model_path = str(model) if isinstance(model, (str, Path)) else None
    reranker_path = str(reranker) if isinstance(reranker, (str, Path)) else None
    request = replace(request, model=model_path, reranker=reranker_path)
    cache = EmbeddingCache(cache_dir) if cache_dir else None
    embedder = scorer = None
    if model_path or reranker_path:  # loaded as `cmteb-eval run` loads them
        loaded, _ = load_models(request, request.device, cache, log=log)
        embedder, scorer = loaded.embedder, loaded.reranker
    if model is not None and model_path is None:
        if any(getattr(request, k) not in (None, "dense") for k in ("retrieval_method", "hybrid_weights",
                                                                     "token_vectors_budget_mb")):
            raise UserError("retrieval_method=, hybrid_weights= and token_vectors_budget_mb= apply to a bge-m3 model "
                            "given by folder or hub id, which is loaded with its sparse and ColBERT heads.",
                            "Pass the model's folder (model='path/to/bge-m3'), or leave these options out.")
        name = request.model_name  # None: the adapter's default, the class and a short identity
        if request.prompt_variant:
            raise UserError("prompt_variant= picks a known card's prompts for a model loaded from a folder or hub id.",
                            "Pass the model's folder or hub id, or prompts= with the prompts to use.")
        given = given_table(request.prompts, request.query_instruction, request.document_instruction,
                            "prompts= (Python API)")
        if hasattr(model, "describe") and hasattr(model, "encode"):  # one of our embedders
            embedder = model
        elif is_flag_embedding(model):  # FlagModel, FlagLLMModel, FlagICLModel, BGEM3FlagModel: query/corpus methods
            if request.prompts or request.document_instruction:
                raise UserError(f"prompts= and document_instruction= do not apply to a FlagEmbedding "
                                f"{type(model).__name__}: it runs with the instruction it was built with.",
                                "Build it with query_instruction_for_retrieval=..., or leave these options out.")
            embedder = FlagEmbeddingEmbedder(model, name, identity, request.batch_size, request.use_instruction)
        else:
            embedder = adapt_embedder(model, name, identity, request.batch_size, request.use_instruction, given)
        if cache is not None and hasattr(embedder, "cached"):
            embedder.cache = cache
    if reranker is not None and reranker_path is None:
        if hasattr(reranker, "score_pairs") and hasattr(reranker, "describe"):  # one of ours
            scorer = reranker
        elif is_st_cross_encoder(reranker):
            scorer = cross_encoder_from(reranker, None, reranker_identity,
                                        request.batch_size or 32, request.sigmoid)
        else:
            raise UserError(f"reranker= takes a sentence-transformers CrossEncoder, one of our rerankers, or a "
                            f"folder or hub id; got {type(reranker).__name__}.", "Pass a CrossEncoder.")
    first = (request.embedder_source()[1] if model_path else getattr(embedder, "name", None)
             or type(model).__name__) if embedder is not None else None
    second = reranker_path or getattr(scorer, "model_id", None)
    suffix = request.method_suffix() if model_path else ""  # a bge-m3 method's own results folder
    name = (request.model_name + suffix if request.model_name and first is not None else request.model_name) or (
        second if first is None else first + suffix if scorer is None
        else f"{safe_name(first)}{suffix}__rerank__{safe_name(second)}")
    return ModelPair(embedder, scorer), str(name)


def path_list(value: Any, parameter: str) -> list:
    """One path given as a string is a list of one; anything else not a list of paths is refused by name."""
    if isinstance(value, (str, Path)):
        return [value]
    if value is None:
        return []
    try:
        items = list(value)
    except TypeError:
        items = None
    if items is None or not all(isinstance(item, (str, Path)) for item in items):
        raise UserError(f"evaluate()'s {parameter} takes a path or a list of paths; got {type(value).__name__}.",
                        f"Pass {parameter}=['path', ...].")
    return items
