"""Memory of exact top-k retrieval over a synthetic corpus: measured peak vs the stated bound.

    python benchmarks/search_memory.py [--passages 200000] [--queries 1000] [--dim 384] [--top-k 1000]
                                       [--chunk-size 50000] [--check-queries 20]

The corpus embeddings are generated chunk by chunk (seeded, L2-normalised), as
the retrieval evaluator encodes the corpus chunk by chunk, so no
queries x passages matrix and no whole-corpus embedding matrix ever exists.
Peak memory is measured with tracemalloc (numpy reports its array
allocations to it) around the search alone, and compared with
``cmteb_eval.evaluators.search.memory_bound_bytes``; the process's peak RSS is printed too.
The first ``--check-queries`` results are compared with a float64 brute-force
sort (they can differ only where float32 rounding reorders near-equal scores;
tests/test_search.py checks bit-exact equality, ties included, on tied data).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cmteb_eval.evaluators import metrics  # noqa: E402
from cmteb_eval.evaluators.search import exact_search, memory_bound_bytes, normalize_rows  # noqa: E402


def synthetic_chunk(start: int, stop: int, dim: int, chunk_size: int) -> np.ndarray:
    """Rows start..stop-1 of a reproducible synthetic corpus (generated per fixed-size block)."""
    blocks = []
    for block_start in range(start - start % chunk_size, stop, chunk_size):
        rng = np.random.default_rng(block_start)
        block = rng.standard_normal((chunk_size, dim), dtype=np.float32)
        lo, hi = max(start, block_start) - block_start, min(stop, block_start + chunk_size) - block_start
        blocks.append(block[lo:hi])
    return normalize_rows(np.concatenate(blocks))


def measure(passages: int, queries: int, dim: int, top_k: int, chunk_size: int, check_queries: int = 0) -> dict:
    doc_ids = [f"doc{i}" for i in range(passages)]
    query_vectors = normalize_rows(np.random.default_rng(10 ** 9).standard_normal((queries, dim), dtype=np.float32))
    tracemalloc.start()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    started = time.perf_counter()
    found = exact_search(query_vectors, lambda a, b: synthetic_chunk(a, b, dim, chunk_size), passages, doc_ids,
                         top_k=top_k, chunk_size=chunk_size)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    bound = memory_bound_bytes(queries, dim, top_k, chunk_size, corpus_size=passages,
                               max_id_chars=max(len(d) for d in doc_ids))
    # the embedding function materialises one generator block beside the chunk: count it as the "encoder"
    encoder = 2 * chunk_size * dim * 4
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # before the brute-force check
    same_ids, max_score_diff = [], 0.0
    if check_queries:
        # brute force in float64: the same top k, up to float32 rounding of near-equal scores
        corpus = synthetic_chunk(0, passages, dim, chunk_size).astype(np.float64)
        for q in range(check_queries):
            scores = corpus @ query_vectors[q].astype(np.float64)
            order = metrics.trec_order(doc_ids, scores)[:top_k]
            same_ids.append(float(np.mean(np.asarray(order) == found.indices[q])))
            max_score_diff = max(max_score_diff, float(np.abs(scores[order] - found.scores[q]).max()))
        del corpus
    return {"passages": passages, "queries": queries, "dim": dim, "top_k": top_k, "chunk_size": chunk_size,
            "peak_traced_bytes": peak - before, "bound_bytes": bound, "encoder_bytes": encoder,
            "full_score_matrix_bytes": queries * passages * 4, "full_corpus_embeddings_bytes": passages * dim * 4,
            "max_rss_bytes": max_rss, "seconds": seconds,
            "checked_queries": check_queries, "same_rank_fraction": float(np.mean(same_ids)) if same_ids else None,
            "max_score_diff_vs_float64": max_score_diff}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--top-k", type=int, default=1000)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--check-queries", type=int, default=20)
    args = parser.parse_args()
    r = measure(args.passages, args.queries, args.dim, args.top_k, args.chunk_size, args.check_queries)
    mb = 1 / 2 ** 20
    print(f"{r['passages']} passages x {r['queries']} queries, dim {r['dim']}, top {r['top_k']}, "
          f"chunks of {r['chunk_size']}: {r['seconds']:.1f}s")
    print(f"peak traced memory      {r['peak_traced_bytes'] * mb:8.1f} MiB")
    print(f"stated bound            {r['bound_bytes'] * mb:8.1f} MiB (+ {r['encoder_bytes'] * mb:.1f} MiB for the "
          f"synthetic encoder's buffers)")
    print(f"full score matrix       {r['full_score_matrix_bytes'] * mb:8.1f} MiB (what we never allocate)")
    print(f"whole-corpus embeddings {r['full_corpus_embeddings_bytes'] * mb:8.1f} MiB (never held at once)")
    print(f"process peak RSS        {r['max_rss_bytes'] * mb:8.1f} MiB")
    if r["checked_queries"]:
        print(f"vs float64 brute force on {r['checked_queries']} queries: same doc at "
              f"{100 * r['same_rank_fraction']:.2f}% of ranks, max score difference {r['max_score_diff_vs_float64']:.1e}")
    ok = r["peak_traced_bytes"] <= r["bound_bytes"] + r["encoder_bytes"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
