"""What every evaluator returns for one split."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import TaskCardError
from ..tasks.card import TaskSpec


@dataclass
class SplitResult:
    """Scores of one split: ``scores`` holds fractions keyed by metric name and
    ``main_score``; ``items`` holds per-item values (per pair, per query) that
    significance tests resample; ``protocol`` names how the scores were computed."""

    scores: dict[str, float]
    source: str
    protocol: str
    items: dict[str, Any] = field(default_factory=dict)
    hf_subset: str = "default"


def integer_settings(spec: TaskSpec, defaults: dict[str, int]) -> dict[str, int]:
    """A task's integer settings: the card's ``[scoring]`` over the evaluator's defaults.

    Unknown keys and values that are not integers >= 1 (>= 0 for ``seed``) are card errors.
    """
    unknown = set(spec.scoring) - set(defaults)
    if unknown:
        raise TaskCardError(
            f"Task card {spec.card_path}: field 'scoring.{sorted(unknown)[0]}' is not a {spec.type} "
            f"setting (known: {', '.join(defaults)}).", "Fix the card's [scoring] table.")
    out = dict(defaults)
    for key, value in spec.scoring.items():
        minimum = 0 if key == "seed" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise TaskCardError(
                f"Task card {spec.card_path}: field 'scoring.{key}' must be an integer >= {minimum}, got {value!r}.",
                "Fix the card's [scoring] table.")
        out[key] = value
    return out
