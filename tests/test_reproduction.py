"""Reproduction on real data: published scores, and mteb's own numbers on identical input."""

import json

import pytest

from cmteb_eval.tasks.registry import Registry
from cmteb_eval.run.runner import evaluate_task

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def published(shared, model, task):
    return json.loads((shared / "published" / "published_scores.json").read_text())["models"][model][task]["score"]


def split_scores(spec, minilm, shared) -> dict[str, float]:
    """Our main score (x100) of every split the card evaluates."""
    data_dirs = [shared / "data" / "cmteb", shared / "data" / "mteb"]
    return {split: 100 * r.scores[spec.main_metric] for split, r in evaluate_task(spec, minilm, data_dirs).items()}


def main_score(spec, minilm, shared):
    return split_scores(spec, minilm, shared)[spec.table_split]


def assert_every_split_reproduced(task, minilm, shared, splits=("validation", "test")):
    """Each split equals the published all-MiniLM-L6-v2 number (the results repository's file,
    shipped in published_reference.json) to +-0.05."""
    from cmteb_eval.report.references.published import published_model

    spec = Registry.load().task(task)
    reference = published_model(MINILM).tasks[task]
    ours = split_scores(spec, minilm, shared)
    assert set(ours) == set(splits) == set(reference.splits)
    for split in splits:
        assert ours[split] == pytest.approx(reference.splits[split], abs=0.05), split


def test_stsb_reproduces_the_published_scores_of_both_splits(minilm, shared):
    assert_every_split_reproduced("STSB", minilm, shared)
    assert published_model_score("STSB") == pytest.approx(published(shared, MINILM, "STSB"), abs=0.005)


def published_model_score(task):
    from cmteb_eval.report.references.published import published_model

    return published_model(MINILM).tasks[task].score


def test_stsbenchmark_reproduces_the_published_score(minilm, shared):
    spec = Registry.load().task("STSBenchmark")
    assert main_score(spec, minilm, shared) == pytest.approx(published(shared, MINILM, "STSBenchmark"), abs=0.05)


@pytest.mark.slow
@pytest.mark.ci
def test_lcqmc_reproduces_the_published_score(minilm, shared):
    spec = Registry.load().task("LCQMC")
    assert main_score(spec, minilm, shared) == pytest.approx(published(shared, MINILM, "LCQMC"), abs=0.05)


@pytest.mark.slow
def test_bq_reproduces_the_published_scores_of_both_splits(minilm, shared):
    assert_every_split_reproduced("BQ", minilm, shared)


@pytest.mark.slow
def test_atec_reproduces_the_published_scores_of_both_splits(minilm, shared):
    assert_every_split_reproduced("ATEC", minilm, shared)


def test_ocnli_cosine_ap_equals_mteb(minilm, minilm_dir, shared):
    """mteb's PairClassification evaluator fed the same embeddings as ours (thresholds and AP over
    1,847 pairs: a near-tie between a positive and a negative moves with float noise, so the
    embeddings are compared separately, against sentence-transformers)."""
    from cmteb_eval.data.tables import read_table

    from mteb_reference import FrozenEmbedder, assert_same_embeddings_as_sentence_transformers, mteb_scores_of

    spec = Registry.load().task("Ocnli")
    table = read_table(shared / "data" / "cmteb" / "Ocnli" / "validation.jsonl")
    frozen = FrozenEmbedder(minilm, table["sentence1"] + table["sentence2"])
    ours = evaluate_task(spec, frozen, [shared / "data" / "cmteb"])["validation"].scores
    reference = mteb_scores_of(frozen, "Ocnli", {"validation": {
        "sentence1": table["sentence1"], "sentence2": table["sentence2"], "labels": table["label"]}}, "validation")
    for metric in ("cosine_ap", "cosine_accuracy", "cosine_f1", "max_ap", "max_accuracy", "max_f1",
                   "euclidean_ap", "manhattan_ap", "dot_ap"):
        assert ours[metric] == pytest.approx(reference[metric], abs=1e-9), metric
    # a quarter of the texts (842): the encoder is the same for all, the full set doubles the test's time
    assert_same_embeddings_as_sentence_transformers(minilm, minilm_dir, table["sentence1"] + table["sentence2"], every=4)


def test_our_embedder_handed_to_mteb_gives_our_scores(minilm, shared):
    """mteb's own STS evaluator, fed our adapter (through cmteb_eval.models.adapters.mteb_bridge) with the same
    embeddings, computes the score our evaluator computes; identical pairs tie on both sides."""
    from dataclasses import replace

    from cmteb_eval.data.tables import read_table

    from mteb_reference import FrozenEmbedder, mteb_scores_of

    spec = replace(Registry.load().task("STSB"), eval_splits=("test",))
    table = read_table(shared / "data" / "cmteb" / "STSB" / "test.jsonl")
    frozen = FrozenEmbedder(minilm, table["sentence1"] + table["sentence2"])
    ours = evaluate_task(spec, frozen, [shared / "data" / "cmteb"])["test"].scores
    reference = mteb_scores_of(frozen, "STSB", {"test": table}, "test")
    assert ours["cosine_spearman"] == pytest.approx(reference["cosine_spearman"], abs=1e-9)
    assert ours["cosine_pearson"] == pytest.approx(reference["cosine_pearson"], abs=1e-7)
