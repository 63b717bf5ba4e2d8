"""LLM rerankers (causal LMs scored from the next-token logits of a prompt) against their
references on the same inputs: FlagEmbedding's FlagLLMReranker (bge-reranker-v2-gemma) and the
Qwen3-Reranker model card's recipe (``qwen3_reranker_recipe.py``), on tiny random models laid
out as the hub folders (``llm_reranker_models.py``) and real query/passage pairs from
../shared (qbqtc_dev); then a reranking task and retrieve-then-rerank on a retrieval task, whose
main scores must equal those of the reference's scores; then the refusals."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from cmteb_eval.errors import NotYetSupportedError, UserError, WrongModelKindError
from cmteb_eval.evaluators.base import RunOptions
from cmteb_eval.models.pair import ModelPair
from cmteb_eval.run.setup import load_any_reranker

SCORE_TOL = 1e-5
MAIN_SCORE_TOL = 1e-6
RERANK_QUERIES = 12
RETRIEVAL_ROWS = 120
RETRIEVAL_QUERIES = 10


@pytest.fixture(scope="module")
def qbqtc_rows(shared):
    from ranking_reference import read_qbqtc

    return read_qbqtc(shared / "data" / "extra" / "qbqtc_dev.jsonl", RETRIEVAL_ROWS)


@pytest.fixture(scope="module")
def pairs(qbqtc_rows):
    """Real pairs, a repeated one, a passage far longer than max_length and an overlong query."""
    real = [(r["query"], r["title"]) for r in qbqtc_rows[:40]]
    return real + [real[3], ("what is panda?", "panda 熊猫 " * 400), ("长 " * 500, "今天天气很好")]


@pytest.fixture(scope="module")
def folders(tmp_path_factory, qbqtc_rows, pairs):
    from llm_reranker_models import write_gemma, write_qwen3

    texts = [t for r in qbqtc_rows for t in (r["query"], r["title"])] + [t for p in pairs for t in p]
    root = tmp_path_factory.mktemp("llm-rerankers")
    from llm_reranker_models import write_minicpm_layerwise

    layerwise = write_minicpm_layerwise(root / "bge-reranker-v2-minicpm-layerwise", texts)
    return {"gemma": write_gemma(root / "bge-reranker-v2-gemma", texts), "layerwise": layerwise,
            "qwen3": write_qwen3(root / "Qwen3-Reranker-0.6B", texts, seed=1),  # seed 1: P(yes) spread over 0..1
            "qwen3-seq-cls": write_qwen3(root / "Qwen3-Reranker-0.6B-seq-cls", texts, classifier=True)}


@pytest.fixture(scope="module")
def tasks(shared, qbqtc_rows, tmp_path_factory):
    from ranking_reference import read_qbqtc, reranking_rows, retrieval_tables, write_qbqtc_tasks
    from cmteb_eval.tasks.registry import Registry

    rerank = reranking_rows(read_qbqtc(shared / "data" / "extra" / "qbqtc_dev.jsonl"), only_complete=True)
    rerank = {k: v[:RERANK_QUERIES] for k, v in rerank.items()}
    corpus, queries, qrels = retrieval_tables(qbqtc_rows, RETRIEVAL_QUERIES)
    cards = write_qbqtc_tasks(tmp_path_factory.mktemp("qbqtc-llm"), rerank, corpus, queries, qrels)
    return Registry.load(list(cards)), cards, rerank


def flag_llm_scores(folder, pairs):
    from FlagEmbedding import FlagLLMReranker

    return np.asarray(FlagLLMReranker(str(folder), devices="cpu", batch_size=8).compute_score(
        [list(p) for p in pairs]), dtype=np.float64)


def qwen3_card_scores(folder, pairs, task=None):
    from qwen3_reranker_recipe import card_scores

    return np.asarray(card_scores(folder, [q for q, _ in pairs], [p for _, p in pairs], task), dtype=np.float64)


REFERENCES = {"gemma": flag_llm_scores, "qwen3": qwen3_card_scores}


class ReferenceScorer:
    """The reference's scores as a reranker, so the same evaluator turns them into main scores."""

    def __init__(self, kind, folder):
        self.kind, self.folder = kind, folder

    def score_pairs(self, pairs, *, task=None):
        return REFERENCES[self.kind](self.folder, list(pairs)).astype(np.float32)

    def describe(self, task=None):
        return {"kind": f"reference {self.kind}"}


# ---------------------------------------------------------------- scores, pair by pair


@pytest.mark.parametrize("kind", ["gemma", "qwen3"])
def test_scores_equal_the_reference(folders, pairs, kind):
    # a small token budget: many length-sorted batches of different sizes
    reranker = load_any_reranker(str(folders[kind]), device="cpu", max_batch_tokens=1500)
    ours = reranker.score_pairs(pairs)
    reference = REFERENCES[kind](folders[kind], pairs)
    assert ours.dtype == np.float32 and ours[3] == ours[40]  # the repeated pair: scored once
    np.testing.assert_allclose(ours, reference, rtol=0, atol=SCORE_TOL)
    assert np.std(reference) > 0.05  # spread scores: the comparison means something


def test_bfloat16_scores_follow_float32(folders, pairs):
    """bf16 (the GPU default) runs the same recipe: scores near the float32 ones, the dtype recorded."""
    full = load_any_reranker(str(folders["gemma"]), device="cpu").score_pairs(pairs[:12])
    half = load_any_reranker(str(folders["gemma"]), device="cpu", dtype="bfloat16")
    assert half.describe(None)["dtype"] == "bfloat16"
    scores = half.score_pairs(pairs[:12])
    assert scores.dtype == np.float32 and np.abs(scores - full).max() < 0.1 * np.abs(full).max()


def test_gemma_record_and_sigmoid(folders, pairs):
    reranker = load_any_reranker(str(folders["gemma"]), device="cpu", sigmoid=True)
    info = reranker.describe(None)
    assert info["kind"] == "llm-reranker" and info["card"] == "BAAI/bge-reranker-v2-gemma"
    assert info["recipe_source"].startswith("FlagOpen/FlagEmbedding @ ")
    assert info["max_length"] == 512 and info["query_max_length"] == 384 and info["dtype"] == "float32"
    assert "'Yes'" in info["score"] and info["score"].startswith("sigmoid(")
    np.testing.assert_allclose(reranker.score_pairs(pairs[:5]), 1 / (1 + np.exp(-flag_llm_scores(
        folders["gemma"], pairs[:5]))), atol=1e-6)


def test_qwen3_instruction_is_recorded_and_overridable(folders, pairs):
    from cmteb_eval.models.identity.llm_cards import llm_reranker_cards

    default = llm_reranker_cards()["Qwen/Qwen3-Reranker-0.6B"]["default_instruction"]
    info = load_any_reranker(str(folders["qwen3"]), device="cpu").describe(None)
    assert info["instruction"] == default and "default" in info["instruction_source"]
    other = "Given a Chinese search query, retrieve web passages that answer the question"
    reranker = load_any_reranker(str(folders["qwen3"]), device="cpu", query_instruction=other)
    assert reranker.describe(None)["instruction_source"] == "command line"
    np.testing.assert_allclose(reranker.score_pairs(pairs[:6]), qwen3_card_scores(folders["qwen3"], pairs[:6], other),
                               atol=SCORE_TOL)
    with pytest.raises(UserError, match="P\\(yes\\)"):
        load_any_reranker(str(folders["qwen3"]), device="cpu", sigmoid=True)
    with pytest.raises(UserError, match="--query-instruction does not apply"):
        load_any_reranker(str(folders["gemma"]), device="cpu", query_instruction=other)


# ---------------------------------------------------------------- main scores


@pytest.mark.parametrize("kind", ["gemma", "qwen3"])
def test_reranking_main_score_equals_the_references(folders, tasks, kind):
    from cmteb_eval.evaluators import reranking

    registry, _, _ = tasks
    spec = registry.task("QbqtcReranking")
    ours = reranking.evaluate(spec, "dev", [], ModelPair(reranker=load_any_reranker(str(folders[kind]), device="cpu")))
    reference = reranking.evaluate(spec, "dev", [], ModelPair(reranker=ReferenceScorer(kind, folders[kind])))
    assert len(ours.items["ap"]) == RERANK_QUERIES
    for name in ("map", "mrr_at_10"):
        assert abs(ours.scores[name] - reference.scores[name]) <= MAIN_SCORE_TOL, name


@pytest.mark.parametrize("kind", ["gemma", "qwen3"])
def test_retrieve_then_rerank_main_score_equals_the_references(folders, tasks, minilm, kind):
    from cmteb_eval.evaluators import retrieval

    registry, _, _ = tasks
    spec = registry.task("QbqtcRetrieval")
    options = RunOptions(rerank_top_k=10)
    ours = retrieval.evaluate(spec, "dev", [], ModelPair(minilm, load_any_reranker(str(folders[kind]), device="cpu")),
                              options)
    reference = retrieval.evaluate(spec, "dev", [], ModelPair(minilm, ReferenceScorer(kind, folders[kind])), options)
    assert ours.scores["stage1_ndcg_at_10"] == reference.scores["stage1_ndcg_at_10"]
    for name in ("ndcg_at_10", "map_at_10", "mrr_at_10"):
        assert abs(ours.scores[name] - reference.scores[name]) <= MAIN_SCORE_TOL, name


# ---------------------------------------------------------------- the CLI and the API


def test_cli_retrieve_then_rerank_records_the_llm_reranker(folders, tasks, minilm_dir, tmp_path, capsys):
    from cmteb_eval.cli import main

    _, cards, _ = tasks
    out = tmp_path / "out"
    assert main(["run", "--model", str(minilm_dir), "--model-name", "minilm", "--reranker", str(folders["gemma"]),
                 "--rerank-top-k", "10", "--task-file", str(cards[1]), "--tasks", "QbqtcRetrieval",
                 "--output-dir", str(out), "--device", "cpu", "--offline", "--quiet"]) == 0
    said = capsys.readouterr().out
    assert "llm-reranker, card BAAI/bge-reranker-v2-gemma" in said and "reranking the top 10" in said
    result = json.loads(next((out / "minilm").rglob("QbqtcRetrieval.json")).read_text())
    record = result["harness"]["model"]["reranker"]
    assert record["kind"] == "llm-reranker" and record["recipe"] == "flag-llm"
    assert record["prompt"].startswith("Given a query A and a passage B")
    assert record["dtype"] == "float32" and record["max_length"] == 512


def test_api_reranks_with_an_llm_reranker(folders, tasks, minilm_dir):
    import cmteb_eval

    registry, cards, _ = tasks
    results = cmteb_eval.evaluate(str(minilm_dir), ["QbqtcRetrieval", "QbqtcReranking"], reranker=str(folders["qwen3"]),
                                  task_files=[str(c) for c in cards], device="cpu", rerank_top_k=10)
    by_task = {t.spec.name: t for t in results.tasks}
    assert by_task["QbqtcRetrieval"].info["reranker"]["card"] == "Qwen/Qwen3-Reranker-0.6B"
    assert "ndcg_at_10" in by_task["QbqtcRetrieval"].splits["dev"].scores
    assert by_task["QbqtcReranking"].info["reranker"]["instruction_source"].startswith("card")


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("extra", [[], ["--pooling", "lasttoken"]])
def test_llm_reranker_as_embedder_is_refused_as_a_reranker(folders, tmp_path, capsys, extra):
    from cmteb_eval.cli import main

    assert main(["run", "--model", str(folders["gemma"]), *extra, "--tasks", "DemoSTSEn",
                 "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "LLM reranker (BAAI/bge-reranker-v2-gemma" in err and f"--reranker {folders['gemma']}" in err
    assert "--pooling" not in err and "bi-encoder" not in err


def test_unknown_causal_lm_is_refused_without_advising_pooling(folders, tmp_path):
    from cmteb_eval.models.encoders.embedder import load_embedder

    unnamed = tmp_path / "some-causal-lm"
    shutil.copytree(folders["gemma"], unnamed)
    with pytest.raises(WrongModelKindError, match="--reranker") as refused:
        load_embedder(str(unnamed))
    assert "pool" not in refused.value.hint
    with pytest.raises(WrongModelKindError, match="matches no known LLM reranker card") as refused:
        load_any_reranker(str(unnamed), device="cpu")
    assert "--model-name" in refused.value.hint and "bi-encoder" not in str(refused.value)
    # named by its card, it runs
    named = load_any_reranker(str(unnamed), model_name="BAAI/bge-reranker-v2-gemma", device="cpu")
    assert named.describe(None)["card"] == "BAAI/bge-reranker-v2-gemma"


def test_cross_encoder_adapter_refuses_a_causal_lm_without_advising_an_embedder(folders):
    from cmteb_eval.models.rerankers.cross_encoder import load_reranker

    with pytest.raises(WrongModelKindError, match="causal language model") as refused:
        load_reranker(str(folders["gemma"]), device="cpu")
    assert "bi-encoder" not in str(refused.value) + refused.value.hint and "--model " not in refused.value.hint


def test_sequence_classification_conversion_is_refused(folders):
    with pytest.raises(WrongModelKindError, match="Qwen3ForSequenceClassification.*prompt template"):
        load_any_reranker(str(folders["qwen3-seq-cls"]), device="cpu")


@pytest.mark.parametrize("name", ["bge-reranker-v2.5-gemma2-lightweight"])
def test_cards_not_run_are_refused_by_name(folders, tmp_path, name):
    folder = tmp_path / name
    shutil.copytree(folders["gemma"], folder)
    with pytest.raises(NotYetSupportedError, match=f"BAAI/{name}.*refused"):
        load_any_reranker(str(folder), device="cpu")


# ---------------------------------------------------------------- bge-reranker-v2-minicpm-layerwise


def layerwise_scores(folders, pairs, layer):
    from llm_reranker_models import layerwise_reference_scores

    folder, model = folders["layerwise"]
    return np.asarray(layerwise_reference_scores(folder, model, pairs, layer), dtype=np.float64)


@pytest.mark.parametrize("layer", [3, 4])
def test_layerwise_scores_equal_layerwise_flag_llm_reranker(folders, pairs, layer):
    folder, _ = folders["layerwise"]
    reranker = load_any_reranker(str(folder), device="cpu", cutoff_layers=layer, max_batch_tokens=1500)
    reference = layerwise_scores(folders, pairs, layer)
    np.testing.assert_allclose(reranker.score_pairs(pairs), reference, rtol=0, atol=SCORE_TOL)
    assert np.std(reference) > 0.2
    info = reranker.describe(None)
    assert info["cutoff_layers"] == layer and info["recipe"] == "flag-llm-layerwise"
    assert info["score"] == f"layer {layer}'s score head after the prompt"


def test_layerwise_default_layer_is_the_cards(folders):
    from cmteb_eval.errors import ModelLoadError

    folder, _ = folders["layerwise"]  # 4 layers: the card's 28 is out of its range, and said so
    with pytest.raises(ModelLoadError, match="--cutoff-layers 28: .* layers 2 to 4"):
        load_any_reranker(str(folder), device="cpu")
    with pytest.raises(UserError, match="--cutoff-layers applies to layer-wise"):
        load_any_reranker(str(folders["gemma"]), device="cpu", cutoff_layers=3)


def test_layerwise_reranking_from_the_cli_records_the_layer(folders, tasks, tmp_path, capsys):
    from cmteb_eval.cli import main
    from cmteb_eval.evaluators import reranking

    folder, _ = folders["layerwise"]
    registry, cards, table = tasks
    out = tmp_path / "out"
    assert main(["run", "--reranker", str(folder), "--cutoff-layers", "3", "--task-file", str(cards[0]),
                 "--tasks", "QbqtcReranking", "--output-dir", str(out), "--device", "cpu", "--quiet"]) == 0
    said = capsys.readouterr().out
    distinct = {(q, t) for q, p, n in zip(table["query"], table["positive"], table["negative"]) for t in p + n}
    assert f"QbqtcReranking (Reranking; dev): {len(distinct)} (query, passage) pair(s) for the reranker" in said
    assert "cutoff_layers=3" in said
    result = json.loads(next(out.rglob("QbqtcReranking.json")).read_text())
    assert result["harness"]["model"]["cutoff_layers"] == 3
    assert result["harness"]["model"]["card"] == "BAAI/bge-reranker-v2-minicpm-layerwise"

    class Reference:
        def score_pairs(self, pairs, *, task=None):
            return layerwise_scores(folders, list(pairs), 3).astype(np.float32)

        def describe(self, task=None):
            return {}

    reference = reranking.evaluate(registry.task("QbqtcReranking"), "dev", [], ModelPair(reranker=Reference()))
    assert abs(result["scores"]["dev"][0]["map"] - reference.scores["map"]) <= MAIN_SCORE_TOL
