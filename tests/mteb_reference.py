"""Running mteb itself, offline, on data we hand it: the reference our numbers must equal."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def mteb_task_with_data(task_name: str, splits: dict[str, dict[str, list[Any]]], eval_split: str,
                        subset: str = "default"):
    """An mteb task evaluating ``eval_split`` whose data is ``splits`` (split -> column table), no hub."""
    import mteb
    from datasets import Dataset, DatasetDict

    task = mteb.get_task(task_name, eval_splits=[eval_split])
    task.dataset = {subset: DatasetDict({name: Dataset.from_dict(columns) for name, columns in splits.items()})}
    task.data_loaded = True
    return task


def mteb_split_scores(task_name: str, splits: dict[str, dict[str, list[Any]]], eval_split: str, model_dir: Path,
                      subset: str = "default") -> dict[str, Any]:
    """mteb's own scores (its SentenceTransformer wrapper on ``model_dir``) for ``eval_split``.
    ``splits`` may hold more than the evaluated split (a classification task's train split)."""
    import mteb
    from sentence_transformers import SentenceTransformer

    task = mteb_task_with_data(task_name, splits, eval_split, subset)
    model = SentenceTransformer(str(model_dir), device="cpu")
    result = mteb.evaluate(model, task, cache=None, show_progress_bar=False)
    return result.task_results[0].scores[eval_split][0]


def mteb_scores(task_name: str, split: str, columns: dict[str, list[Any]], model_dir: Path,
                subset: str = "default") -> dict[str, Any]:
    """mteb's scores for ``task_name`` on one split's ``columns`` (in the task's column names)."""
    return mteb_split_scores(task_name, {split: columns}, split, model_dir, subset)
