"""The cmteb-reranking benchmark end to end, offline, against tiny local copies laid out like the hub
(one row per query: query, positive list, negative list), with a cross-encoder and with a bi-encoder."""

import json

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from cmteb_eval.cli import main
from cmteb_eval.tasks.registry import Registry

ROWS = [
    {"query": "what is panda?", "positive": ["the giant panda is a bear species in china", "panda"],
     "negative": ["hi", "the cat sat on the mat", "a dog"]},
    {"query": "今天天气很好", "positive": ["今天天气"], "negative": ["我喜欢吃苹果", "一男人在弹吉他", "猫狗"]},
    {"query": "the cat", "positive": ["a cat sat on the mat"], "negative": ["giant bear", "what is a dog", "hi"]},
    {"query": "no negatives", "positive": ["a"], "negative": []},  # skipped by both protocols
]


@pytest.fixture(scope="module")
def hub_copies(tmp_path_factory):
    """DIR/<Task>/<split>.jsonl for the six tasks of the BGE reranking table, in the hub's columns."""
    folder = tmp_path_factory.mktemp("hub-copies")
    for spec in Registry.load().select([], ["cmteb-reranking"]):
        for split in spec.eval_splits:
            path = folder / spec.name / f"{split}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            rows = [{spec.column("query"): r["query"], spec.column("positive"): r["positive"],
                     spec.column("negative"): r["negative"]} for r in ROWS]
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return folder


def read(out, model, task):
    from cmteb_eval.results.naming import file_task_name  # mteb's name: CMedQAv1-reranking.json

    name = file_task_name(Registry.load().task(task))
    return json.loads((out / model / "no_revision_available" / f"{name}.json").read_text())


def test_cross_encoder_runs_the_benchmark_offline(hub_copies, spread_reranker, tmp_path):
    from test_cross_encoder import recipe_scores

    out = tmp_path / "out"
    code = main(["run", "--reranker", str(spread_reranker), "--model-name", "tiny-reranker", "--benchmark",
                 "cmteb-reranking", "--data-dir", str(hub_copies), "--output-dir", str(out), "--offline"])
    assert code == 0
    tasks = [s.name for s in Registry.load().select([], ["cmteb-reranking"])]
    for task in tasks:
        result = read(out, "tiny-reranker", task)
        assert result["harness"]["protocol"].startswith("v1")
        assert result["harness"]["model"]["kind"] == "cross-encoder"
        items = json.loads((out / "tiny-reranker" / "no_revision_available" / "items" / f"{result['task_name']}.json").read_text())
        assert len(next(iter(items["splits"].values()))["ap"]) == 3
    # the score is the v1 MAP of the cross-encoder's own scores, computed independently here
    expected = []
    for row in ROWS[:3]:
        docs = row["positive"] + row["negative"]
        scores = recipe_scores(spread_reranker, [(row["query"], d) for d in docs])
        # AP depends on the order only: distinct scores are far apart (exact ties are identical
        # inputs, tied on both sides), so float noise cannot reorder them
        gaps = np.diff(np.sort(scores))
        assert gaps[gaps > 0].min() > 1e-4
        expected.append(average_precision_score([1] * len(row["positive"]) + [0] * len(row["negative"]), scores))
    main_score = read(out, "tiny-reranker", "T2Reranking")["scores"]["dev"][0]["main_score"]
    assert main_score == pytest.approx(np.mean(expected), abs=1e-6)


def test_bi_encoder_and_retrieve_then_rerank_run_the_benchmark(hub_copies, tiny_bert, tiny_reranker, tmp_path):
    out = tmp_path / "out"
    base = ["run", "--benchmark", "cmteb-reranking", "--data-dir", str(hub_copies), "--output-dir", str(out),
            "--offline", "--model", str(tiny_bert), "--pooling", "cls"]
    assert main(base + ["--model-name", "tiny-bge"]) == 0
    result = read(out, "tiny-bge", "CMedQAv1")
    assert result["harness"]["model"]["kind"] == "embedder"
    assert 0 <= result["scores"]["test"][0]["map"] <= 1

    assert main(base + ["--model-name", "tiny-pipeline", "--reranker", str(tiny_reranker), "--rerank-top-k", "2",
                        "--protocol", "v2"]) == 0
    scores = read(out, "tiny-pipeline", "CMedQAv1")["scores"]["test"][0]
    harness = read(out, "tiny-pipeline", "CMedQAv1")["harness"]
    assert harness["protocol"].startswith("v2") and harness["model"]["rerank_top_k"] == 2
    assert {"map", "mrr_at_10", "map_at_1000", "stage1_map", "stage1_mrr_at_10"} <= set(scores)
    # the first stage of the pipeline is the bi-encoder run alone, scored under v2
    alone = main(base + ["--model-name", "tiny-bge-v2", "--protocol", "v2"])
    assert alone == 0
    assert scores["stage1_map"] == pytest.approx(read(out, "tiny-bge-v2", "CMedQAv1")["scores"]["test"][0]["map"])
