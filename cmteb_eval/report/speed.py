"""The timing table (``cmteb-eval table --table speed``): per model, the summed encode time, scoring
time (cross-encoder and search) and evaluation time of its results, and how many vectors came from
the embedding cache (a run served from the cache says little about the model's speed)."""

from __future__ import annotations

import math
from typing import Sequence

import pandas as pd

from .scores import ModelScores
from .tables import Leaderboard
from .timings import comparable_timings

COLUMNS = ["Tasks", "Encode s", "Scoring s", "Total s", "Vectors from cache", "Tasks from cache", "Untimed"]


def speed_table(models: Sequence[ModelScores], tasks: Sequence[str] | None = None,
                any_machine: bool = False) -> Leaderboard:
    rows = {}
    kept, left_out, what = comparable_timings(models, any_machine)
    for model in kept:
        if model.origin != "run":
            continue
        entries = [e for t, e in model.tasks.items() if tasks is None or t in tasks]
        timed = [e.timing for e in entries if e.timing]
        total = [e.evaluation_time for e in entries if e.evaluation_time is not None]
        rows[model.label] = {
            "Tasks": len(entries),
            "Encode s": sum(t.get("encode_seconds", 0.0) for t in timed) if timed else math.nan,
            "Scoring s": sum(t.get("scoring_seconds", 0.0) for t in timed) if timed else math.nan,
            "Total s": sum(total) if total else math.nan,
            "Vectors from cache": sum(int(t.get("cache_hits", 0)) for t in timed),
            "Tasks from cache": sum(1 for t in timed if t.get("cached")),
            "Untimed": len(entries) - len(timed)}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=COLUMNS, dtype="float64")
    frame.index.name = "Model"
    note = (f"Compared: {what}. Encode s and Scoring s come from the results' harness block; Untimed counts "
            "results written before they were recorded (only their Total s is known). Vectors from the cache were "
            "not encoded in that run.")
    if left_out:
        note += " Left out: " + "; ".join(f"{label} ({why})" for label, why in left_out.items()) + "."
    return Leaderboard("speed", "Timing (seconds, summed over the tasks)", frame, [],
                       ["Tasks", "Vectors from cache", "Tasks from cache", "Untimed"], None, note)
