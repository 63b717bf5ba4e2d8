"""Retrieval over a 200k-passage synthetic corpus stays within the stated memory bound (slow)."""

import pytest


@pytest.mark.slow
def test_200k_passage_search_stays_within_the_bound():
    from benchmarks.search_memory import measure

    r = measure(passages=200_000, queries=1000, dim=384, top_k=1000, chunk_size=50_000, check_queries=3)
    # the search's arrays plus the synthetic encoder's own buffers (one generated block and its normalised copy)
    assert r["peak_traced_bytes"] <= r["bound_bytes"] + r["encoder_bytes"]
    # far below what a queries x passages score matrix plus the whole corpus's embeddings would take
    assert r["peak_traced_bytes"] < 0.5 * (r["full_score_matrix_bytes"] + r["full_corpus_embeddings_bytes"])
    assert r["same_rank_fraction"] > 0.99 and r["max_score_diff_vs_float64"] < 1e-5
