"""Cross-encoders at their authors' settings: a card's max length 512 with FlagReranker's query and
passage limits (FlagEmbedding 1.4.2's FlagReranker, the reranker mteb runs bge-reranker-v2-m3 with,
is the reference, on pairs longer than 512 tokens and on a reranking task of real data), the
sigmoid choice recorded, and a max length that came from the tokenizer said in the run's output
and the result."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cmteb_eval.models.pair import ModelPair
from cmteb_eval.run.setup import load_any_reranker


def write_long_reranker(folder):
    """A tiny BertForSequenceClassification that takes 600 positions (the real bge-reranker-v2-m3 takes
    8192): long enough to see FlagReranker's 512 at work."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    from conftest import VOCAB

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(dict.fromkeys(VOCAB)) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast.from_pretrained(str(folder), do_lower_case=True, model_max_length=600)
    config = BertConfig(vocab_size=len(dict.fromkeys(VOCAB)), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=600, num_labels=1,
                        initializer_range=0.5)
    torch.manual_seed(0)
    BertForSequenceClassification(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def card_reranker(tmp_path_factory):
    return write_long_reranker(tmp_path_factory.mktemp("cards") / "bge-reranker-v2-m3")


@pytest.fixture(scope="module")
def long_pairs(shared):
    from ranking_reference import read_qbqtc

    rows = read_qbqtc(shared / "data" / "extra" / "qbqtc_dev.jsonl", 30)
    long_title = "".join(r["title"] for r in rows)  # hundreds of characters: over 512 tokens
    return [(r["query"], r["title"]) for r in rows[:10]] + [
        ("what is panda?", "the giant panda is a bear species in china " * 60),
        ("the cat sat on the mat " * 80, "a dog sat on the mat " * 80),  # a query over 384 tokens
        (rows[0]["query"], long_title), (long_title[:300], long_title)]


def flag_reranker_scores(folder, pairs, normalize=False):
    from FlagEmbedding import FlagReranker

    return np.asarray(FlagReranker(str(folder), devices="cpu").compute_score([list(p) for p in pairs],
                                                                             normalize=normalize))


def test_card_runs_as_flag_reranker_on_pairs_longer_than_512(card_reranker, long_pairs):
    reranker = load_any_reranker(str(card_reranker), device="cpu", batch_size=4)
    lengths = [len(ids) for ids in reranker.tokenizer([q for q, _ in long_pairs], [p for _, p in long_pairs])["input_ids"]]
    assert max(lengths) > 512
    np.testing.assert_allclose(reranker.score_pairs(long_pairs), flag_reranker_scores(card_reranker, long_pairs),
                               rtol=0, atol=1e-5)
    info = reranker.describe(None)
    assert info["settings_source"] == "known card BAAI/bge-reranker-v2-m3"
    assert (info["max_length"], info["query_max_length"], info["truncation"]) == (512, 384, "FlagReranker")
    assert info["sigmoid"] is False and info["score"] == "raw logit" and "max_length_note" not in info


def test_sigmoid_is_flag_rerankers_normalize(card_reranker, long_pairs):
    reranker = load_any_reranker(str(card_reranker), device="cpu", sigmoid=True)
    np.testing.assert_allclose(reranker.score_pairs(long_pairs[:6]),
                               flag_reranker_scores(card_reranker, long_pairs[:6], normalize=True), atol=1e-6)
    assert reranker.describe(None)["sigmoid"] is True


def test_reranking_main_score_equals_flag_reranker(card_reranker, shared, tmp_path):
    from ranking_reference import read_qbqtc, reranking_rows, retrieval_tables, write_qbqtc_tasks
    from cmteb_eval.evaluators import reranking
    from cmteb_eval.tasks.registry import Registry

    rows = read_qbqtc(shared / "data" / "extra" / "qbqtc_dev.jsonl")
    table = {k: v[:15] for k, v in reranking_rows(rows, only_complete=True).items()}
    cards = write_qbqtc_tasks(tmp_path, table, *retrieval_tables(rows[:20], 2))
    spec = Registry.load(list(cards)).task("QbqtcReranking")

    class Reference:
        def score_pairs(self, pairs, *, task=None):
            return flag_reranker_scores(card_reranker, list(pairs)).astype(np.float32)

        def describe(self, task=None):
            return {}

    ours = reranking.evaluate(spec, "dev", [], ModelPair(reranker=load_any_reranker(str(card_reranker), device="cpu")))
    reference = reranking.evaluate(spec, "dev", [], ModelPair(reranker=Reference()))
    for name in ("map", "mrr_at_10"):
        assert abs(ours.scores[name] - reference.scores[name]) <= 1e-6, name


def test_max_length_from_the_tokenizer_is_said(tmp_path, capsys):
    from cmteb_eval.cli import main
    from test_reranking_benchmark import ROWS

    folder = write_long_reranker(tmp_path / "my-own-reranker")  # no card: tokenizer_config's 600
    reranker = load_any_reranker(str(folder), device="cpu")
    note = reranker.describe(None)["max_length_note"]
    assert reranker.max_length == 600 and "model_max_length of tokenizer_config.json" in note and "card" in note
    data = tmp_path / "data" / "Tiny" / "test.jsonl"
    data.parent.mkdir(parents=True)
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    card = tmp_path / "Tiny.toml"
    card.write_text('name = "Tiny"\ntype = "Reranking"\nlanguages = ["eng-Latn"]\neval_splits = ["test"]\n'
                    'main_metric = "map"\n[dataset]\nhub_id = "cmteb-eval/tiny"\nrevision = "local"\n'
                    'local_dir = "data/Tiny"\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", "--reranker", str(folder), "--task-file", str(card), "--tasks", "Tiny",
                 "--output-dir", str(out), "--device", "cpu", "--quiet"]) == 0
    assert "Note: reranker max_length 600 came from model_max_length of tokenizer_config.json" in capsys.readouterr().out
    result = json.loads(next(out.rglob("Tiny.json")).read_text())
    assert result["harness"]["model"]["max_length_note"] == note
