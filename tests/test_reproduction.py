"""Reproduction on real data: published scores, and mteb's own numbers on identical input."""

import json

import pytest

from cmteb_eval.registry import Registry
from cmteb_eval.runner import evaluate_task

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def published(shared, model, task):
    return json.loads((shared / "published" / "published_scores.json").read_text())["models"][model][task]["score"]


def main_score(spec, minilm, shared):
    data_dirs = [shared / "data" / "cmteb", shared / "data" / "mteb"]
    splits = evaluate_task(spec, minilm, data_dirs)
    return 100 * splits[spec.eval_splits[0]].scores[spec.main_metric]


def test_stsb_reproduces_the_published_score(minilm, shared):
    spec = Registry.load().task("STSB")
    assert main_score(spec, minilm, shared) == pytest.approx(published(shared, MINILM, "STSB"), abs=0.05)


def test_stsbenchmark_reproduces_the_published_score(minilm, shared):
    spec = Registry.load().task("STSBenchmark")
    assert main_score(spec, minilm, shared) == pytest.approx(published(shared, MINILM, "STSBenchmark"), abs=0.05)


@pytest.mark.slow
@pytest.mark.ci
def test_lcqmc_reproduces_the_published_score(minilm, shared):
    spec = Registry.load().task("LCQMC")
    assert main_score(spec, minilm, shared) == pytest.approx(published(shared, MINILM, "LCQMC"), abs=0.05)


def test_ocnli_cosine_ap_equals_mteb(minilm, minilm_dir, shared):
    from cmteb_eval.data import read_table

    from mteb_reference import mteb_scores

    spec = Registry.load().task("Ocnli")
    ours = evaluate_task(spec, minilm, [shared / "data" / "cmteb"])["validation"].scores
    table = read_table(shared / "data" / "cmteb" / "Ocnli" / "validation.jsonl")
    reference = mteb_scores("Ocnli", "validation", {"sentence1": table["sentence1"], "sentence2": table["sentence2"],
                                                    "labels": table["label"]}, minilm_dir)
    for metric in ("cosine_ap", "cosine_accuracy", "cosine_f1", "max_ap", "max_accuracy", "max_f1",
                   "euclidean_ap", "manhattan_ap", "dot_ap"):
        assert ours[metric] == pytest.approx(reference[metric], abs=1e-4), metric


def test_our_embedder_handed_to_mteb_gives_our_scores(minilm, shared):
    """mteb's own STS evaluator, fed our adapter, computes the score our evaluator computes."""
    import mteb

    from cmteb_eval.data import read_table
    from cmteb_eval.mteb_bridge import as_mteb_encoder

    from mteb_reference import mteb_task_with_data

    spec = Registry.load().task("STSB")
    ours = evaluate_task(spec, minilm, [shared / "data" / "cmteb"])["test"].scores
    table = read_table(shared / "data" / "cmteb" / "STSB" / "test.jsonl")
    task = mteb_task_with_data("STSB", {"test": table}, "test")
    result = mteb.evaluate(as_mteb_encoder(minilm, name=MINILM), task, cache=None, show_progress_bar=False)
    reference = result.task_results[0].scores["test"][0]
    assert ours["cosine_spearman"] == pytest.approx(reference["cosine_spearman"], abs=1e-9)
    assert ours["cosine_pearson"] == pytest.approx(reference["cosine_pearson"], abs=1e-7)
