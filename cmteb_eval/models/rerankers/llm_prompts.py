"""The token ids an LLM reranker scores, built as its card's recipe builds them
(``identity/llm_reranker_cards.toml``, each card naming its source), and the vocabulary rows
its score reads.

- ``flag-llm`` (FlagLLMReranker, bge-reranker-v2-gemma): ``A: query`` cut to 3/4 of
  ``max_length`` tokens and ``B: passage`` to ``max_length``, each tokenised alone without special
  tokens; ``[bos] query + "\\n" passage`` with the passage cut so the two fit in ``max_length`` +
  the prompt's tokens (only_second), then ``"\\n" + prompt``. Score: the logit of ``Yes`` after
  the last token.
- ``flag-llm-layerwise`` (LayerWiseFlagLLMReranker, bge-reranker-v2-minicpm-layerwise): the same
  inputs, ``<bos>`` always; the score is the cutoff layer's head (``minicpm_layerwise.py``).
- ``qwen3-yes-no`` (Qwen3-Reranker): ``<Instruct>: ...\\n<Query>: ...\\n<Document>: ...`` cut
  (longest_first) to ``max_length`` minus the system prefix and suffix, between them. Score:
  P(yes) = softmax over the (no, yes) logits after the last token.
"""

from __future__ import annotations

from typing import Any, Sequence

from ...errors import ModelLoadError

RECIPES_RUN = ("flag-llm", "flag-llm-layerwise", "qwen3-yes-no")


def score_tokens(recipe: str, card: dict[str, Any], tokenizer, model: str) -> list[int]:
    """The vocabulary ids whose logits make the score: [yes] or [no, yes] (none for a layer-wise score head)."""
    if recipe == "flag-llm-layerwise":
        return []
    if recipe == "flag-llm":
        ids = tokenizer(card["yes_token"], add_special_tokens=False)["input_ids"]
        if not ids:
            raise ModelLoadError(f"The tokenizer of {model} turns {card['yes_token']!r} into no token.",
                                 "Save the model's own tokenizer into the folder.")
        return [ids[0]]
    found = [tokenizer.convert_tokens_to_ids(card[key]) for key in ("no_token", "yes_token")]
    unknown = [card[key] for key, i in zip(("no_token", "yes_token"), found)
               if i is None or i == tokenizer.unk_token_id]
    if unknown:
        raise ModelLoadError(f"The tokenizer of {model} has no token {', '.join(map(repr, unknown))}, which the "
                             f"score reads.", "Save the model's own tokenizer into the folder.")
    return found


def _cut_second(first: list[int], second: list[int], max_length: int, side: str) -> list[int]:
    """only_second truncation, as FlagEmbedding 1.4.2's tokenizer_compat does it (a second part that
    would vanish entirely is left whole, as transformers' prepare_for_model did)."""
    extra = len(first) + len(second) - max_length
    if extra <= 0 or len(second) <= extra:
        return second
    return second[extra:] if side == "left" else second[:-extra]


def flag_llm_inputs(tokenizer, card: dict[str, Any], pairs: Sequence[tuple[str, str]], max_length: int,
                    query_max_length: int) -> list[list[int]]:
    queries = tokenizer([card["query_prefix"] + q for q, _ in pairs], add_special_tokens=False,
                        max_length=query_max_length, truncation=True)["input_ids"]
    passages = tokenizer([card["passage_prefix"] + p for _, p in pairs], add_special_tokens=False,
                         max_length=max_length, truncation=True)["input_ids"]
    prompt = tokenizer(card["prompt"], add_special_tokens=False)["input_ids"]
    sep = tokenizer(card["separator"], add_special_tokens=False)["input_ids"]
    limit = max_length + len(sep) + len(prompt)
    bos = tokenizer.bos_token_id
    # FlagLLMReranker adds <bos> when it differs from <pad>; LayerWiseFlagLLMReranker always (always_bos)
    head = [bos] if bos is not None and (card.get("always_bos") or bos != tokenizer.pad_token_id) else []
    side = getattr(tokenizer, "truncation_side", "right")
    out = []
    for query, passage in zip(queries, passages):
        first = head + list(query)
        out.append(first + _cut_second(first, sep + list(passage), limit, side) + sep + prompt)
    return out


def qwen3_inputs(tokenizer, card: dict[str, Any], pairs: Sequence[tuple[str, str]], max_length: int,
                 instruction: str) -> list[list[int]]:
    prefix = tokenizer.encode(card["system_prefix"], add_special_tokens=False)
    suffix = tokenizer.encode(card["suffix"], add_special_tokens=False)
    texts = [card["template"].format(instruction=instruction, query=q, doc=p) for q, p in pairs]
    body = tokenizer(texts, padding=False, truncation="longest_first", return_attention_mask=False,
                     max_length=max_length - len(prefix) - len(suffix))["input_ids"]
    return [prefix + list(ids) + suffix for ids in body]


def build_inputs(recipe: str, tokenizer, card: dict[str, Any], pairs: Sequence[tuple[str, str]], max_length: int,
                 query_max_length: int | None, instruction: str | None) -> list[list[int]]:
    if recipe.startswith("flag-llm"):
        return flag_llm_inputs(tokenizer, card, pairs, max_length, query_max_length)
    return qwen3_inputs(tokenizer, card, pairs, max_length, instruction)
