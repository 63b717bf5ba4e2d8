"""A leaderboard-style Markdown table of main scores (x100), as in the BGE model card."""

from __future__ import annotations

from typing import Mapping

import pandas as pd


def score_frame(scores: Mapping[str, Mapping[str, float | None]], tasks: list[str]) -> pd.DataFrame:
    """Rows: models; columns: tasks, then Avg (only when no task is missing)."""
    frame = pd.DataFrame({task: {model: (None if s.get(task) is None else 100 * s[task])
                                 for model, s in scores.items()} for task in tasks}, dtype="float64")
    complete = frame.notna().all(axis=1)
    frame["Avg"] = frame.mean(axis=1).where(complete)
    return frame


def to_markdown(frame: pd.DataFrame, index_name: str = "Model") -> str:
    header = [index_name, *frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for model, row in frame.iterrows():
        cells = ["-" if pd.isna(v) else f"{v:.2f}" for v in row]
        lines.append("| " + " | ".join([str(model), *cells]) + " |")
    return "\n".join(lines)
