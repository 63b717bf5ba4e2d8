"""What every evaluator returns for one split."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
