"""The card tables beside this module, read once each (model_cards.toml, families.toml, prompt_cards.toml,
prompt_examples.toml, llm_reranker_cards.toml), and finding a model's card in a table keyed by hub id:
one rule for every table, and a leaf that every card reader may import."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any


@lru_cache(maxsize=None)
def read_cards(file_name: str) -> dict[str, dict[str, Any]]:
    """The TOML table ``file_name`` of this folder (the package ships it as package data)."""
    return tomllib.loads(Path(__file__).with_name(file_name).read_text(encoding="utf-8"))


def find_card(cards: dict[str, dict[str, Any]], *names: str | None) -> tuple[str, dict[str, Any]] | None:
    """The card of ``cards`` (keyed by hub id) for the first name that matches a hub id or its last part
    (a local folder named like the model)."""
    by_short = {hub_id.split("/")[-1].lower(): hub_id for hub_id in cards}
    for name in names:
        if not name:
            continue
        if name in cards:
            return name, cards[name]
        short = str(name).rstrip("/").split("/")[-1].lower()
        if short in by_short:
            return by_short[short], cards[by_short[short]]
    return None
