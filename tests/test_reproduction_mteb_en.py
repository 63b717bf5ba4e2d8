"""MTEB(eng, v1) cards on real English data: the published all-MiniLM-L6-v2 scores, offline.

Published: the results repository (github embeddings-benchmark/results @ f4cc6c8b365a3c779dbc708d6affe0b0355b2ddf),
results/sentence-transformers__all-MiniLM-L6-v2/8b3219a92973c328a8e22fadcfa821b5dc75636a/<Task>.json, mteb 1.12.75,
test split main_score: Banking77Classification 0.8004220779220779, EmotionClassification 0.4083 (the dataset
revisions the files record are the cards'). STSBenchmark is checked in the default suite (test_reproduction.py).
Each encodes 13-18k texts with MiniLM (about a minute on a shared 2-core machine): marked slow.
"""

import pytest

from cmteb_eval.run.runner import evaluate_task
from cmteb_eval.tasks.registry import Registry

PUBLISHED = {"Banking77Classification": (80.04220779220779, "0fd18e25b25c072e09e0d92ab615fda904d66300"),
             "EmotionClassification": (40.83, "4f58c6b202a23cf9a4da393831edf4f9183cad37")}


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(PUBLISHED))
def test_classification_reproduces_the_published_minilm_score(minilm, shared, task):
    spec = Registry.load().task(task)
    score, revision = PUBLISHED[task]
    assert spec.dataset.revision == revision and "mteb-en" in [b.name for b in Registry.load().benchmarks.values()
                                                               if task in b.tasks]
    result = evaluate_task(spec, minilm, [shared / "data" / "mteb"])
    assert set(result) == {"test"}
    assert 100 * result["test"].scores["accuracy"] == pytest.approx(score, abs=0.05)
