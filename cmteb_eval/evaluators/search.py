"""Exact top-k search by inner product, over the corpus in chunks, with bounded memory.

The corpus is embedded and scored one chunk at a time; each query keeps a
running top-k, so what is held besides the texts is at most

    chunk_size x dim          corpus embeddings of one chunk (float32)
  + query_block x chunk_size  one block of scores (float32) and its candidate indices
  + n_queries x 2k            the running top-k and the chunk's candidates (score + index)
  + n_queries x dim           the query embeddings

(see :func:`memory_bound_bytes`), never n_queries x corpus_size. The search is
exact: the result equals sorting every score, with ties at the cut-off resolved
as trec_eval ranks them (higher doc id first), so the kept set is the first k of
the trec_eval order. Scores are float32 inner products; with L2-normalised
embeddings they are cosine similarities. A GPU does the matmul when one is
given; the selection stays exact either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..models import progress

DEFAULT_TOP_K = 1000
DEFAULT_CHUNK_SIZE = 50_000
DEFAULT_QUERY_BLOCK = 128


@dataclass
class SearchResult:
    """Per query: corpus indices (into the corpus order) and scores, best first (trec_eval order)."""

    indices: list[np.ndarray]
    scores: list[np.ndarray]


def memory_bound_bytes(n_queries: int, dim: int, top_k: int, chunk_size: int = DEFAULT_CHUNK_SIZE,
                       query_block: int = DEFAULT_QUERY_BLOCK, corpus_size: int = 0, max_id_chars: int = 0) -> int:
    """The most bytes :func:`exact_search` holds in arrays at once (texts and the model excluded).

    Counted: the query embeddings; one chunk of corpus embeddings (float32); for
    one query block, its score matrix (float32), a negated copy, argpartition's
    int64 index matrix and a boolean tie mask; the merge buffers of one block
    (2k per query, twice); the top-k of every query (float32 score + int64
    index), up to three copies at the end (running, joined, ordered); and the
    doc-id tie-break table (an id array, its argsort and the rank of each
    entry: ``corpus_size x (16 + 4 x max_id_chars)``), the only term that grows
    with the corpus, by a few bytes per passage.
    """
    block = min(query_block, n_queries)
    queries = n_queries * dim * 4
    chunk_embeddings = min(chunk_size, corpus_size or chunk_size) * dim * 4
    block_scores = block * chunk_size * (4 + 4 + 8 + 1)
    merge = block * 2 * top_k * (4 + 8) * 2
    results = 3 * n_queries * top_k * (4 + 8)
    tie_table = corpus_size * (16 + 4 * max_id_chars)
    return queries + chunk_embeddings + block_scores + merge + results + tie_table


def _select_top(scores: np.ndarray, index: np.ndarray, tie_key: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the set of the k best (score desc, then tie_key desc) entries, in no particular order.

    ``tie_key`` gives each corpus index its position in ascending doc-id order,
    so a larger key is a larger id, which trec_eval ranks first among ties.
    """
    if scores.shape[1] <= k:
        return scores, index
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    top_s = np.take_along_axis(scores, part, axis=1)
    top_i = np.take_along_axis(index, part, axis=1)
    kth = top_s.min(axis=1, keepdims=True)
    # argpartition picks arbitrarily among scores tied at the k-th value; where
    # such ties straddle the cut-off, redo that row by (score, doc id)
    straddle = np.nonzero((scores >= kth).sum(axis=1) > k)[0]
    for r in straddle:
        cols = np.nonzero(scores[r] >= kth[r, 0])[0]
        order = np.lexsort((tie_key[index[r, cols]], scores[r, cols]))[::-1][:k]
        top_s[r] = scores[r, cols[order]]
        top_i[r] = index[r, cols[order]]
    return top_s, top_i


def _order(scores: np.ndarray, index: np.ndarray, tie_key: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each row sorted best first: score descending, then doc id descending (trec_eval)."""
    out_s, out_i = [], []
    for s, i in zip(scores, index):
        order = np.lexsort((tie_key[i], s))[::-1]
        out_s.append(s[order])
        out_i.append(i[order])
    return out_s, out_i


def exact_search(query_embeddings: np.ndarray, corpus_chunks: Callable[[int, int], np.ndarray], corpus_size: int,
                 doc_ids: Sequence[str], top_k: int = DEFAULT_TOP_K, chunk_size: int = DEFAULT_CHUNK_SIZE,
                 query_block: int = DEFAULT_QUERY_BLOCK, device: str = "cpu") -> SearchResult:
    """Top ``top_k`` corpus entries per query by inner product.

    ``corpus_chunks(start, stop)`` returns the float32 embeddings of corpus rows
    start..stop-1 (it may encode them on the fly, so the whole corpus is never
    embedded at once). ``doc_ids`` (one per corpus row) settle ties as trec_eval does.
    """
    queries = np.ascontiguousarray(query_embeddings, dtype=np.float32)
    n_queries = len(queries)
    k = max(1, min(top_k, corpus_size))
    tie_key = np.empty(corpus_size, dtype=np.int64)
    tie_key[np.argsort(np.asarray([str(d) for d in doc_ids]), kind="stable")] = np.arange(corpus_size)
    blocks = [(q0, min(q0 + query_block, n_queries)) for q0 in range(0, n_queries, query_block)]
    best: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros((q1 - q0, 0), np.float32), np.zeros((q1 - q0, 0), np.int64))
                                                 for q0, q1 in blocks]
    queries_on_device = queries
    if device != "cpu":
        import torch

        queries_on_device = torch.from_numpy(queries).to(device)
    bar = progress.Progress("search", corpus_size, "docs")
    for start in range(0, corpus_size, chunk_size):
        stop = min(start + chunk_size, corpus_size)
        chunk = np.ascontiguousarray(corpus_chunks(start, stop), dtype=np.float32)
        if len(chunk) != stop - start:
            raise ValueError(f"corpus_chunks({start}, {stop}) returned {len(chunk)} rows")
        with progress.timed("scoring_seconds"):  # the search itself, not the corpus's encoding
            _search_chunk(queries_on_device, chunk, start, stop, blocks, best, tie_key, k, device)
        bar.update(stop - start)
        del chunk
    bar.close()
    best_s = np.concatenate([s for s, _ in best]) if best else np.zeros((0, 0), np.float32)
    best_i = np.concatenate([i for _, i in best]) if best else np.zeros((0, 0), np.int64)
    scores, indices = _order(best_s, best_i, tie_key)
    return SearchResult(indices=indices, scores=scores)


def _search_chunk(queries, chunk, start, stop, blocks, best, tie_key, k, device) -> None:
    """Merge one corpus chunk's scores into every query block's running top ``k`` (``best``)."""
    use_torch = device != "cpu"
    if use_torch:
        import torch

        chunk_t = torch.from_numpy(chunk).to(device)
    for b, (q0, q1) in enumerate(blocks):
        if use_torch:
            block = (queries[q0:q1] @ chunk_t.T).float().cpu().numpy()
        else:
            block = queries[q0:q1] @ chunk.T
        index = np.broadcast_to(np.arange(start, stop, dtype=np.int64), block.shape)
        s, i = _select_top(block, index, tie_key, k)
        del block, index
        s = np.concatenate([best[b][0], s], axis=1)
        i = np.concatenate([best[b][1], i], axis=1)
        best[b] = _select_top(s, i, tie_key, k)


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise rows in float32 (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def scored_search(prepare_chunk: Callable[[int, int], Callable[[int, int], np.ndarray]], n_queries: int,
                  corpus_size: int, doc_ids: Sequence[str], top_k: int = DEFAULT_TOP_K,
                  chunk_size: int = DEFAULT_CHUNK_SIZE, query_block: int = DEFAULT_QUERY_BLOCK) -> SearchResult:
    """:func:`exact_search` for scores that are not one inner product (bge-m3's sparse, ColBERT, hybrid):
    ``prepare_chunk(start, stop)`` readies corpus rows start..stop-1 and returns ``block(q0, q1)``, the
    float32 scores [q1 - q0, stop - start] of those queries. Same exact top k, same trec_eval tie order."""
    k = max(1, min(top_k, corpus_size))
    tie_key = np.empty(corpus_size, dtype=np.int64)
    tie_key[np.argsort(np.asarray([str(d) for d in doc_ids]), kind="stable")] = np.arange(corpus_size)
    blocks = [(q0, min(q0 + query_block, n_queries)) for q0 in range(0, n_queries, query_block)]
    best = [(np.zeros((q1 - q0, 0), np.float32), np.zeros((q1 - q0, 0), np.int64)) for q0, q1 in blocks]
    bar = progress.Progress("search", corpus_size, "docs")
    for start in range(0, corpus_size, chunk_size):
        stop = min(start + chunk_size, corpus_size)
        block_of = prepare_chunk(start, stop)
        with progress.timed("scoring_seconds"):
            for b, (q0, q1) in enumerate(blocks):
                scores = np.ascontiguousarray(block_of(q0, q1), dtype=np.float32)
                if scores.shape != (q1 - q0, stop - start):
                    raise ValueError(f"scores of queries {q0}..{q1} on rows {start}..{stop} have shape {scores.shape}")
                index = np.broadcast_to(np.arange(start, stop, dtype=np.int64), scores.shape)
                s, i = _select_top(scores, index, tie_key, k)
                best[b] = _select_top(np.concatenate([best[b][0], s], axis=1),
                                      np.concatenate([best[b][1], i], axis=1), tie_key, k)
        bar.update(stop - start)
    bar.close()
    best_s = np.concatenate([s for s, _ in best]) if best else np.zeros((0, 0), np.float32)
    best_i = np.concatenate([i for _, i in best]) if best else np.zeros((0, 0), np.int64)
    scores, indices = _order(best_s, best_i, tie_key)
    return SearchResult(indices=indices, scores=scores)
