"""Running mteb itself, offline, on data we hand it: the reference our numbers must equal."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def mteb_scores(task_name: str, split: str, columns: dict[str, list[Any]], model_dir: Path,
                subset: str = "default") -> dict[str, Any]:
    """mteb's scores for ``task_name`` on ``columns`` (already in the task's column names)."""
    import mteb
    from sentence_transformers import SentenceTransformer

    task = mteb_task_with_data(task_name, split, columns, subset)
    model = SentenceTransformer(str(model_dir), device="cpu")
    result = mteb.evaluate(model, task, cache=None, show_progress_bar=False)
    return result.task_results[0].scores[split][0]


def mteb_task_with_data(task_name: str, split: str, columns: dict[str, list[Any]], subset: str = "default"):
    """An mteb task whose data is ``columns`` (no hub access)."""
    import mteb
    from datasets import Dataset, DatasetDict

    task = mteb.get_task(task_name, eval_splits=[split])
    task.dataset = {subset: DatasetDict({split: Dataset.from_dict(columns)})}
    task.data_loaded = True
    return task
