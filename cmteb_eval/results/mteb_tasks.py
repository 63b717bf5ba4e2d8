"""Which of our tasks a result file's scores are, and which number is each split's main score.

Our files name their card (``harness.task``; older ones: ``task_name``) and their main metric
(``harness.main_metric``). A foreign file (mteb's, the results repository's) names mteb's task and
each score entry its ``hf_subset``: ``tasks/aliases.py`` maps that pair to our card
(``CMedQAv1-reranking`` -> CMedQAv1, ``STS22``/``zh`` -> STS22, a legacy ``CMedQAv1`` too). Its main
score is the card's main metric where the file holds it (a legacy file's ``cos_sim.ap``, an mteb 2
Ocnli file's ``cosine_ap``), else ``main_score`` labelled with the metric mteb reads it as
(``map_at_1000`` for an mteb 2 reranking file: another metric, so it is never compared with ours).
A task no card is the same as (mteb's ``.v2`` variants) keeps its own name (``Name (subset)`` for a
subset other than ``default``), never dropped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from ..tasks.aliases import card_for_mteb_task, cards_for_mteb_name, mteb_main_metric, mteb_subset


def main_value(entry: dict[str, Any], harness: dict[str, Any] | None) -> Any:
    """The value of a score entry's main metric as its writer defined it: ``harness.main_metric``'s
    key in our files (``main_score`` may hold mteb 2's metric instead), else ``main_score``."""
    metric = (harness or {}).get("main_metric") if isinstance(harness, dict) else None
    if metric and metric in entry:
        return entry[metric]
    return entry.get("main_score")


@dataclass
class FileScores:
    """One task's scores in one file: ``splits`` maps split -> main score (a fraction)."""

    task: str
    spec: Any  # our card, or None
    metric: str | None
    splits: dict[str, float] = field(default_factory=dict)
    subset: str | None = None
    protocol: str | None = None
    task_type: str | None = None  # an unmapped task's type: that of the card of its base name (X.v2 -> X)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # split -> every finite metric (fractions)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _metrics(entry: dict[str, Any]) -> dict[str, float]:
    return {str(k): float(v) for k, v in entry.items() if _number(v)}


def _major(version: Any) -> int | None:
    found = re.match(r"(\d+)\.", str(version or ""))
    return int(found.group(1)) if found else None


def ours(payload: dict[str, Any], specs: dict[str, Any]) -> FileScores:
    """Our file: the card it names, its recorded main metric, the first entry of every split."""
    harness = payload.get("harness") if isinstance(payload.get("harness"), dict) else {}
    task = str(harness.get("task") or payload["task_name"])
    out = FileScores(task, specs.get(task), harness.get("main_metric"), protocol=harness.get("protocol"))
    for split, entries in (payload.get("scores") or {}).items():
        if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict) \
                or not _number(main_value(entries[0], harness)):
            raise ValueError(f"split {split!r} has no numeric main score")
        out.splits[str(split)] = float(main_value(entries[0], harness))
        out.metrics[str(split)] = _metrics(entries[0])
        out.subset = entries[0].get("hf_subset", out.subset)
    return out


def _protocol(spec, payload: dict[str, Any]) -> str | None:
    """The protocol a foreign reranking file's numbers follow, from the mteb version that made them
    (mteb 1.x: our v1, mteb 2.x: v2); other types have one protocol, not recorded in foreign files."""
    from ..tasks.types import TYPES

    variants = TYPES[spec.type].variants if spec is not None and spec.type in TYPES else {}
    major = _major(payload.get("mteb_version"))
    if not variants or major is None:
        return None
    return variants.get("v1" if major < 2 else "v2")


def foreign(payload: dict[str, Any], specs: dict[str, Any]) -> list[FileScores]:
    """A foreign file's tasks: one per card its (task, subset) entries map to, else one under its own name."""
    name = str(payload["task_name"])
    found: dict[str, FileScores] = {}
    for split, entries in (payload.get("scores") or {}).items():
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            subset = str(entry.get("hf_subset") or "default")
            spec = card_for_mteb_task(specs.values(), name, subset)
            if spec is None and name in specs and mteb_subset(specs[name]) == subset:
                spec = specs[name]  # an older name mteb has since changed (legacy CMedQAv1)
            if spec is not None:
                metric = spec.main_metric if _number(entry.get(spec.main_metric)) else (
                    mteb_main_metric(spec) if (_major(payload.get("mteb_version")) or 0) >= 2 else "main_score")
                value = entry.get(spec.main_metric) if metric == spec.main_metric else entry.get("main_score")
                key = spec.name
            else:
                metric, value = None, entry.get("main_score")
                base = re.sub(r"\.v\d+$", "", name)
                like = specs.get(base) or next(iter(cards_for_mteb_name(specs.values(), base)), None)
                key = name if subset == "default" else f"{name} ({subset})"  # never one of our cards' names
            if not _number(value):
                continue
            scores = found.setdefault(key, FileScores(key, spec, metric, subset=subset, protocol=_protocol(spec, payload),
                                                      task_type=spec.type if spec is not None else
                                                      (like.type if like is not None else None)))
            if scores.metric != metric:
                continue  # splits under two metrics are not one score
            if str(split) not in scores.splits:
                scores.splits[str(split)] = float(value)
                scores.metrics[str(split)] = _metrics(entry)
    if any(f.spec is not None for f in found.values()):  # other languages of a task we have cards for
        return [f for f in found.values() if f.spec is not None]
    return list(found.values())
