"""Result files others wrote, in the shape our readers use: mteb 2 files as they are, the legacy
mteb 1.x format converted, NaN metrics dropped with a note.

Legacy files (mteb < 1.11: ``mteb_dataset_name``, the splits at the top level, nested
``cos_sim.spearman``) are converted by mteb's own rules (``TaskResult._convert_from_before_v1_11_0``):
a split's nested dict whose key is not a metric group is a subset (STS22's ``test.zh``), else the
split is the ``default`` subset; the groups are flattened with mteb's prefixes (``cos_sim.ap`` ->
``cosine_ap``, ``max.accuracy`` -> ``max_accuracy``); a recorded dataset revision of null or "None"
means none. ``main_score`` is left out unless the file has one: the reader takes the card's main
metric (``read.main_value``), which is what a 1.x file's score was.

A NaN anywhere in a foreign file (85 of the public MiniLM folder's 761 files hold one) drops that
metric, and a subset whose main score is NaN; ``harness_notes`` says what was dropped.
"""

from __future__ import annotations

import math
from typing import Any

_GROUPS = {"cos_sim": "cosine", "euclidean": "euclidean", "manhattan": "manhattan", "dot": "dot", "max": "max",
           "similarity": "similarity"}
_NOT_SUBSETS = set(_GROUPS) | {"v_measures"}
_SPLIT_KEYS_DROPPED = {"evaluation_time"}


def is_legacy(payload: dict[str, Any]) -> bool:
    return "mteb_dataset_name" in payload and "scores" not in payload


def _flatten(scores: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in scores.items():
        if isinstance(value, dict) and key in _GROUPS:
            for sub, v in value.items():
                out[f"{_GROUPS[key]}_{sub}"] = v
        elif key not in _SPLIT_KEYS_DROPPED:
            out[key] = value
    return out


def convert_legacy(payload: dict[str, Any]) -> dict[str, Any]:
    """A legacy mteb 1.x result as an mteb 2 shaped payload (``scores: {split: [entry]}``)."""
    revision = payload.get("dataset_revision")
    scores: dict[str, list[dict[str, Any]]] = {}
    time = 0.0
    for split, value in payload.items():
        if split in ("mteb_dataset_name", "dataset_revision", "mteb_version") or not isinstance(value, dict):
            continue
        if isinstance(value.get("evaluation_time"), (int, float)):
            time += value["evaluation_time"]
        subsets = {k: v for k, v in value.items() if isinstance(v, dict) and k not in _NOT_SUBSETS}
        if not subsets:
            subsets = {"default": value}
        scores[split] = [dict(_flatten(v), hf_subset=k) for k, v in subsets.items()]
    return {"dataset_revision": None if revision in (None, "None", "") else revision,
            "task_name": payload["mteb_dataset_name"], "mteb_version": payload.get("mteb_version"),
            "scores": scores, "evaluation_time": time or None, "legacy_format": True}


def _finite_number(value: Any) -> bool:
    return not (isinstance(value, float) and not math.isfinite(value))


def drop_nan(payload: dict[str, Any]) -> list[str]:
    """Remove NaN metrics (and subsets whose main score is NaN) in place; say what went."""
    notes = []
    for split, entries in (payload.get("scores") or {}).items():
        if not isinstance(entries, list):
            continue
        kept = []
        for entry in entries:
            if not isinstance(entry, dict):
                kept.append(entry)
                continue
            bad = sorted(k for k, v in entry.items() if not _finite_number(v))
            if "main_score" in bad:
                notes.append(f"{split}/{entry.get('hf_subset', 'default')}: main_score is NaN (subset dropped)")
                continue
            for key in bad:
                del entry[key]
            if bad:
                notes.append(f"{split}/{entry.get('hf_subset', 'default')}: NaN {', '.join(bad[:4])}"
                             f"{' ...' if len(bad) > 4 else ''} dropped")
            kept.append(entry)
        payload["scores"][split] = kept
    payload["scores"] = {s: e for s, e in payload["scores"].items() if e}
    return notes
