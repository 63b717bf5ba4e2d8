"""The CSV of ``cmteb-eval table``: one tidy table, a row per model, task, split and metric, that
``pandas.read_csv`` reads as it is (averages are left to the reader: they are one ``groupby``
away). ``--output-dir`` writes each leaderboard table as a file of its own instead."""

from __future__ import annotations

import re
from typing import Sequence

import pandas as pd

from .scores import ModelScores

COLUMNS = ["model", "task", "task_type", "split", "metric", "score", "table_split", "origin", "source"]


def tidy_frame(models: Sequence[ModelScores], tasks: Sequence[str] | None = None) -> pd.DataFrame:
    """Every split's main score (x100) of every model and task (only ``tasks`` when given)."""
    rows = []
    for model in models:
        for task, entry in model.tasks.items():
            if tasks is not None and task not in tasks:
                continue
            for split, score in entry.splits.items():
                rows.append({"model": model.label, "task": task, "task_type": entry.task_type or "",
                             "split": split, "metric": entry.metric or "main_score", "score": round(score, 6),
                             "table_split": split == entry.split, "origin": "not cmteb-eval" if entry.foreign else entry.origin,
                             "source": entry.source})
    return pd.DataFrame(rows, columns=COLUMNS)


def tidy_csv(models: Sequence[ModelScores], tasks: Sequence[str] | None = None) -> str:
    return tidy_frame(models, tasks).to_csv(index=False, lineterminator="\n")


def file_name(key: str, extension: str) -> str:
    """A leaderboard table's file name in ``--output-dir``: ``cmteb.csv``, ``type-STS.csv``..."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", key).strip("-") + extension
