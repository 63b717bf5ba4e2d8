"""Reranking: order each query's candidates; MAP (main) and MRR@10 under a named protocol.

Models: a bi-encoder (cosine of the query, with its instruction, and each
candidate, in float32), a cross-encoder (its score of each (query, candidate)
pair), or both: the bi-encoder ranks, the cross-encoder reranks its top k
(``--rerank-top-k``) and both stages' scores are reported (``stage1_*``).

Protocols (``--protocol``, else the card's ``[scoring] protocol``, else v1):
- ``v1``: mteb 1.x's RerankingEvaluator, which made the published C-MTEB
  numbers: per-query average precision over the candidate list (sklearn, tied
  scores one threshold) and MRR@10, averaged over queries that have at least one
  positive and one negative candidate. Reports ``map``, ``mrr`` (= ``mrr_at_10``).
- ``v2``: mteb 2.x: the candidates are a retrieval run scored by trec_eval
  (``map_at_1000`` main, ``mrr_at_10``, nDCG/recall/precision at every k, ties by
  doc id descending). ``map`` and ``mrr`` are reported too, equal to
  ``map_at_1000`` and ``mrr_at_10``, so the card's main metric reads either protocol.
"""

from __future__ import annotations

import numpy as np

from ..data.ranking import RerankingData, load_reranking
from ..errors import NotYetSupportedError, UserError
from ..models.pair import ModelPair
from ..models.protocol import PASSAGE, QUERY
from ..tasks.card import TaskSpec
from ..tasks.items import make_items
from ..tasks.types import TYPES
from . import metrics
from .base import RunOptions, SplitResult
from .multivector import ranking as m3
from .rerank_stage import combine, score_with_reranker
from .search import normalize_rows

PROTOCOLS = TYPES["Reranking"].variants  # v1, v2 and what each computes
ITEM_METRICS_V2 = ("map_at_1000", "mrr_at_10", "ndcg_at_10")


def rank_order(protocol: str, ids: list[str], scores: np.ndarray) -> np.ndarray:
    """Candidate indices best first, as the protocol ranks them (v1: ties keep list order)."""
    if protocol == "v1":
        return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    return metrics.trec_order(ids, scores)


def bi_encoder_scores(embedder, spec: TaskSpec, data: RerankingData) -> list[np.ndarray]:
    """Cosine (float32) of each query with each of its candidates; each distinct text encoded once.
    A bge-m3 embedder run by another method scores every candidate by that method."""
    if m3.method_of(embedder) != "dense":
        return m3.candidate_scores(embedder, spec, [q.query for q in data.queries],
                                   [q.candidate_texts for q in data.queries])
    texts_of = [q.query if isinstance(q.query, list) else [q.query] for q in data.queries]
    queries = normalize_rows(embedder.encode([t for texts in texts_of for t in texts], role=QUERY, task=spec))
    texts = [t for q in data.queries for t in q.candidate_texts]
    passages = normalize_rows(embedder.encode(texts, role=PASSAGE, task=spec))
    out, start, first = [], 0, 0
    for q, query_texts in zip(data.queries, texts_of):
        block = passages[start:start + len(q.candidate_texts)]
        # a multi-text query: each candidate's best cosine over the query's texts (mteb 1.x: torch.amax)
        if len(query_texts) == 1:
            out.append(block @ queries[first])
        else:
            out.append((queries[first:first + len(query_texts)] @ block.T).max(axis=0))
        start += len(q.candidate_texts)
        first += len(query_texts)
    return out


def protocol_scores(protocol: str, data: RerankingData, scores: list[np.ndarray]) -> tuple[dict[str, float], dict]:
    """Mean scores (``metrics.reranking_v1`` / ``reranking_v2``) and per-query values of one stage."""
    if protocol == "v1":
        means, kept, aps, mrrs = metrics.reranking_v1([q.relevance for q in data.queries], scores, mrr_at_k=10)
        if not kept:
            raise UserError("No query has both a positive and a negative candidate.",
                            "Protocol v1 scores only such queries; check the data or use --protocol v2.")
        return means, {"query_id": [data.queries[i].query_id for i in kept], "ap": aps, "mrr_at_10": mrrs}
    run = {}
    for q, s in zip(data.queries, scores):
        run[q.query_id] = {cid: float(v) for cid, v in zip(q.candidate_ids, np.asarray(s, dtype=np.float32))}
    qrels = {q.query_id: q.judged for q in data.queries}
    means, per_query = metrics.reranking_v2(qrels, run)
    items = {"query_id": list(per_query)}
    for name in ITEM_METRICS_V2:
        items[name] = [per_query[qid][name] for qid in per_query]
    return means, items


def texts(spec: TaskSpec, split: str, data_dirs) -> dict[str, list[str]]:
    """Every text a split encodes, by role: its queries (a query may be several texts) and the candidates."""
    data = load_reranking(spec, split, data_dirs)
    queries = [t for q in data.queries for t in ([q.query] if isinstance(q.query, str) else q.query)]
    return {QUERY: queries, PASSAGE: [t for q in data.queries for t in q.candidate_texts]}


def evaluate(spec: TaskSpec, split: str, data_dirs, models: ModelPair, options: RunOptions | None = None
             ) -> SplitResult:
    options = options or RunOptions()
    protocol = options.reranking_protocol(spec)
    data = load_reranking(spec, split, data_dirs)
    queries = [q.query for q in data.queries]
    candidates = [q.candidate_texts for q in data.queries]
    stage1 = None
    if models.embedder is not None:
        stage1 = bi_encoder_scores(models.embedder, spec, data)
        final = stage1
    if models.reranker is not None:
        if any(isinstance(q, list) for q in queries):
            raise NotYetSupportedError(f"Task {spec.name}: its queries are lists of texts, which a cross-encoder "
                                       f"cannot score yet.", "Evaluate this task with an embedder (--model) alone.")
        if stage1 is None:  # cross-encoder alone: it scores every candidate
            top = [np.arange(len(c)) for c in candidates]
        else:
            top = [rank_order(protocol, q.candidate_ids, s)[:options.rerank_top_k]
                   for q, s in zip(data.queries, stage1)]
        reranked = score_with_reranker(models.reranker, spec, queries, candidates, top)
        if stage1 is None:
            final = [r.astype(np.float64) for r in reranked]
        else:
            final = [combine(s, t, r) for s, t, r in zip(stage1, top, reranked)]
    scores, items = protocol_scores(protocol, data, final)
    if stage1 is not None and models.reranker is not None:
        first, first_items = protocol_scores(protocol, data, stage1)
        scores.update({f"stage1_{k}": v for k, v in first.items()})
        items.update({f"stage1_{k}": v for k, v in first_items.items() if k != "query_id"})
    method = m3.method_of(models.embedder)
    predictions = {q.query_id: {c: float(v) for c, v in zip(q.candidate_ids, s)} for q, s in zip(data.queries, final)}
    return SplitResult(scores=scores, source=data.source, protocol=PROTOCOLS[protocol] + (
                           f"; every candidate scored by bge-m3 {method}" if method != "dense" else ""),
                       items=make_items("Reranking", **items, num_skipped_rows=data.skipped), predictions=predictions)
