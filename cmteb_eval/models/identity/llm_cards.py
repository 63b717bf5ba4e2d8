"""LLM rerankers as data: the known cards (``llm_reranker_cards.toml``), and telling a causal
language model (an LLM reranker's backbone) from an encoder by its config.

A causal LM is never pooled into an embedding unless its own sentence-transformers files or an
explicit ``--pooling`` say it is an embedder; one that matches an LLM reranker card is refused
as an embedder, pointing to ``--reranker``.
"""

from __future__ import annotations

from typing import Any

from ...errors import WrongModelKindError
from .cards import find_card, read_cards


def llm_reranker_cards() -> dict[str, dict[str, Any]]:
    return read_cards("llm_reranker_cards.toml")


def find_llm_card(*names: str | None) -> tuple[str, dict[str, Any]] | None:
    """The LLM reranker card for the first name that matches a hub id or its last part."""
    return find_card(llm_reranker_cards(), *names)


def known_names() -> str:
    return ", ".join(llm_reranker_cards())


def architectures(config: Any) -> list[str]:
    return list(getattr(config, "architectures", None) or [])


def is_causal_lm(config: Any) -> bool:
    """A model saved with a language-modelling head over its vocabulary (``...ForCausalLM``)."""
    return any(a.endswith("ForCausalLM") for a in architectures(config))


def is_decoder_classifier(config: Any) -> bool:
    """A sequence-classification head on a decoder-only LM (a converted LLM reranker such as
    Qwen3ForSequenceClassification): its score depends on the prompt it was converted with."""
    if not any(a.endswith("ForSequenceClassification") for a in architectures(config)):
        return False
    from transformers.models.auto.modeling_auto import (MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
                                                        MODEL_FOR_MASKED_LM_MAPPING_NAMES)

    model_type = getattr(config, "model_type", None)
    return model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES


def refuse_llm_reranker_as_embedder(model: str, config: Any, names: tuple, said_to_embed: bool) -> None:
    """``--model`` expects an embedder: a causal LM that is a known LLM reranker, or a causal LM that
    nothing says is an embedder (``said_to_embed``: sentence-transformers files, a known embedder card or
    --pooling), is refused."""
    if not is_causal_lm(config):
        return
    card = find_llm_card(*names)
    kind = ", ".join(architectures(config))
    if card is not None:
        raise WrongModelKindError(
            f"Model {model!r} is an LLM reranker ({card[0]}, {kind}): it scores (query, passage) pairs from the "
            f"next-token logits of a prompt and has no sentence embedding; pooling its hidden states gives "
            f"meaningless numbers.",
            f"Evaluate it as a reranker: --reranker {model} (with --model EMBEDDER to retrieve first).")
    if not said_to_embed:
        raise WrongModelKindError(
            f"Model {model!r} is a causal language model ({kind}) with no sentence-transformers files and no "
            f"known card, so nothing says it is an embedder.",
            f"If it is an LLM reranker, pass it with --reranker and name its card with --model-name "
            f"(known: {known_names()}); an embedder ships sentence-transformers files (modules.json) that say how "
            f"it is run.")
