"""Working out how a model must be run: pooling, normalisation, max length, instruction.

Sources, later ones overriding earlier ones:
1. the known model card (``model_cards.toml``), matched by hub id, ``--model-name``
   or the folder's own name;
2. the sentence-transformers files in the model folder (``modules.json`` and every module's
   config, read by ``st_folder.py`` as sentence-transformers reads them), which are what the
   model's authors ship;
3. explicit overrides from the user.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ...errors import ModelLoadError
from .families import Family, is_decoder, undescribed_decoder
from .cards import find_card, read_cards
from .st_folder import ST_POOLING_MODES, StFolder, instructions, tokenizer_max_length

POOLING_MODES = ST_POOLING_MODES  # cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken


@dataclass(frozen=True)
class EncoderSettings:
    kind: str = "embedder"  # or "cross-encoder"
    pooling: str | None = None
    normalize: bool = True
    max_length: int = 512
    query_instruction: str = ""
    settings_source: str = "defaults"
    # read from a sentence-transformers folder (st_folder.py); the defaults change nothing
    include_prompt: bool = True
    head: tuple = ()
    truncate_dim: int | None = None
    lowercase: bool = False
    passage_instruction: str = ""
    text_instruction: str = ""
    instruction_source: str = ""
    # a decoder-embedder family's mechanics (families.py); the defaults change nothing
    family: str = ""
    eos: str = ""  # the token every text must end with
    padding_side: str = ""  # "left", "right"; "" or "tokenizer": as the tokenizer says

    def recorded(self) -> dict[str, Any]:
        """The sentence-transformers settings that differ from the defaults (for result files)."""
        out = {}
        for name in ("include_prompt", "truncate_dim", "lowercase", "passage_instruction", "text_instruction",
                     "instruction_source"):
            if getattr(self, name) != getattr(EncoderSettings, name):
                out[name] = getattr(self, name)
        if self.head:
            out["modules_after_pooling"] = [describe_step(step) for step in self.head]
        return out


def describe_step(step: tuple) -> str:
    if step[0] == "dense":
        return f"Dense({step[1]}->{step[2]}, bias={step[3]}, {step[4].rpartition('.')[2]})"
    if step[0] == "layernorm":
        return f"LayerNorm({step[1]})"
    return "Normalize"


def known_models() -> dict[str, dict[str, Any]]:
    return read_cards("model_cards.toml")


def find_known_model(*names: str | None) -> tuple[str, dict[str, Any]] | None:
    """The known card for the first name that matches a hub id or its last part."""
    return find_card(known_models(), *names)


def sentence_transformers_settings(st: StFolder, config: Any = None) -> dict[str, Any]:
    """Pooling, the modules after it, normalisation, max length and prompts of a sentence-transformers
    folder (``st_folder.read_st_folder``), as EncoderSettings fields."""
    found: dict[str, Any] = {"pooling": st.pooling, "normalize": st.normalize, "include_prompt": st.include_prompt,
                             "head": st.head, "truncate_dim": st.truncate_dim, "lowercase": st.lowercase}
    length, source = (st.max_length, st.max_length_source) if st.max_length else \
        tokenizer_max_length(st.transformer_dir, config)
    if length:
        found["max_length"] = length
    prompts = instructions(st)
    # sentence-transformers >= 5 writes empty query/document prompts into every save: only a non-empty
    # prompt says something (an empty one leaves a known card's instruction in place)
    if "query" in prompts:
        found["query_instruction"], found["instruction_source"] = prompts["query"]
    found["passage_instruction"] = prompts.get("passage", ("", ""))[0]
    found["text_instruction"] = prompts.get("text", ("", ""))[0]
    if found["passage_instruction"] or found["text_instruction"]:
        found["instruction_source"] = "; ".join(f"{role}: {where}" for role, (_, where) in prompts.items())
    found["_source"] = ", ".join(filter(None, ["sentence-transformers files", source]))
    return found


def resolve_settings(model: str, folder: Path | None, model_name: str | None = None,
                     overrides: dict[str, Any] | None = None, st: StFolder | None = None,
                     config: Any = None, family: Family | None = None) -> EncoderSettings:
    settings = EncoderSettings()
    sources = []
    known = find_known_model(model_name, model, folder.name if folder else None)
    if known:
        hub_id, card = known
        fields = EncoderSettings.__dataclass_fields__  # a cross-encoder card's own keys are not an embedder's
        settings = replace(settings, **{k: v for k, v in card.items() if k in fields})
        sources.append(f"known card {hub_id}")
    if family is not None:
        settings = replace(settings, **family.settings())
        sources.append(f"family {family.name} ({family.matched_by}; {family.source})")
    if st is not None:
        found = sentence_transformers_settings(st, config)
        sources.append(found.pop("_source"))
        settings = replace(settings, **found)
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if given:
        if "query_instruction" in given:
            given["instruction_source"] = "command line"
        settings = replace(settings, **given)
        sources.append("command line")
    if settings.kind == "embedder" and (settings.pooling is None
                                        or any(m not in POOLING_MODES for m in settings.pooling.split("+"))):
        if settings.pooling is None and config is not None and is_decoder(config):
            raise undescribed_decoder(model, config)
        raise ModelLoadError(
            f"Model {model!r}: cannot tell how to pool its token embeddings (no sentence-transformers "
            f"files and not a known model).",
            f"Pass --pooling {'|'.join(POOLING_MODES)} (and --no-normalize / --max-length if needed), "
            "or --model-name with a known hub id.")
    return replace(settings, settings_source=" + ".join(sources) or "defaults")


# Position embeddings offset by the padding index (position ids start at pad_token_id + 1).
OFFSET_POSITION_TYPES = frozenset({"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "mpnet", "longformer",
                                   "data2vec-text", "roberta-prelayernorm", "ibert"})
MAX_TOKENS_WITHOUT_POSITIONS = 1 << 20  # the bound when a config states no position limit


def usable_positions(config: Any) -> int | None:
    """How many tokens the model's position embeddings can take, from its config (None: no limit stated)."""
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, bool) or not isinstance(positions, int) or positions <= 0:
        return None
    if getattr(config, "model_type", None) in OFFSET_POSITION_TYPES:
        pad = getattr(config, "pad_token_id", 1)
        positions -= (pad if isinstance(pad, int) and not isinstance(pad, bool) and pad >= 0 else 1) + 1
    return positions if positions > 0 else None


def fit_max_length(max_length: int, config: Any, model: str, from_command_line: bool) -> tuple[int, str | None]:
    """The max length to run with, and a note when a default was capped to the model's positions.

    A ``--max-length`` the model cannot take (more tokens than its position embeddings, or an
    absurd number) is an error naming the limit; a default or a settings file's value above
    the limit is capped to it (a longer input would crash the forward pass anyway)."""
    limit = usable_positions(config)
    bound = limit if limit is not None else MAX_TOKENS_WITHOUT_POSITIONS
    if max_length <= bound:
        return max_length, None
    if from_command_line:
        why = (f"its config has max_position_embeddings {config.max_position_embeddings}, so it takes at most "
               f"{limit} tokens") if limit is not None else \
            f"its config states no position limit, and cmteb-eval accepts at most {bound} tokens"
        raise ModelLoadError(f"--max-length {max_length} is more than model {model!r} can take: {why}.",
                             f"Pass --max-length {bound} or less (or leave it out for the model's own setting).")
    return bound, f"max_length capped at the model's {bound} positions"


def check_room_for_text(max_length: int, special_tokens: int, model: str) -> None:
    """A max length that leaves no token for the text would encode every text alike."""
    if max_length <= special_tokens:
        raise ModelLoadError(
            f"--max-length {max_length} leaves no room for text: model {model!r} adds {special_tokens} special "
            f"token(s) to every input, so every text would be cut down to those alone and get the same vector.",
            f"Pass --max-length {special_tokens + 1} or more.")
