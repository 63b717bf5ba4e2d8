"""Retrieval: exact search of the corpus for each query; nDCG@10 (main), MAP, MRR, recall, precision.

The embedder encodes queries (with the model's instruction) and the corpus
(never with it) chunk by chunk; :mod:`cmteb_eval.search` keeps the exact top k
(default 1000) per query by inner product of L2-normalised float32 embeddings.
Metrics are trec_eval's at k = 1, 3, 5, 10, 20, 100, 1000 (see
:func:`cmteb_eval.metrics.retrieval_metrics`). With ``--reranker``, the
cross-encoder re-scores each query's top ``--rerank-top-k`` and the reranked list
(those k documents, as mteb 2 does) is scored too; the first stage's scores are
kept as ``stage1_*``. A card's ``[scoring] ignore_identical_ids = true`` drops a
document whose id equals the query id from the results, as mteb does for
T2, MMarco, Ecom, Medical and Video retrieval.
"""

from __future__ import annotations

import numpy as np

from ..data.ranking import load_retrieval
from ..models.pair import ModelPair
from ..models.protocol import PASSAGE, QUERY
from ..tasks.card import TaskSpec, scoring_settings
from ..tasks.items import make_items
from ..tasks.types import TYPES
from . import metrics
from .base import RunOptions, SplitResult
from .multivector import ranking as m3
from .rerank_stage import score_with_reranker
from .search import DEFAULT_CHUNK_SIZE, exact_search, normalize_rows

PROTOCOL = TYPES["Retrieval"].protocol  # with {top_k}
ITEM_METRICS = ("ndcg_at_10", "map_at_10", "mrr_at_10", "recall_at_10", "recall_at_100", "recall_at_1000")


def _search_device(embedder) -> str:
    device = str(getattr(embedder, "device", "cpu"))
    return device if device.startswith("cuda") else "cpu"


def first_stage(embedder, spec: TaskSpec, data, top_k: int, chunk_size: int = DEFAULT_CHUNK_SIZE):
    """Per query: (doc ids, scores) of the exact top k, best first (trec_eval order)."""
    queries = normalize_rows(embedder.encode(data.query_texts, role=QUERY, task=spec))

    def corpus_chunk(start: int, stop: int) -> np.ndarray:
        return normalize_rows(embedder.encode(data.corpus_texts[start:stop], role=PASSAGE, task=spec))

    found = exact_search(queries, corpus_chunk, len(data.corpus_ids), data.corpus_ids, top_k=top_k,
                         chunk_size=chunk_size, device=_search_device(embedder))
    return [([data.corpus_ids[i] for i in idx], s) for idx, s in zip(found.indices, found.scores)]


def to_run(query_ids, ranked, ignore_identical_ids: bool) -> dict[str, dict[str, float]]:
    run = {}
    for qid, (ids, scores) in zip(query_ids, ranked):
        docs = {d: float(s) for d, s in zip(ids, scores)}
        if ignore_identical_ids:
            docs.pop(qid, None)
        run[qid] = docs
    return run


def rerank_run(reranker, spec: TaskSpec, data, run: dict[str, dict[str, float]], k: int) -> dict[str, dict[str, float]]:
    """The cross-encoder's scores of each query's top ``k`` (trec_eval order) of ``run``; only those k are kept."""
    top_ids = []
    for qid in data.query_ids:
        docs = run[qid]
        ids = list(docs)
        order = metrics.trec_order(ids, [docs[d] for d in ids])[:k]
        top_ids.append([ids[i] for i in order])
    text_of = dict(zip(data.corpus_ids, data.corpus_texts))
    candidates = [[text_of[d] for d in ids] for ids in top_ids]
    reranked = score_with_reranker(reranker, spec, data.query_texts, candidates,
                                   [np.arange(len(ids)) for ids in top_ids])
    return {qid: {d: float(s) for d, s in zip(ids, r)} for qid, ids, r in zip(data.query_ids, top_ids, reranked)}


def runs(embedder, reranker, spec: TaskSpec, data, options: RunOptions,
         notes: list[str] | None = None) -> tuple[dict, dict | None]:
    """The first-stage run (embedder, top k) and, with a reranker, the reranked run. A bge-m3 embedder
    run by another method than dense searches by it, and adds to ``notes`` how it searched."""
    if m3.method_of(embedder) != "dense":
        ranked, note = m3.search(embedder, spec, data, options.top_k, options.rerank_top_k)
        if notes is not None:
            notes.append(note)
    else:
        ranked = first_stage(embedder, spec, data, options.top_k)
    run = to_run(data.query_ids, ranked, scoring_settings(spec)["ignore_identical_ids"])
    if reranker is None:
        return run, None
    return run, rerank_run(reranker, spec, data, run, options.rerank_top_k)


def _items(per_query, prefix: str = "") -> dict:
    return {f"{prefix}{m}": [per_query[q][m] for q in per_query] for m in ITEM_METRICS}


def texts(spec: TaskSpec, split: str, data_dirs) -> dict[str, list[str]]:
    """Every text a split encodes, by role: its queries and its corpus (the run's plan counts them)."""
    data = load_retrieval(spec, split, data_dirs)
    return {QUERY: list(data.query_texts), PASSAGE: list(data.corpus_texts)}


def evaluate(spec: TaskSpec, split: str, data_dirs, models: ModelPair, options: RunOptions | None = None
             ) -> SplitResult:
    options = options or RunOptions()
    embedder = models.require_embedder(spec)  # before any data is read
    data = load_retrieval(spec, split, data_dirs)
    notes: list[str] = []
    run, reranked = runs(embedder, models.reranker, spec, data, options, notes)
    scores, per_query = metrics.retrieval_metrics(data.qrels, run)
    protocol = "; ".join([PROTOCOL.format(top_k=options.top_k), *notes])
    if reranked is None:
        return SplitResult(scores=scores, source=data.source, protocol=protocol,
                           items=make_items("Retrieval", query_id=list(per_query), **_items(per_query)),
                           predictions=run)
    final, per_query2 = metrics.retrieval_metrics(data.qrels, reranked)
    final.update({f"stage1_{name}": value for name, value in scores.items()})
    items = make_items("Retrieval", query_id=list(per_query2), **_items(per_query2), **_items(per_query, "stage1_"))
    protocol += f"; top {options.rerank_top_k} reranked by the cross-encoder (stage1_*: before reranking)"
    return SplitResult(scores=final, source=data.source, protocol=protocol, items=items, predictions=reranked)
