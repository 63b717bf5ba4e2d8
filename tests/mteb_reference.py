"""Running mteb itself, offline, on data we hand it: the reference our numbers must equal.

Parity is checked in two parts that each fail only for a real defect (float noise differs
between CPUs, so an end-to-end comparison of a threshold, k-means or classifier outcome on
real embeddings can move without any defect):
- identical inputs: a ``FrozenEmbedder`` (vectors computed once) goes to our evaluator and, via
  ``cmteb_eval.models.adapters.mteb_bridge``, to mteb's; the scores must agree to 1e-9;
- identical embeddings: our encoder against sentence-transformers on the same texts, to 1e-5
  (measured: 1.3e-7), see ``assert_same_embeddings_as_sentence_transformers``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

EMBEDDING_TOLERANCE = 1e-5


class FrozenEmbedder:
    """A real model's vectors, computed once: every encode returns exactly those rows, so two
    evaluators fed it see bit-identical embeddings. For models without instructions (MiniLM)."""

    def __init__(self, model, texts: Sequence[str]) -> None:
        texts = list(dict.fromkeys(texts))
        vectors = np.asarray(model.encode(texts), dtype=np.float32)
        self.rows = dict(zip(texts, vectors))
        self.dimension = int(vectors.shape[1])

    def encode(self, texts, *, role: str = "text", task=None, **_: Any) -> np.ndarray:
        return np.stack([self.rows[t] for t in texts]) if len(texts) else np.zeros((0, self.dimension), np.float32)

    def describe(self, task=None) -> dict[str, Any]:
        return {"kind": "embedder", "model": "frozen"}


def assert_same_embeddings_as_sentence_transformers(minilm, model_dir: Path, texts: Sequence[str],
                                                     every: int = 1) -> None:
    """Our embeddings equal sentence-transformers' to EMBEDDING_TOLERANCE, on every ``every``-th
    distinct text (a sample keeps whole-file parity tests fast; the encoder is the same for all)."""
    from sentence_transformers import SentenceTransformer

    texts = list(dict.fromkeys(texts))[::every]
    theirs = SentenceTransformer(str(model_dir), device="cpu").encode(texts, batch_size=32)
    assert np.abs(np.asarray(minilm.encode(texts)) - theirs).max() <= EMBEDDING_TOLERANCE


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
    from sentence_transformers import SentenceTransformer

    return mteb_scores_of(SentenceTransformer(str(model_dir), device="cpu"), task_name, splits, eval_split, subset)


def mteb_scores_of(model, task_name: str, splits: dict[str, dict[str, list[Any]]], eval_split: str,
                   subset: str = "default") -> dict[str, Any]:
    """mteb's scores for ``eval_split`` with ``model``: anything mteb evaluates, or one of our
    embedders (a FrozenEmbedder too), handed over through cmteb_eval.models.adapters.mteb_bridge."""
    import mteb

    if not hasattr(model, "mteb_model_meta") and not hasattr(model, "model_card_data"):
        from cmteb_eval.models.adapters.mteb_bridge import as_mteb_encoder

        model = as_mteb_encoder(model, name="cmteb-eval/frozen")
    task = mteb_task_with_data(task_name, splits, eval_split, subset)
    result = mteb.evaluate(model, task, cache=None, show_progress_bar=False)
    return result.task_results[0].scores[eval_split][0]


def mteb_scores(task_name: str, split: str, columns: dict[str, list[Any]], model_dir: Path,
                subset: str = "default") -> dict[str, Any]:
    """mteb's scores for ``task_name`` on one split's ``columns`` (in the task's column names)."""
    return mteb_split_scores(task_name, {split: columns}, split, model_dir, subset)
