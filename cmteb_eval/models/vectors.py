"""Two rules every model's output follows: each distinct input is computed once (``distinct``),
and no NaN or infinite value leaves a model (``refuse_non_finite``)."""

from __future__ import annotations

from typing import Hashable, Iterable

import numpy as np

from ..errors import EmbeddingError


def distinct(keys: Iterable[Hashable]) -> tuple[list, list[int]]:
    """The distinct keys in first-seen order, and each input's position among them."""
    unique: dict = {}
    positions = [unique.setdefault(key, len(unique)) for key in keys]
    return list(unique), positions


def refuse_non_finite(values: np.ndarray, *, who: str, what: str, units: str, dtype: str, hint: str) -> None:
    """An EmbeddingError counting the rows (``units``) with a NaN or infinite value, if there are any."""
    finite = np.isfinite(values)
    if finite.all():
        return
    bad = int((~finite.reshape(len(values), -1).all(axis=1)).sum())
    raise EmbeddingError(f"{who} produced NaN or infinite {what} for {bad} of {len(values)} {units} (dtype {dtype}).",
                         hint)
