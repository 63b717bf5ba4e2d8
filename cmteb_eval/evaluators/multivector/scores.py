"""bge-m3's relevance scores, as FlagEmbedding 1.4.2's ``M3Embedder`` computes them
(``inference/embedder/encoder_only/m3.py``):

- sparse (``compute_lexical_matching_score``): the sum over token ids both texts have of the
  product of their lexical weights: here one sparse matrix product, exact;
- ColBERT (``colbert_score``): for each query vector the largest inner product with the passage's
  vectors, summed and divided by the number of query vectors;
- dense: the inner product of the normalised dense embeddings;
- hybrid (``compute_score``'s ``colbert+sparse+dense``): ``(wd*dense + ws*sparse + wc*colbert) / (wd+ws+wc)``.

``compute_score`` pads a batch of passages, and a padded position's zero vector then takes part in
the ColBERT maximum (a query vector whose similarities with a shorter passage are all negative scores
0 there instead of its best match): its numbers depend on the batch. ``encode`` plus ``colbert_score``
(the model card's recipe) does not, and is what is computed here; ``compute_score`` with
``batch_size=1`` gives the same numbers (tests/test_m3.py).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

DENSE, SPARSE, COLBERT = 0, 1, 2


def sparse_matrix(weights: Sequence[np.ndarray], vocab_size: int):
    """Rows of (token id, weight) pairs ([n, 2] float32 per text) as a CSR matrix [texts, vocab] (float32)."""
    from scipy.sparse import csr_matrix

    lengths = np.array([len(w) for w in weights], dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    rows = np.concatenate([np.asarray(w, dtype=np.float32).reshape(-1, 2) for w in weights]) if len(weights) \
        else np.zeros((0, 2), np.float32)
    return csr_matrix((rows[:, 1], rows[:, 0].astype(np.int64), indptr), shape=(len(weights), vocab_size),
                      dtype=np.float32)


def sparse_scores(queries, passages) -> np.ndarray:
    """[queries, passages] float32: the lexical matching score of every pair (CSR inputs)."""
    return np.asarray((queries @ passages.T).toarray(), dtype=np.float32)


class TokenVectors:
    """The ColBERT vectors of several passages, stacked, with where each passage's rows start."""

    def __init__(self, vectors: Sequence[np.ndarray], dim: int) -> None:
        lengths = np.array([len(v) for v in vectors], dtype=np.int64)
        self.count = len(vectors)
        self.stacked = np.concatenate([np.asarray(v, np.float32).reshape(-1, dim) for v in vectors]) \
            if len(vectors) else np.zeros((0, dim), np.float32)
        self.starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        self.empty = lengths == 0

    def scores(self, query: np.ndarray) -> np.ndarray:
        """[passages] float32: the ColBERT score of one query's vectors against each passage."""
        if not len(query) or not self.count:
            return np.zeros(self.count, dtype=np.float32)
        similarity = np.asarray(query, np.float32) @ self.stacked.T  # [query tokens, passage tokens]
        starts = np.minimum(self.starts, max(similarity.shape[1] - 1, 0))
        best = np.maximum.reduceat(similarity, starts, axis=1) if similarity.shape[1] else \
            np.zeros((len(query), self.count), np.float32)
        out = (best.sum(axis=0) / np.float32(len(query))).astype(np.float32)
        out[self.empty] = 0.0
        return out


def colbert_scores(queries: Sequence[np.ndarray], passages: TokenVectors) -> np.ndarray:
    """[queries, passages] float32."""
    return np.stack([passages.scores(q) for q in queries]) if len(queries) else \
        np.zeros((0, passages.count), np.float32)


def combine(weights: Sequence[float], dense=None, sparse=None, colbert=None) -> np.ndarray:
    """The hybrid: the weighted mean of the three scores (``compute_score``'s ``colbert+sparse+dense``)."""
    total = dense * np.float32(weights[DENSE]) + sparse * np.float32(weights[SPARSE]) \
        + colbert * np.float32(weights[COLBERT])
    return (total / np.float32(sum(weights))).astype(np.float32)
