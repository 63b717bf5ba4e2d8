"""`cmteb-eval run --benchmark cmteb` offline, against a tiny mirror laid out like the hub.

Each task type with an evaluator has a builder below that writes a few hub-shaped rows
(the hub's column names, one file per split, the train split for classification).
To cover a new task type, add its builder to BUILDERS: the test then expects its tasks
to succeed, and every task of a type without a builder to say it is not supported yet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cmteb_eval.results.naming import file_task_name
from cmteb_eval.tasks.registry import Registry
from cmteb_eval.tasks.card import TaskSpec

from parity_data import write_jsonl

REPO = Path(__file__).resolve().parent.parent
WORDS = ["the cat sat on the mat", "a dog", "今天天气很好", "我喜欢吃苹果", "what is a giant panda",
         "一男人在弹吉他", "stock market", "bear species china", "hi", "猫狗"]


def _sentence(i: int) -> str:
    return f"{WORDS[i % len(WORDS)]} {i}"


def build_sts(spec: TaskSpec, folder: Path) -> None:
    for split in spec.eval_splits:
        write_jsonl(folder / f"{split}.jsonl", {
            spec.column("sentence1"): [_sentence(i) for i in range(12)],
            spec.column("sentence2"): [_sentence(i + 3) for i in range(12)],
            spec.column("score"): [float(i % 6) for i in range(12)]})


def build_pair_classification(spec: TaskSpec, folder: Path) -> None:
    for split in spec.eval_splits:  # the hub layout: one row of lists
        write_jsonl(folder / f"{split}.jsonl", {
            spec.column("sentence1"): [[_sentence(i) for i in range(12)]],
            spec.column("sentence2"): [[_sentence(i + 1) for i in range(12)]],
            spec.column("label"): [[i % 2 for i in range(12)]]})


def build_classification(spec: TaskSpec, folder: Path) -> None:
    for split in (*spec.eval_splits, spec.dataset.train_split):
        write_jsonl(folder / f"{split}.jsonl", {
            spec.column("text"): [_sentence(i) for i in range(18)],
            spec.column("label"): [i % 3 for i in range(18)]})


def build_clustering(spec: TaskSpec, folder: Path) -> None:
    for split in spec.eval_splits:  # the hub layout: one set per row
        write_jsonl(folder / f"{split}.jsonl", {
            spec.column("sentences"): [[_sentence(i) for i in range(10)], [_sentence(i) for i in range(10, 25)]],
            spec.column("labels"): [[i % 2 for i in range(10)], [f"topic{i % 3}" for i in range(15)]]})


def build_reranking(spec: TaskSpec, folder: Path) -> None:
    for split in spec.eval_splits:  # C-MTEB layout: one row per query with positive and negative lists
        write_jsonl(folder / f"{split}.jsonl", {
            spec.column("query"): [_sentence(i) for i in range(4)],
            spec.column("positive"): [[_sentence(i + 1)] for i in range(4)],
            spec.column("negative"): [[_sentence(i + 2), _sentence(i + 5)] for i in range(4)]})


def build_retrieval(spec: TaskSpec, folder: Path) -> None:
    corpus = {spec.column("corpus_id"): [f"d{i}" for i in range(15)],
              spec.column("corpus_text"): [_sentence(i) for i in range(15)]}
    if "corpus_title" in spec.columns and spec.column("corpus_title") != "corpus_title":
        corpus[spec.column("corpus_title")] = [f"title {i}" if i % 2 else "" for i in range(15)]
    write_jsonl(folder / "corpus.jsonl", corpus)
    write_jsonl(folder / "queries.jsonl", {spec.column("query_id"): [f"q{i}" for i in range(5)],
                                           spec.column("query_text"): [_sentence(i + 20) for i in range(5)]})
    for split in spec.eval_splits:
        write_jsonl(folder / "qrels" / f"{split}.jsonl", {
            spec.column("qrel_query_id"): [f"q{i}" for i in range(5)],
            spec.column("qrel_corpus_id"): [f"d{2 * i}" for i in range(5)], spec.column("qrel_score"): [1] * 5})


def build_summarization(spec: TaskSpec, folder: Path) -> None:
    for split in spec.eval_splits:  # the hub layout: one text per row, lists of summaries and relevance
        write_jsonl(folder / f"{split}.jsonl", {
            "text": [_sentence(i) for i in range(3)],
            spec.column("human_summaries"): [[_sentence(i + j) for j in range(3)] for i in range(3)],
            spec.column("machine_summaries"): [[_sentence(i + j + 7) for j in range(4)] for i in range(3)],
            spec.column("relevance"): [[1.0, 2.5, 4.0, 3.0] for _ in range(3)]})


BUILDERS = {
    "Retrieval": build_retrieval,
    "Reranking": build_reranking,
    "STS": build_sts,
    "PairClassification": build_pair_classification,
    "Classification": build_classification,
    "Clustering": build_clustering,
    "Summarization": build_summarization,
}


def test_cmteb_benchmark_runs_offline_on_a_hub_shaped_mirror(tmp_path, tiny_bert):
    run_benchmark_offline(tmp_path, tiny_bert, "cmteb", 35)


@pytest.mark.slow
def test_mteb_en_benchmark_runs_offline_on_a_hub_shaped_mirror(tmp_path, tiny_bert):
    """All 67 cards of MTEB(eng, v1), read in the hub's column names the cards declare (about 2 minutes)."""
    run_benchmark_offline(tmp_path, tiny_bert, "mteb-en", 67)


def run_benchmark_offline(tmp_path, tiny_bert, benchmark: str, n_cards: int) -> None:
    specs = Registry.load().select(benchmarks=[benchmark])
    assert len(specs) == n_cards
    mirror = tmp_path / "mirror"
    for spec in specs:
        if spec.type in BUILDERS:
            BUILDERS[spec.type](spec, mirror / spec.name)
    out = tmp_path / "out"
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    done = subprocess.run(
        [sys.executable, "-m", "cmteb_eval", "run", "--benchmark", benchmark, "--model", str(tiny_bert),
         "--model-name", "tiny", "--pooling", "cls", "--data-dir", str(mirror), "--output-dir", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    unsupported = [s for s in specs if s.type not in BUILDERS]
    assert done.returncode == (1 if unsupported else 0), done.stderr[-3000:]
    for spec in specs:
        path = out / "tiny" / "no_revision_available" / f"{file_task_name(spec)}.json"  # mteb's name
        if spec.type in BUILDERS:
            assert path.exists(), f"{spec.name}: {done.stderr[-2000:]}"
            result = json.loads(path.read_text(encoding="utf-8"))
            entry = result["scores"][spec.eval_splits[0]][0]
            # main_score holds the metric mteb 2 reads it as (Ocnli: max_accuracy); ours is named
            assert entry["main_score"] == entry[result["harness"]["main_score_metric"]]
            assert result["harness"]["main_metric"] == spec.main_metric and -1 <= entry[spec.main_metric] <= 1
            assert result["harness"]["task_type"] == spec.type and result["harness"]["protocol"]
        else:
            assert not path.exists()
            assert f"{spec.name}: {spec.type} tasks cannot be evaluated by this version" in done.stderr
    assert "Traceback" not in done.stderr
