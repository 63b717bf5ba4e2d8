"""Checking what a served model answered before anything is stored: one vector per text (or one
score per document), every index once, a constant dimension, finite numbers. Each refusal is a
``ServedModelError`` naming the endpoint and quoting what came back."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ...errors import ServedModelError

SHOWN_BODY = 160  # characters of an unexpected answer quoted in an error

HINT = ("Check the URL and --api (openai, infinity or tei): the endpoint must be the embedding or reranking "
        "route of that API. Nothing from this request was stored.")


def shown(raw: bytes | str) -> str:
    """The start of an answer, on one line, quoted."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    text = " ".join(text.split())
    return repr(text[:SHOWN_BODY] + ("..." if len(text) > SHOWN_BODY else ""))


def _quote(payload: Any) -> str:
    return shown(json.dumps(payload, ensure_ascii=False) if not isinstance(payload, str) else payload)


def indexed_rows(items: Any, count: int, index_key: str, value_key: str, url: str, what: str) -> list[Any]:
    """``items`` (``[{index_key: i, value_key: v}, ...]``) in index order: exactly indices 0..count-1."""
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ServedModelError(f"{url} answered {_quote(items)} where a list of {what} was expected.", HINT)
    if len(items) != count:
        raise ServedModelError(f"{url} answered {len(items)} {what} for {count} input(s): {_quote(items)}", HINT)
    out: list[Any] = [None] * count
    for item in items:
        index = item.get(index_key)
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < count or out[index] is not None:
            raise ServedModelError(f"{url} answered {what} whose '{index_key}' values are not 0..{count - 1} once each "
                                   f"(got {_quote([i.get(index_key) for i in items])}).", HINT)
        if value_key not in item:
            raise ServedModelError(f"{url} answered an item without '{value_key}': {_quote(item)}", HINT)
        out[index] = item[value_key]
    return out


def vectors(rows: Any, count: int, url: str, dimension: int | None) -> np.ndarray:
    """``rows`` as a float32 matrix: ``count`` rows of ``dimension`` (when known) finite numbers."""
    if not isinstance(rows, list) or len(rows) != count:
        got = f"{len(rows)} vector(s)" if isinstance(rows, list) else _quote(rows)
        raise ServedModelError(f"{url} answered {got} for {count} text(s).", HINT)
    sizes = sorted({len(r) if isinstance(r, list) else -1 for r in rows})
    if sizes and sizes[0] < 1:
        bad = next(r for r in rows if not isinstance(r, list) or not r)
        raise ServedModelError(f"{url} answered {_quote(bad)} where an embedding (a list of numbers) was expected.", HINT)
    if len(sizes) > 1:
        raise ServedModelError(f"{url} answered vectors of different dimensions in one batch: {sizes}.", HINT)
    if dimension is not None and sizes and sizes[0] != dimension:
        raise ServedModelError(f"{url} answered {sizes[0]}-dimensional vectors, but earlier answers of this "
                               f"endpoint were {dimension}-dimensional: the model behind it changed, or it is "
                               f"not one model.", "Rerun once the server serves one model; " + HINT)
    try:
        matrix = np.asarray(rows, dtype=np.float32).reshape(count, -1)
    except (TypeError, ValueError):
        raise ServedModelError(f"{url} answered embeddings that are not lists of numbers: {_quote(rows[0])}",
                               HINT) from None
    if not np.isfinite(matrix).all():
        bad = int((~np.isfinite(matrix).all(axis=1)).sum())
        raise ServedModelError(f"{url} answered NaN or infinite values in {bad} of {count} vector(s).",
                               "Check the served model (its dtype, its weights). Nothing from this request was stored.")
    return matrix


def scores(values: list[Any], url: str) -> np.ndarray:
    """Relevance scores as float32, each a finite number."""
    try:
        out = np.asarray(values, dtype=np.float32).reshape(len(values))
    except (TypeError, ValueError):
        raise ServedModelError(f"{url} answered scores that are not numbers: {_quote(values[:5])}", HINT) from None
    if not np.isfinite(out).all():
        raise ServedModelError(f"{url} answered NaN or infinite relevance scores.", "Check the served model.")
    return out


def usage_tokens(payload: Any) -> int:
    """The tokens the server says it processed (``usage.total_tokens`` or ``prompt_tokens``), 0 if none."""
    usage = payload.get("usage") if isinstance(payload, dict) else None
    if isinstance(usage, dict):
        for key in ("total_tokens", "prompt_tokens"):
            if isinstance(usage.get(key), int):
                return usage[key]
    return 0
