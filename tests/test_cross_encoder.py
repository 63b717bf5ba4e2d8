"""The cross-encoder adapter on a tiny random BertForSequenceClassification, model-kind refusals,
and retrieve-then-rerank."""

import json

import numpy as np
import pytest

from cmteb_eval.errors import WrongModelKindError
from cmteb_eval.models.rerankers.cross_encoder import load_reranker
from cmteb_eval.models.encoders.embedder import load_embedder
from cmteb_eval.evaluators.base import RunOptions
from cmteb_eval.models.pair import ModelPair

PAIRS = [
    ("what is panda?", "hi"),
    ("what is panda?", "the giant panda is a bear species in china"),
    ("the cat sat on the mat", "a dog"),
    ("今天天气很好", "我喜欢吃苹果"),
    ("what is panda?", "hi"),  # a repeat: scored once, same value
    ("a", "represent this sentence for searching relevant passages: the cat sat on the mat " * 3),
    ("猫狗", "一男人在弹吉他"),
]


def recipe_scores(folder, pairs, max_length=512):
    """The model card's plain-transformers recipe, verbatim in spirit: one padded batch."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForSequenceClassification.from_pretrained(str(folder))
    model.eval()
    with torch.no_grad():
        inputs = tokenizer([list(p) for p in pairs], padding=True, truncation=True, return_tensors="pt",
                           max_length=max_length)
        return model(**inputs, return_dict=True).logits.view(-1, ).float().numpy()


def test_scores_equal_the_model_card_recipe(tiny_reranker):
    reranker = load_reranker(tiny_reranker, device="cpu", batch_size=2)  # length-sorted batches of 2
    ours = reranker.score_pairs(PAIRS)
    np.testing.assert_allclose(ours, recipe_scores(tiny_reranker, PAIRS), atol=1e-5)
    assert ours.dtype == np.float32 and ours[0] == ours[4]


def test_truncation_to_max_length(tiny_reranker):
    long_pair = [("what is panda?", "panda " * 200)]  # longer than the tiny model's 128 positions
    reranker = load_reranker(tiny_reranker, device="cpu", max_length=64)
    np.testing.assert_allclose(reranker.score_pairs(long_pair), recipe_scores(tiny_reranker, long_pair, 64), atol=1e-5)


def test_sigmoid_option(tiny_reranker):
    raw = load_reranker(tiny_reranker, device="cpu").score_pairs(PAIRS)
    squashed = load_reranker(tiny_reranker, device="cpu", sigmoid=True).score_pairs(PAIRS)
    np.testing.assert_allclose(squashed, 1 / (1 + np.exp(-raw)), atol=1e-6)


def test_cross_encoder_refused_as_embedder(tiny_reranker):
    with pytest.raises(WrongModelKindError, match="cross-encoder.*--reranker"):
        load_embedder(tiny_reranker, pooling="cls")


def test_embedder_refused_as_reranker(tiny_bert):
    with pytest.raises(WrongModelKindError, match="not a cross-encoder"):
        load_reranker(tiny_bert)


def test_cli_refuses_wrong_kinds(tiny_bert, tiny_reranker, tmp_path, capsys):
    from cmteb_eval.cli import main

    assert main(["run", "--model", str(tiny_reranker), "--pooling", "cls", "--tasks", "DemoSTSEn",
                 "--output-dir", str(tmp_path)]) == 2
    assert "--reranker" in capsys.readouterr().err
    assert main(["run", "--reranker", str(tiny_bert), "--tasks", "DemoSTSEn", "--output-dir", str(tmp_path)]) == 2
    assert "not a cross-encoder" in capsys.readouterr().err


def test_reranker_alone_cannot_run_tasks_that_need_embeddings(tiny_reranker, tmp_path, capsys):
    from cmteb_eval.cli import main

    assert main(["run", "--reranker", str(tiny_reranker), "--tasks", "DemoSTSEn", "--output-dir", str(tmp_path)]) == 1
    assert "needs an embedder" in capsys.readouterr().err


def write_tiny_retrieval(folder):
    docs = ["the cat sat on the mat", "the dog sat", "giant panda bear", "china", "hi", "a cat", "what is a dog",
            "the giant panda is a bear species in china", "panda", "mat", "今天天气很好", "我喜欢吃苹果"]
    queries = ["what is panda?", "the cat", "今天天气"]
    qrels = [("q0", "d7", 2), ("q0", "d8", 1), ("q1", "d0", 1), ("q1", "d5", 1), ("q2", "d10", 1), ("q2", "d3", 0)]
    (folder / "Tiny" / "qrels").mkdir(parents=True)
    with open(folder / "Tiny" / "corpus.jsonl", "w") as f:
        for i, d in enumerate(docs):
            f.write(json.dumps({"id": f"d{i}", "title": "", "text": d}) + "\n")
    with open(folder / "Tiny" / "queries.jsonl", "w") as f:
        for i, q in enumerate(queries):
            f.write(json.dumps({"id": f"q{i}", "text": q}) + "\n")
    with open(folder / "Tiny" / "qrels" / "test.jsonl", "w") as f:
        for q, d, s in qrels:
            f.write(json.dumps({"query-id": q, "corpus-id": d, "score": s}) + "\n")
    card = folder / "Tiny.toml"
    card.write_text('name = "Tiny"\ntype = "Retrieval"\nlanguages = ["eng-Latn"]\neval_splits = ["test"]\n'
                    '[dataset]\nhub_id = "cmteb-eval/tiny"\nrevision = "local"\nlocal_dir = "Tiny"\n')
    return card


def test_retrieve_then_rerank_orders_the_top_k_by_cross_encoder_scores(tiny_bert, spread_reranker, tmp_path):
    from cmteb_eval.evaluators import metrics
    from cmteb_eval.evaluators import retrieval
    from cmteb_eval.data.ranking import load_retrieval
    from cmteb_eval.tasks.registry import Registry

    spec = Registry.load([write_tiny_retrieval(tmp_path)]).task("Tiny")
    data = load_retrieval(spec, "test")
    embedder = load_embedder(tiny_bert, pooling="cls", device="cpu")
    reranker = load_reranker(spread_reranker, device="cpu")
    k = 4
    stage1, final = retrieval.runs(embedder, reranker, spec, data, RunOptions(rerank_top_k=k))
    text_of = dict(zip(data.corpus_ids, data.corpus_texts))
    for qid, query in zip(data.query_ids, data.query_texts):
        ids = list(stage1[qid])
        top = [ids[i] for i in metrics.trec_order(ids, [stage1[qid][d] for d in ids])[:k]]
        assert set(final[qid]) == set(top)  # exactly the embedder's top k are reranked
        expected = dict(zip(top, recipe_scores(spread_reranker, [(query, text_of[d]) for d in top])))
        np.testing.assert_allclose([final[qid][d] for d in top], [expected[d] for d in top], atol=1e-5)
        got = list(final[qid])
        ranked = [got[i] for i in metrics.trec_order(got, [final[qid][d] for d in got])]
        # ranked by the cross-encoder: the recipe's scores fall along our order (ties and float
        # noise below 1e-5 may order either way)
        assert all(expected[a] >= expected[b] - 1e-5 for a, b in zip(ranked, ranked[1:]))

    result = retrieval.evaluate(spec, "test", [], ModelPair(embedder, reranker), RunOptions(rerank_top_k=k))
    assert "stage1_ndcg_at_10" in result.scores and "ndcg_at_10" in result.scores
    assert result.scores["stage1_ndcg_at_10"] == metrics.retrieval_metrics(data.qrels, stage1)[0]["ndcg_at_10"]
    assert result.scores["ndcg_at_10"] == metrics.retrieval_metrics(data.qrels, final)[0]["ndcg_at_10"]


def test_combine_puts_reranked_top_above_the_rest_in_cross_encoder_order():
    from cmteb_eval.evaluators.rerank_stage import combine

    stage1 = np.array([0.9, 0.1, 0.5, 0.5, 0.8])
    top = np.array([0, 4, 2])  # the stage-1 top 3
    final = combine(stage1, top, np.array([-2.0, 3.0, 0.5]))
    assert list(np.argsort(-final, kind="stable")) == [4, 2, 0, 3, 1]
    assert final[3] > final[1]  # below the top k, the first stage's order stays
