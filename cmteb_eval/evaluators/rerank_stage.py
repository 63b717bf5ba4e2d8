"""The second stage of retrieve-then-rerank: the cross-encoder re-scores a query's top k.

The final ranking puts the top k (by the first stage) in the cross-encoder's
order, and everything below them in the first stage's order. As scores:
the top k get their cross-encoder score; the others get
``min(cross-encoder scores) - 1 + (first-stage score - best first-stage score among them)``,
which is below every reranked score, keeps their order and their ties.
"""

from __future__ import annotations

import numpy as np


def combine(stage1: np.ndarray, top: np.ndarray, reranked: np.ndarray) -> np.ndarray:
    """Final scores of one query's candidates. ``top``: indices of the reranked ones;
    ``reranked``: their cross-encoder scores (same order as ``top``)."""
    stage1 = np.asarray(stage1, dtype=np.float64)
    final = np.empty(len(stage1), dtype=np.float64)
    reranked = np.asarray(reranked, dtype=np.float64)
    final[top] = reranked
    rest = np.ones(len(stage1), dtype=bool)
    rest[top] = False
    if rest.any():
        floor = (reranked.min() if len(reranked) else 0.0) - 1.0
        final[rest] = floor + (stage1[rest] - stage1[rest].max())
    return final


def score_with_reranker(reranker, task, queries: list[str], candidates: list[list[str]],
                        top: list[np.ndarray]) -> list[np.ndarray]:
    """Cross-encoder scores of each query's ``top`` candidates, all pairs in one call
    (so identical pairs are scored once and batches sort by length across queries)."""
    pairs = [(q, candidates[n][i]) for n, q in enumerate(queries) for i in top[n]]
    flat = np.asarray(reranker.score_pairs(pairs, task=task), dtype=np.float32) if pairs else np.zeros(0, np.float32)
    out, start = [], 0
    for idx in top:
        out.append(flat[start:start + len(idx)])
        start += len(idx)
    return out
