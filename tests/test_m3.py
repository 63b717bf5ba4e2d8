"""bge-m3's sparse, ColBERT and hybrid methods against FlagEmbedding 1.4.2's BGEM3FlagModel on the same
tiny random bge-m3 (tests/m3_model.py) and the same inputs: its ``encode(return_dense, return_sparse,
return_colbert_vecs)``, its ``compute_score`` (sparse, colbert, sparse+dense, colbert+sparse+dense), and
main scores on a reranking and a retrieval task from qbqtc_dev (../shared), the reference's scores run
through our metric code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from m3_model import write_tiny_m3

pytest.importorskip("FlagEmbedding")

RERANK_QUERIES, RETRIEVAL_ROWS, RETRIEVAL_QUERIES = 8, 90, 10
CARD_WEIGHTS = (0.4, 0.2, 0.4)  # the bge-m3 model card's example


@pytest.fixture(scope="module")
def qbqtc(shared, tmp_path_factory):
    from ranking_reference import read_qbqtc, reranking_rows, retrieval_tables, write_qbqtc_tasks

    path = shared / "data" / "extra" / "qbqtc_dev.jsonl"
    complete = reranking_rows(read_qbqtc(path), only_complete=True)
    rerank = {k: v[:RERANK_QUERIES] for k, v in complete.items()}
    corpus, queries, qrels = retrieval_tables(read_qbqtc(path, RETRIEVAL_ROWS), RETRIEVAL_QUERIES)
    folder = tmp_path_factory.mktemp("qbqtc-m3")
    cards = write_qbqtc_tasks(folder, rerank, corpus, queries, qrels)
    texts = [t for column in rerank.values() for row in column for t in (row if isinstance(row, list) else [row])]
    texts += corpus["text"] + queries["text"]
    return cards, texts


@pytest.fixture(scope="module")
def m3_folder(qbqtc, tmp_path_factory):
    # named like the hub model, so its known card applies (max_length 8192, fitted to the 512 positions here)
    return write_tiny_m3(tmp_path_factory.mktemp("m3") / "bge-m3", qbqtc[1])


@pytest.fixture(scope="module")
def reference(m3_folder):
    from FlagEmbedding import BGEM3FlagModel

    return BGEM3FlagModel(str(m3_folder), use_fp16=False, devices="cpu", query_max_length=512,
                          passage_max_length=512)


def ours(folder, method="hybrid", weights=None, **options):
    from cmteb_eval.run.setup import ModelRequest, load_embedder_for

    request = ModelRequest(model=str(folder), retrieval_method=method, hybrid_weights=weights, **options)
    return load_embedder_for(request, "cpu")[0]


def lexical_dict(rows) -> dict[int, float]:
    return {int(i): float(w) for i, w in rows}


def test_encode_equals_bgem3_encode(m3_folder, reference, qbqtc):
    texts = qbqtc[1][:40] + ["", "未知字符ⅩⅫ only"]
    model = ours(m3_folder)
    assert model.settings.max_length == 512
    expected = reference.encode(texts, return_dense=True, return_sparse=True, return_colbert_vecs=True)
    np.testing.assert_allclose(model.dense(texts, role="passage"), expected["dense_vecs"], atol=1e-5)
    lexical = model.lexical_weights(texts, role="passage")
    nonempty = 0
    for got, want in zip(lexical, expected["lexical_weights"]):
        got, want = lexical_dict(got), {int(k): float(v) for k, v in want.items()}
        assert sorted(got) == sorted(want)
        assert all(abs(got[k] - want[k]) <= 1e-5 for k in got), max((abs(got[k] - want[k]), want[k]) for k in got)
        nonempty += bool(got)
    assert nonempty > len(texts) // 2  # the heads are not all-zero: the comparison means something
    for got, want in zip(model.colbert_vectors(texts, role="passage"), expected["colbert_vecs"]):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_pair_scores_equal_compute_score(m3_folder, reference, qbqtc):
    from cmteb_eval.evaluators.multivector import ranking, scores

    texts = qbqtc[1]
    pairs = [(texts[i], texts[j]) for i, j in [(0, 1), (0, 2), (3, 4), (5, 40), (41, 42), (7, 7), (60, 61)]]
    passages = [[p] for _, p in pairs]
    for weights in (None, CARD_WEIGHTS):
        # batch_size=1: compute_score pads a batch of passages, and padding takes part in its ColBERT
        # maximum (evaluators/multivector/scores.py); alone, a pair is scored as encode + colbert_score do
        expected = reference.compute_score(pairs, batch_size=1, max_query_length=512, max_passage_length=512,
                                           weights_for_different_modes=list(weights) if weights else None)
        w = weights or (1.0, 1.0, 1.0)
        got = {}
        for method in ("sparse", "colbert", "dense", "hybrid"):
            model = ours(m3_folder, method, weights if method == "hybrid" else None)
            if method == "dense":  # dense runs the plain embedder: its cosine, as the dense reranking takes it
                got[method] = np.array([float(ranking.normalize_rows(model.encode([q]))[0]
                                              @ ranking.normalize_rows(model.encode([p]))[0]) for q, p in pairs])
            else:
                got[method] = np.concatenate(ranking.candidate_scores(model, None, [q for q, _ in pairs], passages))
        got["sparse+dense"] = scores.combine((w[0], w[1], 0.0), dense=got["dense"].astype(np.float32),
                                             sparse=got["sparse"], colbert=got["colbert"])
        got["colbert+sparse+dense"] = got.pop("hybrid")
        assert max(expected["sparse"]) > 0
        for name in ("sparse", "colbert", "dense", "sparse+dense", "colbert+sparse+dense"):
            np.testing.assert_allclose(got[name], expected[name], atol=1e-5, err_msg=name)


def reference_scores(reference, method, weights, queries: list[str], passages: list[str]) -> np.ndarray:
    """[queries, passages]: BGEM3FlagModel's encode outputs scored by its own functions."""
    q = reference.encode_queries(queries, return_dense=True, return_sparse=True, return_colbert_vecs=True)
    p = reference.encode_corpus(passages, return_dense=True, return_sparse=True, return_colbert_vecs=True)
    dense = q["dense_vecs"] @ p["dense_vecs"].T
    sparse = np.array(reference.compute_lexical_matching_score(q["lexical_weights"], p["lexical_weights"]))
    colbert = np.array([[float(reference.colbert_score(a, b)) for b in p["colbert_vecs"]] for a in q["colbert_vecs"]])
    w = weights or (1.0, 1.0, 1.0)
    return {"sparse": sparse, "colbert": colbert,
            "hybrid": (w[0] * dense + w[1] * sparse + w[2] * colbert) / sum(w)}[method]


@pytest.mark.parametrize("method,weights", [("sparse", None), ("colbert", None), ("hybrid", None),
                                            ("hybrid", CARD_WEIGHTS)])
def test_main_scores_equal_bgem3_through_our_metrics(method, weights, m3_folder, reference, qbqtc, shared):
    import cmteb_eval
    from cmteb_eval.data.ranking import load_reranking, load_retrieval
    from cmteb_eval.evaluators import metrics
    from cmteb_eval.tasks.registry import Registry

    cards = [str(c) for c in qbqtc[0]]
    result = cmteb_eval.evaluate(str(m3_folder), tasks=["QbqtcReranking", "QbqtcRetrieval"], task_files=cards,
                                 retrieval_method=method, hybrid_weights=weights, device="cpu")
    registry = Registry.load(cards)
    rerank_spec, retrieval_spec = registry.task("QbqtcReranking"), registry.task("QbqtcRetrieval")

    data = load_reranking(rerank_spec, "dev", [])
    per_query = [reference_scores(reference, method, weights, [q.query], q.candidate_texts)[0] for q in data.queries]
    expected, *_ = metrics.reranking_v1([q.relevance for q in data.queries], per_query, mrr_at_k=10)
    got = result.metrics()["QbqtcReranking"]["dev"]
    assert abs(got["map"] - expected["map"]) <= 1e-6 and abs(got["mrr"] - expected["mrr"]) <= 1e-6
    assert f"every candidate scored by bge-m3 {method}" in result.tasks[0].splits["dev"].protocol

    data = load_retrieval(retrieval_spec, "dev", [])
    matrix = reference_scores(reference, method, weights, data.query_texts, data.corpus_texts)
    run = {qid: {d: float(s) for d, s in zip(data.corpus_ids, row)} for qid, row in zip(data.query_ids, matrix)}
    expected, _ = metrics.retrieval_metrics(data.qrels, run)
    got = result.metrics()["QbqtcRetrieval"]["dev"]
    for name in ("ndcg_at_10", "map_at_10", "mrr_at_10", "recall_at_10"):
        assert abs(got[name] - expected[name]) <= 1e-6, name
    assert f"bge-m3 {method} over the whole corpus (exact)" in result.tasks[1].splits["dev"].protocol
    info = result.tasks[1].info
    assert info["retrieval_method"] == method
    if method == "hybrid":
        assert info["hybrid_weights"]["dense"] == (weights or (1.0,))[0]
    assert result.model_name.endswith("__" + method + ("_0.4_0.2_0.4" if weights else ""))


def test_a_model_without_the_heads_is_refused_by_name(tiny_bert, m3_folder):
    from cmteb_eval.errors import UserError

    with pytest.raises(UserError, match="sparse_linear.pt or colbert_linear.pt"):
        ours(tiny_bert, "sparse", pooling="cls")
    assert type(ours(tiny_bert, "dense", pooling="cls")).__name__ == "TransformerEmbedder"  # dense: the plain embedder
    with pytest.raises(UserError, match="hybrid-weights applies to --retrieval-method hybrid"):
        ours(m3_folder, "sparse", "0.4,0.2,0.4")
    with pytest.raises(UserError, match="budget-mb applies to --retrieval-method colbert or hybrid, not sparse"):
        ours(m3_folder, "sparse", token_vectors_budget_mb=10)
    with pytest.raises(UserError, match="three non-negative numbers"):
        ours(m3_folder, "hybrid", "0.4,0.2")
    from cmteb_eval.run.setup import ModelRequest, load_models

    with pytest.raises(UserError, match="but no embedder was given"):
        load_models(ModelRequest(reranker=str(m3_folder), retrieval_method="sparse"), "cpu", log=lambda line: None)


def cli(capsys, *args) -> tuple[int, str]:
    from cmteb_eval.cli.main import main

    code = main(["run", *args])
    return code, capsys.readouterr().out


def test_cli_hybrid_rescores_the_dense_top_k_over_budget_and_records_it(m3_folder, reference, qbqtc, tmp_path,
                                                                       capsys):
    cards = [a for c in qbqtc[0] for a in ("--task-file", str(c))]
    code, out = cli(capsys, "--model", str(m3_folder), "--tasks", "QbqtcRetrieval", *cards, "--output-dir",
                    str(tmp_path), "--retrieval-method", "hybrid", "--hybrid-weights", "0.4,0.2,0.4",
                    "--token-vectors-budget-mb", "0", "--rerank-top-k", "5", "--quiet")
    assert code == 0, out
    assert "bge-m3 retrieval method hybrid (weights dense 0.4, sparse 0.2, colbert 0.4)" in out
    assert "ColBERT storage (hybrid): 32 float32 per token" in out  # the plan states the cost before the run
    assert "over the budget: the dense top --rerank-top-k is rescored" in out
    path = tmp_path / "bge-m3__hybrid_0.4_0.2_0.4" / "no_revision_available" / "QbqtcRetrieval.json"
    result = json.loads(path.read_text())
    model = result["harness"]["model"]
    assert model["retrieval_method"] == "hybrid" and model["rerank_top_k"] == 5
    assert model["hybrid_weights"] == {"dense": 0.4, "sparse": 0.2, "colbert": 0.4}
    assert "the dense top 5 rescored" in result["harness"]["protocol"]
    assert result["harness"]["config"]["model"]["retrieval_method"] == "hybrid"  # in the resume key
    assert result["harness"]["config"]["model"]["hybrid_weights"]["colbert"] == 0.4
    # each query's 5 results: BGEM3FlagModel's dense top 5, ranked by its hybrid score (through our metrics)
    from cmteb_eval.data.ranking import load_retrieval
    from cmteb_eval.evaluators import metrics
    from cmteb_eval.tasks.registry import Registry

    data = load_retrieval(Registry.load([str(c) for c in qbqtc[0]]).task("QbqtcRetrieval"), "dev", [])
    dense = reference_scores(reference, "hybrid", (1.0, 0.0, 0.0), data.query_texts, data.corpus_texts)
    hybrid = reference_scores(reference, "hybrid", CARD_WEIGHTS, data.query_texts, data.corpus_texts)
    run = {qid: {data.corpus_ids[i]: float(h[i]) for i in np.argsort(-d, kind="stable")[:5]}
           for qid, d, h in zip(data.query_ids, dense, hybrid)}
    expected, _ = metrics.retrieval_metrics(data.qrels, run)
    assert abs(result["scores"]["dev"][0]["ndcg_at_10"] - expected["ndcg_at_10"]) <= 1e-6


def cmteb_eval_run(folder, qbqtc, method, weights=None, **options):
    import cmteb_eval

    result = cmteb_eval.evaluate(str(folder), tasks=["QbqtcRetrieval"], task_files=[str(c) for c in qbqtc[0]],
                                 retrieval_method=method, hybrid_weights=weights, **options)
    return result.metrics()["QbqtcRetrieval"]["dev"]


def test_retrieve_then_rerank_by_hybrid_from_the_cli_and_the_api(m3_folder, qbqtc, tmp_path, tiny_reranker,
                                                                   capsys):
    import cmteb_eval

    cards = [a for c in qbqtc[0] for a in ("--task-file", str(c))]
    code, out = cli(capsys, "--model", str(m3_folder), "--reranker", str(tiny_reranker), "--tasks",
                    "QbqtcRetrieval", *cards, "--output-dir", str(tmp_path), "--retrieval-method", "hybrid",
                    "--rerank-top-k", "5", "--quiet")
    assert code == 0, out
    folder = tmp_path / f"bge-m3__hybrid__rerank__{tiny_reranker.name}" / "no_revision_available"
    result = json.loads((folder / "QbqtcRetrieval.json").read_text())
    assert "bge-m3 hybrid over the whole corpus (exact)" in result["harness"]["protocol"]
    assert result["harness"]["model"]["retrieval_method"] == "hybrid"
    api = cmteb_eval.evaluate(str(m3_folder), tasks=["QbqtcRetrieval"], task_files=[str(c) for c in qbqtc[0]],
                              reranker=str(tiny_reranker), retrieval_method="hybrid", rerank_top_k=5)
    scores = result["scores"]["dev"][0]
    assert api.metrics()["QbqtcRetrieval"]["dev"]["ndcg_at_10"] == pytest.approx(scores["ndcg_at_10"], abs=1e-12)
    # the first stage is the hybrid's exact search
    hybrid = cmteb_eval_run(m3_folder, qbqtc, "hybrid")
    assert scores["stage1_ndcg_at_10"] == pytest.approx(hybrid["ndcg_at_10"], abs=1e-12)


def test_other_task_types_are_refused_and_the_cache_keeps_m3_outputs(m3_folder, qbqtc, tmp_path):
    import cmteb_eval
    from cmteb_eval.errors import UserError

    cards = [str(c) for c in qbqtc[0]]
    cache = tmp_path / "cache"
    first = cmteb_eval.evaluate(str(m3_folder), tasks=["QbqtcReranking"], task_files=cards, cache_dir=str(cache),
                                retrieval_method="hybrid")
    ragged = sorted(p.parent.name for p in cache.rglob("*.ragged.npz"))
    assert len(set(ragged)) == 4  # lexical weights and token vectors, of queries and of passages: own keys
    outputs = {json.loads((cache / "embeddings" / n / "meta.json").read_text())["output"] for n in ragged}
    assert outputs == {"m3_lexical_weights", "m3_colbert_vecs"}
    again = cmteb_eval.evaluate(str(m3_folder), tasks=["QbqtcReranking"], task_files=cards, cache_dir=str(cache),
                                retrieval_method="hybrid")
    assert again.main_scores() == first.main_scores()
    damaged = next(cache.rglob("*.ragged.npz"))
    damaged.write_bytes(damaged.read_bytes()[:100])  # a truncated shard: reported, deleted, recomputed
    with pytest.warns(UserWarning, match="is damaged"):
        third = cmteb_eval.evaluate(str(m3_folder), tasks=["QbqtcReranking"], task_files=cards, cache_dir=str(cache),
                                    retrieval_method="hybrid")
    assert third.main_scores() == first.main_scores() and damaged.stat().st_size > 100  # written again, whole
    with pytest.raises(UserError, match="scores Retrieval and Reranking tasks only"):
        cmteb_eval.evaluate(str(m3_folder), tasks=["DemoSTSZh"], retrieval_method="sparse")


def test_the_fp32_retry_keeps_the_method_and_heads(m3_folder, qbqtc):
    from cmteb_eval.models.encoders.precision import fp32_twin

    model = ours(m3_folder, "sparse")
    twin = fp32_twin(model)
    assert type(twin) is type(model) and twin.retrieval_method == "sparse" and twin.base is not model.base
    texts = qbqtc[1][:5]
    for a, b in zip(model.lexical_weights(texts, role="passage"), twin.lexical_weights(texts, role="passage")):
        np.testing.assert_allclose(a, b, atol=1e-6)
