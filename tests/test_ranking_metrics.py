"""Retrieval and reranking metrics: hand-computed cases (ties included) and pytrec_eval on random runs."""

import math

import numpy as np
import pytest
import pytrec_eval

from cmteb_eval.evaluators import metrics

KS = metrics.RETRIEVAL_K_VALUES


def test_trec_order_breaks_ties_by_doc_id_descending():
    order = metrics.trec_order(["b", "a", "c", "aa"], [1.0, 1.0, 2.0, 1.0])
    assert [["b", "a", "c", "aa"][i] for i in order] == ["c", "b", "aa", "a"]


def test_retrieval_metrics_by_hand_with_ties():
    # q1: d3 (0.9) first; d1 and d2 tie at 0.5, so d2 (larger id) ranks before d1.
    qrels = {"q1": {"d1": 2, "d2": 0, "d4": 1}}
    run = {"q1": {"d1": 0.5, "d2": 0.5, "d3": 0.9}}
    means, per_query = metrics.retrieval_metrics(qrels, run, k_values=(1, 3, 10))
    q = per_query["q1"]
    # ranking d3 d2 d1: the only relevant retrieved doc (d1, gain 2) is at rank 3
    assert q["precision_at_1"] == 0 and q["precision_at_3"] == pytest.approx(1 / 3)
    assert q["precision_at_10"] == pytest.approx(1 / 10)  # P@k divides by k, not by the retrieved count
    assert q["recall_at_3"] == pytest.approx(1 / 2)  # num_rel = 2 (d1, d4), d4 never retrieved
    assert q["map_at_3"] == pytest.approx((1 / 3) / 2)
    assert q["mrr_at_1"] == 0 and q["mrr_at_3"] == pytest.approx(1 / 3)
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert q["ndcg_at_3"] == pytest.approx((2 / math.log2(4)) / ideal)
    assert q["ndcg_at_1"] == 0.0
    assert q["hit_rate_at_1"] == 0 and q["hit_rate_at_3"] == 1
    assert means == per_query["q1"]


def test_queries_scored_as_pytrec_eval_does():
    qrels = {"q1": {"a": 1}, "q2": {"a": 0}, "q3": {"x": 2}}
    run = {"q1": {"a": 1.0}, "q2": {"a": 1.0}, "q3": {}, "q4": {"a": 1.0}}
    means, per_query = metrics.retrieval_metrics(qrels, run, k_values=(1,))
    assert sorted(per_query) == ["q1", "q2", "q3"]  # q4 has no qrels; the empty run q3 scores 0
    assert means["ndcg_at_1"] == pytest.approx(1 / 3)


def _pytrec(qrels, run, ks):
    measures = {f"{m}.{','.join(map(str, ks))}" for m in ("ndcg_cut", "map_cut", "recall", "P", "success")}
    return pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)


def test_agrees_with_pytrec_eval_on_random_runs_with_ties():
    rng = np.random.default_rng(0)
    names = {"ndcg_cut": "ndcg_at", "map_cut": "map_at", "recall": "recall_at", "P": "precision_at",
             "success": "hit_rate_at"}
    for trial in range(60):
        n_docs = int(rng.integers(5, 200))
        docs = [f"d{rng.integers(0, 10 ** 6)}" for _ in range(n_docs)]
        qrels, run = {}, {}
        for q in range(int(rng.integers(1, 8))):
            qid = f"q{q}"
            judged = rng.choice(docs, size=int(rng.integers(1, min(30, n_docs))), replace=False)
            qrels[qid] = {str(d): int(rng.integers(0, 3)) for d in judged}
            retrieved = rng.choice(docs, size=int(rng.integers(0, n_docs)), replace=False)
            # coarse scores: many ties, so the doc-id tie rule decides ranks
            run[qid] = {str(d): float(rng.integers(0, 5)) / 4 for d in retrieved}
        ks = (1, 3, 5, 10, 20, 100)
        ours_mean, ours = metrics.retrieval_metrics(qrels, run, k_values=ks)
        reference = _pytrec(qrels, run, ks)
        assert set(ours) == set(reference)
        for qid, ref in reference.items():
            for measure, value in ref.items():
                base, k = measure.rsplit("_", 1)
                assert ours[qid][f"{names[base]}_{k}"] == pytest.approx(value, abs=1e-12), (trial, qid, measure)


def test_mrr_equals_mteb_on_random_runs():
    from mteb._evaluators.retrieval_metrics import mrr as mteb_mrr

    rng = np.random.default_rng(1)
    for _ in range(30):
        qrels, run = {}, {}
        for q in range(5):
            docs = [f"d{i}" for i in rng.choice(100, size=30, replace=False)]
            qrels[f"q{q}"] = {d: int(rng.integers(0, 2)) for d in docs[:10]}
            run[f"q{q}"] = {d: float(rng.integers(0, 4)) for d in docs}
        _, ours = metrics.retrieval_metrics(qrels, run, k_values=(1, 5, 10))
        ref = mteb_mrr(qrels, run, (1, 5, 10))
        for k in (1, 5, 10):
            assert [ours[q][f"mrr_at_{k}"] for q in run] == pytest.approx(ref[f"MRR@{k}"])


def test_reranking_v1_by_hand_with_ties():
    # positives first, as mteb 1.x lists them; a tie between a positive and a negative at the top
    ap, mrr = metrics.reranking_v1_query([True, False, False], [0.5, 0.5, 0.1])
    assert ap == pytest.approx(0.5)  # the tied pair is one threshold: precision 1/2 at recall 1
    assert mrr == 1.0  # stable argsort keeps the positive (listed first) ahead of the tied negative
    ap, mrr = metrics.reranking_v1_query([False, True, True], [0.9, 0.3, 0.8])
    assert ap == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert mrr == pytest.approx(1 / 2)
    _, mrr = metrics.reranking_v1_query([False] * 10 + [True], list(np.linspace(1, 0, 11)))
    assert mrr == 0.0  # the positive is 11th: outside MRR@10
