"""Finding a model's card in a table of cards keyed by hub id (model_cards.toml, llm_reranker_cards.toml):
one rule for every table, and a leaf that every card reader may import."""

from __future__ import annotations

from typing import Any


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
