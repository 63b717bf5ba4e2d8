"""What the largest MTEB(eng, v1) corpus costs: MSMARCO's 8,841,823 passages (dev: 6,980 queries), measured on a
synthetic corpus of that size (random float32 vectors for made-up texts; no model, no real data).

Measured: the embedding cache's disk size for the corpus (written through the cache's own write path, 50,000
rows a shard), the cache's read side (peak resident memory and the index's size while every passage is looked
up in retrieval's 50,000-passage chunks) and the exact search fed from it (its arrays' bound, see
``evaluators/search.py``). Usage:

    python benchmarks/msmarco_scale.py --dim 384 --queries 64 --cache-dir /tmp/msmarco-cache

The search is timed with few queries (its cost is linear in them); the memory bound is printed for all 6,980.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path

import numpy as np

from cmteb_eval.evaluators.search import DEFAULT_CHUNK_SIZE, exact_search, memory_bound_bytes, normalize_rows
from cmteb_eval.models.cache.store import Namespace

MSMARCO_PASSAGES, MSMARCO_QUERIES = 8_841_823, 6_980


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=MSMARCO_PASSAGES)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=64)
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--keep", action="store_true", help="keep the synthetic cache afterwards")
    args = parser.parse_args()
    n, dim = args.passages, args.dim
    doc_ids = [str(i) for i in range(n)]
    texts = [f"synthetic passage {i}" for i in range(n)]
    identity = {"model": "synthetic", "dim": dim}
    folder = args.cache_dir / "ns"
    out: dict[str, float] = {"passages": n, "dim": dim, "rss_after_texts_mb": round(peak_rss_mb())}

    start = time.perf_counter()
    writer = Namespace(folder, identity)
    for s in range(0, n, DEFAULT_CHUNK_SIZE):  # as retrieval encodes: chunk by chunk
        rows = np.random.default_rng(s).standard_normal((min(n, s + DEFAULT_CHUNK_SIZE) - s, dim), dtype=np.float32)
        writer.store(texts[s:s + len(rows)], rows)
    del writer
    out["write_s"] = round(time.perf_counter() - start, 1)
    out["disk_bytes"] = sum(p.stat().st_size for p in folder.glob("*.npz"))
    out["disk_bytes_per_passage"] = round(out["disk_bytes"] / n, 1)
    out["rss_after_write_mb"] = round(peak_rss_mb())

    reader = Namespace(folder, identity)
    queries = normalize_rows(np.random.default_rng(1).standard_normal((args.queries, dim), dtype=np.float32))
    hits = 0

    def corpus_chunk(s: int, e: int) -> np.ndarray:
        nonlocal hits
        found, missing = reader.lookup(texts[s:e])
        assert not missing, f"{len(missing)} cache misses"
        hits += len(found)
        return normalize_rows(np.stack([found[i] for i in range(e - s)]))

    start = time.perf_counter()
    result = exact_search(queries, corpus_chunk, n, doc_ids, top_k=1000)
    out["read_and_search_s"] = round(time.perf_counter() - start, 1)
    assert hits == n and len(result.indices) == args.queries
    index = reader._index
    out["index_bytes"] = index._keys.nbytes + index._places.nbytes
    out["peak_rss_mb"] = round(peak_rss_mb())
    out["search_bound_bytes_6980_queries"] = memory_bound_bytes(MSMARCO_QUERIES, dim, 1000, corpus_size=n,
                                                                max_id_chars=max(map(len, doc_ids)))
    print(json.dumps(out, indent=1))
    if not args.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
