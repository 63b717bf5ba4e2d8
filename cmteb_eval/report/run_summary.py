"""The Markdown table of main scores (x100) that ``run`` prints at the end.

Plain Python on purpose: a run served from the embedding cache should not pay for
importing pandas. ``tables.py`` renders the full leaderboard tables.
"""

from __future__ import annotations

import math
from typing import Mapping

from .averages import average


def run_table(scores: Mapping[str, Mapping[str, float | None]], tasks: list[str], index_name: str = "Model") -> str:
    """Rows: models; columns: tasks, then Avg (``averages.average``: with the count when a task is
    missing, ``45.06 (2/3)``); '-' marks a missing score."""
    lines = ["| " + " | ".join([index_name, *tasks, "Avg"]) + " |", "|" + "---|" * (len(tasks) + 2)]
    for model, model_scores in scores.items():
        values = [model_scores.get(task) for task in tasks]
        values = [None if v is None or not math.isfinite(v) else 100 * float(v) for v in values]
        cells = ["-" if v is None else f"{v:.2f}" for v in values]
        cells.append(average(dict(zip(tasks, values)), tasks).text())
        lines.append("| " + " | ".join([str(model), *cells]) + " |")
    return "\n".join(lines)
