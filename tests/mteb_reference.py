"""Running mteb itself, offline, on data we hand it: the reference our numbers must equal."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def mteb_scores(task_name: str, split: str, columns: dict[str, list[Any]], model_dir: Path,
                subset: str = "default") -> dict[str, Any]:
    """mteb's scores for ``task_name`` on ``columns`` (already in the task's column names)."""
    import mteb
    from datasets import Dataset, DatasetDict
    from sentence_transformers import SentenceTransformer

    task = mteb.get_task(task_name)
    task.dataset = {subset: DatasetDict({split: Dataset.from_dict(columns)})}
    task.data_loaded = True
    model = SentenceTransformer(str(model_dir), device="cpu")
    result = mteb.evaluate(model, task, cache=None, show_progress_bar=False)
    return result.task_results[0].scores[split][0]


def mteb_split_scores(task_name: str, splits: dict[str, dict[str, list[Any]]], eval_split: str, model_dir: Path,
                      subset: str = "default") -> dict[str, Any]:
    """Like :func:`mteb_scores`, for tasks that read more than one split (a classification
    task's train split beside the evaluated one). ``splits``: split name -> column table."""
    import mteb
    from datasets import Dataset, DatasetDict
    from sentence_transformers import SentenceTransformer

    task = mteb.get_task(task_name, eval_splits=[eval_split])
    task.dataset = {subset: DatasetDict({name: Dataset.from_dict(columns) for name, columns in splits.items()})}
    task.data_loaded = True
    model = SentenceTransformer(str(model_dir), device="cpu")
    result = mteb.evaluate(model, task, cache=None, show_progress_bar=False)
    return result.task_results[0].scores[eval_split][0]
