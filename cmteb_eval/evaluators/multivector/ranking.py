"""Retrieval and Reranking by a bge-m3 method other than dense (the embedder's ``retrieval_method``).

Retrieval: sparse is exact over the whole corpus (``search.scored_search`` over chunks of the
corpus, each a sparse matrix product; no approximate index). ColBERT and hybrid are exact over the
whole corpus when the corpus's token vectors fit the model's ``token_vectors_budget_mb``; otherwise
the dense top ``--rerank-top-k`` of each query is rescored by the method and only those k are kept,
and the result's protocol says so (never silently). Reranking: every candidate is scored by the method.
"""

from __future__ import annotations

import numpy as np

from ...models.protocol import PASSAGE, QUERY
from ...models import progress
from ..search import DEFAULT_CHUNK_SIZE, exact_search, normalize_rows, scored_search
from .scores import TokenVectors, colbert_scores, combine, sparse_matrix, sparse_scores

COLBERT_CHUNK = 2048  # passages per chunk when token vectors are scored (their similarity blocks stay small)
DEFAULT_WEIGHTS = (1.0, 1.0, 1.0)


def method_of(embedder) -> str:
    return getattr(embedder, "retrieval_method", None) or "dense"


class Side:
    """What the method needs of a list of texts: normalised dense rows, a CSR of lexical weights, ColBERT vectors."""

    def __init__(self, embedder, spec, method: str, texts: list[str], role: str) -> None:
        self.dense = normalize_rows(embedder.dense(texts, role=role, task=spec)) \
            if method == "hybrid" else None
        self.sparse = sparse_matrix(embedder.lexical_weights(texts, role=role, task=spec),
                                    int(embedder.config.vocab_size)) if method in ("sparse", "hybrid") else None
        self.colbert = embedder.colbert_vectors(texts, role=role, task=spec) if method in ("colbert", "hybrid") \
            else None


def pair_scores(method: str, weights, queries: Side, q0: int, q1: int, passages: Side,
                tokens: TokenVectors | None) -> np.ndarray:
    """[q1 - q0, passages] float32 scores of queries q0..q1-1 against every passage of ``passages``."""
    sparse = sparse_scores(queries.sparse[q0:q1], passages.sparse) if passages.sparse is not None else None
    colbert = colbert_scores(queries.colbert[q0:q1], tokens) if tokens is not None else None
    if method == "sparse":
        return sparse
    if method == "colbert":
        return colbert
    dense = (queries.dense[q0:q1] @ passages.dense.T).astype(np.float32)
    return combine(weights, dense=dense, sparse=sparse, colbert=colbert)


def token_vector_bytes(embedder, texts: list[str]) -> int:
    """What the ColBERT vectors of ``texts`` take in float32 (one vector per token after the first)."""
    ids = embedder.tokenizer(texts, truncation=True, max_length=embedder.settings.max_length, padding=False,
                             return_attention_mask=False)["input_ids"]
    return sum(max(len(i) - 1, 0) for i in ids) * embedder.colbert_dim * 4


def search(embedder, spec, data, top_k: int, rerank_top_k: int) -> tuple[list, str]:
    """Per query (doc ids, scores) best first, and what the protocol must say about how they were found."""
    method = method_of(embedder)
    weights = getattr(embedder, "hybrid_weights", None) or DEFAULT_WEIGHTS
    if method in ("colbert", "hybrid"):
        needed = token_vector_bytes(embedder, data.corpus_texts)
        budget = int(embedder.token_budget_mb) * 2 ** 20
        if needed > budget:
            note = (f"instead of the inner product, bge-m3 {method}: the dense top {rerank_top_k} rescored, not the "
                    f"whole corpus (its token vectors take {needed / 2 ** 20:.1f} MB, over the "
                    f"{embedder.token_budget_mb} MB budget)")
            progress.note(f"    {note}")
            return rescore_dense_top(embedder, spec, data, method, weights, rerank_top_k), note
    queries = Side(embedder, spec, method, data.query_texts, QUERY)
    chunk = COLBERT_CHUNK if method in ("colbert", "hybrid") else DEFAULT_CHUNK_SIZE

    def prepare(start: int, stop: int):
        passages = Side(embedder, spec, method, data.corpus_texts[start:stop], PASSAGE)
        tokens = TokenVectors(passages.colbert, embedder.colbert_dim) if passages.colbert is not None else None
        return lambda q0, q1: pair_scores(method, weights, queries, q0, q1, passages, tokens)

    found = scored_search(prepare, len(data.query_texts), len(data.corpus_ids), data.corpus_ids, top_k=top_k,
                          chunk_size=chunk)
    ranked = [([data.corpus_ids[i] for i in idx], s) for idx, s in zip(found.indices, found.scores)]
    return ranked, f"instead of the inner product, bge-m3 {method} over the whole corpus (exact)"


def rescore_dense_top(embedder, spec, data, method: str, weights, k: int) -> list:
    """The dense top ``k`` of each query, scored by ``method``; only those k are kept."""
    queries = normalize_rows(embedder.dense(data.query_texts, role=QUERY, task=spec))

    def corpus_chunk(start: int, stop: int) -> np.ndarray:
        return normalize_rows(embedder.dense(data.corpus_texts[start:stop], role=PASSAGE, task=spec))

    found = exact_search(queries, corpus_chunk, len(data.corpus_ids), data.corpus_ids, top_k=k)
    candidates = [[data.corpus_texts[i] for i in idx] for idx in found.indices]
    scores = candidate_scores(embedder, spec, data.query_texts, candidates)
    return [([data.corpus_ids[i] for i in idx], s) for idx, s in zip(found.indices, scores)]


def candidate_scores(embedder, spec, queries: list, candidates: list[list[str]]) -> list[np.ndarray]:
    """The method's score of each query's every candidate; a query given as several texts scores a candidate
    by its best over them (as the dense reranking does, mteb 1.x). Each distinct text is encoded once."""
    method = method_of(embedder)
    weights = getattr(embedder, "hybrid_weights", None) or DEFAULT_WEIGHTS
    texts_of = [q if isinstance(q, list) else [q] for q in queries]
    query_side = Side(embedder, spec, method, [t for texts in texts_of for t in texts], QUERY)
    flat = [t for c in candidates for t in c]
    passages = Side(embedder, spec, method, flat, PASSAGE)
    out, start, first = [], 0, 0
    for texts, cands in zip(texts_of, candidates):
        rows = slice(start, start + len(cands))
        part = _rows(passages, rows, embedder)
        tokens = TokenVectors(part.colbert, embedder.colbert_dim) if part.colbert is not None else None
        block = pair_scores(method, weights, query_side, first, first + len(texts), part, tokens)
        out.append(block.max(axis=0) if len(texts) > 1 else block[0])
        start += len(cands)
        first += len(texts)
    return out


def _rows(side: Side, rows: slice, embedder) -> Side:
    part = Side.__new__(Side)
    part.dense = side.dense[rows] if side.dense is not None else None
    part.sparse = side.sparse[rows] if side.sparse is not None else None
    part.colbert = side.colbert[rows] if side.colbert is not None else None
    return part
