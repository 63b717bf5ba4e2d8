"""What the evaluators need from a model: small Protocols, so any object that
satisfies them can be evaluated (ours, a wrapper around another library, a mock).

A model is told which task it encodes for: a ``TaskView``, of which it may read only whether
the task's queries take the instruction (a TaskView is one; the mteb bridge passes its own).
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np


# Roles a text plays; the instruction goes on queries of tasks that take it, never on passages.
QUERY = "query"
PASSAGE = "passage"
TEXT = "text"


class TaskView(Protocol):
    """The part of a task a model may read (a view may also have ``name`` and ``type``, which a prompt
    table's keys name: models/identity/prompts.py reads them with getattr)."""

    query_instruction: bool


@runtime_checkable
class Embedder(Protocol):
    def encode(self, texts: Sequence[str], *, role: str = TEXT, task: TaskView | None = None) -> np.ndarray:
        """One float32 row per text, in input order."""
        ...

    def describe(self, task: TaskView | None = None) -> dict[str, Any]:
        """What the result file records about how this model encoded ``task``."""
        ...


@runtime_checkable
class PairScorer(Protocol):
    """A cross-encoder: one relevance score per (query, passage) pair."""

    def score_pairs(self, pairs: Sequence[tuple[str, str]], *, task: TaskView | None = None) -> np.ndarray:
        ...

    def describe(self, task: TaskView | None = None) -> dict[str, Any]:
        ...
