"""Real data: qbqtc_dev grouped by query, as a reranking and a retrieval task; our scores equal
mteb's own evaluation of the same data and model (all-MiniLM-L6-v2) to 1e-4.

v1: mteb 1.x's RerankingEvaluator (re-implemented in ranking_reference.py, as mteb 1.x
cannot be installed beside mteb 2); v2 and retrieval: the installed mteb 2.
benchmarks/qbqtc_parity.py runs the same comparison on the whole file.
"""

import pytest

from cmteb_eval.models.pipeline import EvaluatedModel
from cmteb_eval.registry import Registry
from cmteb_eval.runner import evaluate_task

RERANK_QUERIES = 40  # queries with a positive and a negative title (221 in the file); includes exact ties
RETRIEVAL_ROWS, RETRIEVAL_QUERIES = 400, 80


@pytest.fixture(scope="module")
def qbqtc(shared, tmp_path_factory):
    from ranking_reference import read_qbqtc, reranking_rows, retrieval_tables, write_qbqtc_tasks

    path = shared / "data" / "extra" / "qbqtc_dev.jsonl"
    rerank = reranking_rows(read_qbqtc(path), only_complete=True)
    rerank = {k: v[:RERANK_QUERIES] for k, v in rerank.items()}
    corpus, queries, qrels = retrieval_tables(read_qbqtc(path, RETRIEVAL_ROWS), RETRIEVAL_QUERIES)
    cards = write_qbqtc_tasks(tmp_path_factory.mktemp("qbqtc"), rerank, corpus, queries, qrels)
    return Registry.load(list(cards)), rerank, (corpus, queries, qrels)


@pytest.fixture(scope="module")
def sentence_transformer(minilm_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_dir), device="cpu")


def test_reranking_v1_equals_mteb_1x(qbqtc, minilm, sentence_transformer):
    from ranking_reference import mteb1_reranking

    registry, rerank, _ = qbqtc
    ours = evaluate_task(registry.task("QbqtcReranking"), EvaluatedModel(embedder=minilm, protocol="v1"), [])["dev"]
    reference = mteb1_reranking(rerank, sentence_transformer)
    assert ours.scores["map"] == pytest.approx(reference["map"], abs=1e-4)
    assert ours.scores["mrr"] == pytest.approx(reference["mrr"], abs=1e-4)
    assert ours.protocol.startswith("v1")
    assert len(ours.items["ap"]) == RERANK_QUERIES  # per-query scores kept for significance tests


def test_reranking_v2_equals_mteb_2(qbqtc, minilm, sentence_transformer):
    from ranking_reference import mteb2_reranking

    registry, rerank, _ = qbqtc
    ours = evaluate_task(registry.task("QbqtcReranking"), EvaluatedModel(embedder=minilm, protocol="v2"), [])["dev"]
    reference = mteb2_reranking(rerank, sentence_transformer)
    for metric in ("map_at_1000", "mrr_at_10", "ndcg_at_10", "map_at_10"):
        assert ours.scores[metric] == pytest.approx(reference[metric], abs=1e-4), metric
    assert ours.scores["map"] == ours.scores["map_at_1000"]


def test_retrieval_equals_mteb_2(qbqtc, minilm, sentence_transformer):
    from ranking_reference import mteb2_retrieval

    registry, _, tables = qbqtc
    ours = evaluate_task(registry.task("QbqtcRetrieval"), EvaluatedModel(embedder=minilm), [])["dev"]
    reference = mteb2_retrieval(*tables, sentence_transformer)
    for k in (1, 3, 10, 100, 1000):
        for metric in ("ndcg", "map", "mrr", "recall", "precision"):
            name = f"{metric}_at_{k}"
            assert ours.scores[name] == pytest.approx(reference[name], abs=1e-4), name
    assert len(ours.items["ndcg_at_10"]) == RETRIEVAL_QUERIES
