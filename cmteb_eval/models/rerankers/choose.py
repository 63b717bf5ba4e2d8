"""Which reranker adapter a ``--reranker`` model gets: a causal LM (an LLM reranker's backbone)
the LLM reranker (``llm_reranker.py``), anything else the cross-encoder (``cross_encoder.py``),
which refuses what is not one."""

from __future__ import annotations

from typing import Any

from ..identity import loading
from ..identity.llm_cards import find_llm_card, is_causal_lm


def load_any_reranker(model: str, *, model_name: str | None = None, revision: str | None = None,
                      trust_remote_code: bool = False, max_batch_tokens: int | None = None,
                      query_instruction: str | None = None, **kwargs: Any):
    folder = loading.local_folder(model)
    if folder is not None:
        loading.check_folder(folder)
    config = loading.read_config(model, folder, revision, trust_remote_code)
    names = (model_name, model, folder.name if folder else None)
    if is_causal_lm(config) or (find_llm_card(*names) and not loading.is_cross_encoder(config)):
        from .llm_reranker import LLMReranker

        return LLMReranker(model, model_name=model_name, revision=revision, trust_remote_code=trust_remote_code,
                           max_batch_tokens=max_batch_tokens, query_instruction=query_instruction, config=config,
                           **kwargs)
    from .cross_encoder import CrossEncoderReranker

    kwargs["batch_size"] = kwargs.get("batch_size") or 32
    return CrossEncoderReranker(model, model_name=model_name, revision=revision,
                                trust_remote_code=trust_remote_code, **kwargs)
