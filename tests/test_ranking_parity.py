"""Ranking parity with the reference implementations, in two parts that each fail only for a real defect.

(a) Metric parity on identical inputs: the same score lists, exact ties included, go to our metric
    code and to the reference's (mteb 1.x's RerankingEvaluator, re-implemented line for line in
    ranking_reference.py since mteb 1.x cannot be installed beside mteb 2); they must agree to 1e-12.
    Tie rule, protocol v1: tied candidates keep their input order (positives first), which is
    mteb 1.x's result whenever its unstable ``torch.argsort`` keeps ties in order; where it does not,
    mteb 1.x's own MRR is implementation-defined. AP is tie-invariant (sklearn groups ties).
    Retrieval and protocol v2 metrics are checked against pytrec_eval on random runs with ties in
    test_ranking_metrics.py.
(b) End-to-end parity with real embeddings (all-MiniLM-L6-v2 on qbqtc_dev grouped by query): our
    embeddings against sentence-transformers' in the reference, on queries where no two candidates
    of different relevance score within 1e-5 of each other under our embeddings
    (``ranking_reference.separated``). Float noise between CPUs and implementations is ~1e-7, so on
    those queries every ordering that matters is the same on both sides, and the scores must agree
    exactly: to 1e-9 against mteb 1.x, and to mteb 2's own rounding (5 decimals) against mteb 2.
    Queries with near-ties are excluded, never scored with a loose tolerance; the test states how
    many were kept.
benchmarks/qbqtc_parity.py runs the comparison on the whole file.
"""

import numpy as np
import pytest

from cmteb_eval.evaluators import reranking
from cmteb_eval.evaluators.base import RunOptions
from cmteb_eval.data.ranking import RerankingData, RerankingQuery
from cmteb_eval.tasks.registry import Registry
from cmteb_eval.run.runner import evaluate_task
from cmteb_eval.evaluators.search import normalize_rows

RERANK_QUERIES = 40  # the first 40 separated queries with a positive and a negative title (221 in the file)
RETRIEVAL_ROWS, RETRIEVAL_QUERIES = 400, 80
MTEB2_ROUNDING = 5e-6 + 1e-12  # mteb 2 rounds its trec_eval means to 5 decimals


def cosines(model, queries: list[str], candidates: list[list[str]]) -> list[np.ndarray]:
    """Cosine of each query with each of its candidates, from one encode call per side."""
    texts = list(dict.fromkeys(t for c in candidates for t in c))
    row = {t: i for i, t in enumerate(texts)}
    q = normalize_rows(model.encode(queries))
    d = normalize_rows(model.encode(texts))
    return [d[[row[t] for t in c]] @ q[n] for n, c in enumerate(candidates)]


@pytest.fixture(scope="module")
def qbqtc(shared, minilm, tmp_path_factory):
    from ranking_reference import read_qbqtc, reranking_rows, retrieval_tables, separated, write_qbqtc_tasks

    path = shared / "data" / "extra" / "qbqtc_dev.jsonl"
    complete = reranking_rows(read_qbqtc(path), only_complete=True)
    scores = cosines(minilm, complete["query"], [p + n for p, n in zip(complete["positive"], complete["negative"])])
    keep = [i for i, (s, p) in enumerate(zip(scores, complete["positive"]))
            if separated(s, [1] * len(p) + [0] * (len(s) - len(p)))][:RERANK_QUERIES]
    assert len(keep) == RERANK_QUERIES
    rerank = {k: [v[i] for i in keep] for k, v in complete.items()}

    corpus, queries, qrels = retrieval_tables(read_qbqtc(path, RETRIEVAL_ROWS), RETRIEVAL_QUERIES)
    gain = {}
    for qid, doc, score in zip(qrels["query-id"], qrels["corpus-id"], qrels["score"]):
        gain.setdefault(qid, {})[doc] = score
    matrix = normalize_rows(minilm.encode(queries["text"])) @ normalize_rows(minilm.encode(corpus["text"])).T
    kept = {qid for qid, s in zip(queries["id"], matrix) if separated(s, [gain[qid].get(d, 0) for d in corpus["id"]])}
    assert len(kept) >= 0.75 * RETRIEVAL_QUERIES, f"only {len(kept)} of {RETRIEVAL_QUERIES} queries are separated"
    queries = {k: [v for v, qid in zip(vs, queries["id"]) if qid in kept] for k, vs in queries.items()}
    qrels = {k: [v for v, qid in zip(vs, qrels["query-id"]) if qid in kept] for k, vs in qrels.items()}
    cards = write_qbqtc_tasks(tmp_path_factory.mktemp("qbqtc"), rerank, corpus, queries, qrels)
    return Registry.load(list(cards)), rerank, (corpus, queries, qrels)


@pytest.fixture(scope="module")
def sentence_transformer(minilm_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_dir), device="cpu")


# ---------------------------------------------------------------- (a) identical inputs


def _random_queries(seed: int, ties: bool) -> tuple[RerankingData, list[np.ndarray]]:
    """200 queries of 2-30 candidates; with ``ties`` the scores take few distinct values, so
    positives tie with negatives, at the top and elsewhere."""
    rng = np.random.default_rng(seed)
    queries, scores = [], []
    for n in range(200):
        size = int(rng.integers(2, 31))
        positives = int(rng.integers(1, size))
        relevance = [1] * positives + [0] * (size - positives)
        values = rng.integers(0, 4, size) / 4 if ties else rng.permutation(size) / size + rng.random(size) * 1e-3
        ids = [f"c{n}_{j}" for j in range(size)]
        queries.append(RerankingQuery(f"q{n}", "query", ids, ["text"] * size, relevance, dict(zip(ids, relevance))))
        scores.append(values.astype(np.float64))
    return RerankingData(queries, "cmteb", "random"), scores


@pytest.mark.parametrize("ties", [False, True], ids=["no ties", "with ties"])
def test_v1_metrics_equal_mteb_1x_on_identical_scores(ties):
    from ranking_reference import mteb1_query_metrics

    data, scores = _random_queries(7, ties)
    means, items = reranking.protocol_scores("v1", data, scores)
    reference = [mteb1_query_metrics([r > 0 for r in q.relevance], s, stable=ties) for q, s in zip(data.queries, scores)]
    assert items["mrr_at_10"] == pytest.approx([mrr for mrr, _ in reference], abs=1e-12)
    assert items["ap"] == pytest.approx([ap for _, ap in reference], abs=1e-12)
    assert means["map"] == pytest.approx(np.mean([ap for _, ap in reference]), abs=1e-12)
    assert means["mrr"] == pytest.approx(np.mean([mrr for mrr, _ in reference]), abs=1e-12)
    if ties:  # the data really hold positive/negative ties at the top, where the tie rule decides MRR
        assert any(len({q.relevance[i] for i in np.flatnonzero(s == s.max())}) == 2
                   for q, s in zip(data.queries, scores))


def test_separated_detects_only_pairs_of_different_gain():
    from ranking_reference import separated

    assert separated([0.5, 0.5 + 1e-7, 0.9], [0, 0, 1])  # the near-tie is between two negatives
    assert not separated([0.5, 0.5 + 1e-7, 0.9], [0, 1, 1])
    assert not separated([0.3, 0.3], [2, 1])
    assert separated([0.1, 0.2, 0.3], [1, 0, 2])


# ---------------------------------------------------------------- (b) real embeddings


def test_reranking_v1_equals_mteb_1x(qbqtc, minilm, sentence_transformer):
    from ranking_reference import mteb1_reranking

    registry, rerank, _ = qbqtc
    ours = evaluate_task(registry.task("QbqtcReranking"), minilm, [], RunOptions(protocol="v1"))["dev"]
    reference = mteb1_reranking(rerank, sentence_transformer)
    assert ours.scores["map"] == pytest.approx(reference["map"], abs=1e-9)
    assert ours.scores["mrr"] == pytest.approx(reference["mrr"], abs=1e-9)
    assert ours.protocol.startswith("v1")
    assert len(ours.items["ap"]) == RERANK_QUERIES  # per-query scores kept for significance tests


def test_reranking_v2_equals_mteb_2(qbqtc, minilm, sentence_transformer):
    from ranking_reference import mteb2_reranking

    registry, rerank, _ = qbqtc
    ours = evaluate_task(registry.task("QbqtcReranking"), minilm, [], RunOptions(protocol="v2"))["dev"]
    reference = mteb2_reranking(rerank, sentence_transformer)
    for metric in ("map_at_1000", "mrr_at_10", "ndcg_at_10", "map_at_10"):
        assert ours.scores[metric] == pytest.approx(reference[metric], abs=MTEB2_ROUNDING), metric
    assert ours.scores["map"] == ours.scores["map_at_1000"]


def test_retrieval_equals_mteb_2(qbqtc, minilm, sentence_transformer):
    from ranking_reference import mteb2_retrieval

    registry, _, tables = qbqtc
    ours = evaluate_task(registry.task("QbqtcRetrieval"), minilm, [])["dev"]
    reference = mteb2_retrieval(*tables, sentence_transformer)
    for k in (1, 3, 10, 100, 1000):
        for metric in ("ndcg", "map", "mrr", "recall", "precision"):
            name = f"{metric}_at_{k}"
            assert ours.scores[name] == pytest.approx(reference[name], abs=MTEB2_ROUNDING), name
    assert len(ours.items["ndcg_at_10"]) == len(tables[1]["id"])
