"""Exact chunked top-k search equals a full sort in trec_eval order, ties included."""

import numpy as np
import pytest

from cmteb_eval.evaluators import metrics
from cmteb_eval.evaluators.search import exact_search, memory_bound_bytes


def brute_force(queries, corpus, ids, k):
    scores = queries @ corpus.T
    out = []
    for row in scores:
        order = metrics.trec_order(ids, row)[:k]
        out.append((order, row[order]))
    return out


@pytest.mark.parametrize("chunk_size,query_block,k", [(7, 3, 5), (50, 2, 10), (1000, 64, 40), (13, 5, 300)])
def test_chunked_search_equals_full_sort_with_ties(chunk_size, query_block, k):
    rng = np.random.default_rng(chunk_size)
    n, dim = 257, 8
    # integer-valued vectors: many exactly tied scores, also across chunk boundaries
    corpus = rng.integers(-2, 3, size=(n, dim)).astype(np.float32)
    queries = rng.integers(-2, 3, size=(11, dim)).astype(np.float32)
    ids = [f"doc{rng.integers(0, 10 ** 6)}-{i}" for i in range(n)]
    found = exact_search(queries, lambda a, b: corpus[a:b], n, ids, top_k=k, chunk_size=chunk_size,
                         query_block=query_block)
    for (ref_idx, ref_scores), idx, scores in zip(brute_force(queries, corpus, ids, k), found.indices, found.scores):
        assert list(idx) == list(ref_idx)
        np.testing.assert_array_equal(scores, ref_scores)


def test_top_k_larger_than_corpus_returns_everything():
    corpus = np.eye(4, dtype=np.float32)
    found = exact_search(corpus[:1], lambda a, b: corpus[a:b], 4, ["a", "b", "c", "d"], top_k=1000, chunk_size=3)
    assert list(found.indices[0]) == [0, 3, 2, 1]  # the hit, then the zero-score ties by id descending


def test_memory_bound_is_independent_of_corpus_size():
    assert memory_bound_bytes(1000, 384, 1000, chunk_size=50_000) < 1000 * 200_000 * 4 / 3
