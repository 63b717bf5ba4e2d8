"""Classification and clustering: mteb's protocol step by step, parity with mteb on real text, bad input."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from cmteb_eval.errors import DataFormatError, DataNotFoundError, TaskCardError
from cmteb_eval.evaluators import classification, clustering
from cmteb_eval.tasks.registry import Registry
from cmteb_eval.run.runner import evaluate_task

from parity_data import clustering_sets, waimai_splits, write_jsonl


class CountingEmbedder:
    """Deterministic pseudo-embeddings (a hash of the text), counting every text it is asked to embed."""

    def __init__(self, dim: int = 8):
        self.dim = dim
        self.seen: Counter[str] = Counter()

    def encode(self, texts, *, role="text", task=None):
        self.seen.update(texts)
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
            rows.append(np.random.default_rng(seed).normal(size=self.dim))
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim)

    def describe(self, task=None):
        return {"kind": "embedder", "model": "counting"}


def task(name: str, **changes):
    spec = Registry.load().task(name)
    return replace(spec, **changes) if changes else spec


# ---------------------------------------------------------------- the protocol, step by step


def test_undersampling_draws_the_same_rows_as_mteb():
    import mteb
    from datasets import Dataset

    labels = [int(v) for v in np.random.default_rng(0).integers(0, 5, size=700)]
    reference = mteb.get_task("Waimai")
    dataset = Dataset.from_dict({"text": [str(i) for i in range(len(labels))], "label": labels})
    expected, order = [], None
    for experiment in range(10):
        _, order, chosen = reference._undersample_data(dataset, experiment, order)
        expected.append(chosen)
    assert classification.undersample(labels, reference.samples_per_label, 10, reference.seed) == expected
    # the draws differ between experiments (cumulative reshuffle), yet are reproducible
    assert expected[0] != expected[1]


def test_card_settings_are_mtebs_per_task():
    import mteb

    for name in ("TNews", "IFlyTek", "MultilingualSentiment", "JDReview", "OnlineShopping", "Waimai",
                 "AmazonReviewsClassification", "MassiveIntentClassification", "MassiveScenarioClassification"):
        ours = classification.settings(task(name))
        reference = mteb.get_task(name)
        assert (ours["samples_per_label"], ours["n_experiments"], ours["seed"]) == \
            (reference.samples_per_label, reference.n_experiments, reference.seed), name
        assert ours["max_iter"] == reference.evaluator_model.get_params()["max_iter"]


def test_each_text_is_embedded_once_and_only_used_train_rows_are(tmp_path):
    shared_texts = [f"shared {i}" for i in range(6)]
    train = {"text": shared_texts + [f"train {i}" for i in range(60)] + shared_texts,
             "label": [i % 2 for i in range(6)] + [i % 3 for i in range(60)] + [i % 2 for i in range(6)]}
    test = {"text": shared_texts + [f"test {i}" for i in range(20)], "label": [i % 3 for i in range(26)]}
    write_jsonl(tmp_path / "Waimai" / "train.jsonl", train)
    write_jsonl(tmp_path / "Waimai" / "test.jsonl", test)
    spec = task("Waimai", scoring={"samples_per_label": 4, "n_experiments": 3})
    model = CountingEmbedder()
    result = evaluate_task(spec, model, [tmp_path])["test"]
    assert max(model.seen.values()) == 1
    used = set().union(*classification.undersample(train["label"], 4, 3, 42))
    assert set(model.seen) == {train["text"][i] for i in used} | set(test["text"])
    assert 0 <= result.scores["accuracy"] <= 1 and result.scores["n_experiments"] == 3
    assert "samples_per_label=4, n_experiments=3" in result.protocol


def test_one_text_per_row_is_one_clustering_set(tmp_path):
    sets = {"sentences": [[f"a{i}" for i in range(30)] + [f"b{i}" for i in range(30)]],
            "labels": [["x"] * 30 + ["y"] * 30]}
    write_jsonl(tmp_path / "hub" / "CLSClusteringS2S" / "test.jsonl", sets)
    write_jsonl(tmp_path / "flat" / "CLSClusteringS2S" / "test.jsonl",
                {"sentences": sets["sentences"][0], "labels": sets["labels"][0]})
    spec = task("CLSClusteringS2S")
    hub = evaluate_task(spec, CountingEmbedder(), [tmp_path / "hub"])["test"]
    flat = evaluate_task(spec, CountingEmbedder(), [tmp_path / "flat"])["test"]
    assert hub.scores == flat.scores and hub.scores["n_sets"] == 1


def test_a_set_with_one_label_scores_one_as_in_mteb(tmp_path):
    write_jsonl(tmp_path / "CLSClusteringS2S" / "test.jsonl",
                {"sentences": [["a", "b", "c"], ["d", "e", "f", "g"]], "labels": [[1, 1, 1], [1, 2, 1, 2]]})
    result = evaluate_task(task("CLSClusteringS2S"), CountingEmbedder(), [tmp_path])["test"]
    assert result.items["v_measure_per_set"][0] == 1.0
    assert result.scores["v_measure"] == pytest.approx(np.mean(result.items["v_measure_per_set"]))
    assert result.scores["v_measure_std"] == pytest.approx(np.std(result.items["v_measure_per_set"]))


# ---------------------------------------------------------------- parity with mteb on real text


# Each parity check is split in two (see mteb_reference.py): mteb's evaluator fed the same
# embeddings as ours, and our embeddings against sentence-transformers'.


def test_classification_on_a_real_slice_equals_mteb(minilm, minilm_dir, shared, tmp_path):
    from mteb_reference import FrozenEmbedder, assert_same_embeddings_as_sentence_transformers, mteb_scores_of

    splits = waimai_splits(shared, thin=20)  # stratified: 480 train, 120 test rows
    for split, columns in splits.items():
        write_jsonl(tmp_path / "Waimai" / f"{split}.jsonl", columns)
    texts = splits["train"]["text"] + splits["test"]["text"]
    frozen = FrozenEmbedder(minilm, texts)
    ours = evaluate_task(task("Waimai"), frozen, [tmp_path])["test"].scores
    reference = mteb_scores_of(frozen, "Waimai", splits, "test")
    for metric in ("accuracy", "f1", "f1_weighted", "precision", "recall", "ap"):
        assert ours[metric] == pytest.approx(reference[metric], abs=1e-9), metric
    per_experiment = [s["accuracy"] for s in reference["scores_per_experiment"]]
    assert ours["accuracy_std"] == pytest.approx(np.std(per_experiment), abs=1e-9)
    assert_same_embeddings_as_sentence_transformers(minilm, minilm_dir, texts)


def test_clustering_on_a_real_slice_equals_mteb(minilm, minilm_dir, shared, tmp_path):
    from mteb_reference import FrozenEmbedder, assert_same_embeddings_as_sentence_transformers, mteb_scores_of

    sets = clustering_sets(shared, thin_tnews=25, thin_shopping=300)  # 198 and 210 texts
    write_jsonl(tmp_path / "CLSClusteringS2S" / "test.jsonl", sets)
    texts = [t for group in sets["sentences"] for t in group]
    frozen = FrozenEmbedder(minilm, texts)
    result = evaluate_task(task("CLSClusteringS2S"), frozen, [tmp_path])["test"]
    reference = mteb_scores_of(frozen, "CLSClusteringS2S", {"test": sets}, "test")
    assert result.scores["v_measure"] == pytest.approx(reference["v_measure"], abs=1e-9)
    assert result.scores["v_measure_std"] == pytest.approx(reference["v_measure_std"], abs=1e-9)
    assert result.items["v_measure_per_set"] == pytest.approx(reference["v_measures"], abs=1e-9)
    assert_same_embeddings_as_sentence_transformers(minilm, minilm_dir, texts)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("scoring", [{"samples_per_label": 0}, {"n_experiments": "ten"}, {"folds": 5}])
def test_bad_classification_settings_name_the_field(scoring):
    with pytest.raises(TaskCardError, match="scoring"):
        classification.settings(task("Waimai", scoring=scoring))


def test_bad_clustering_settings_name_the_field():
    with pytest.raises(TaskCardError, match="scoring.batch_size"):
        clustering.settings(task("CLSClusteringS2S", scoring={"batch_size": -1}))


def test_missing_train_split_names_the_paths(tmp_path):
    write_jsonl(tmp_path / "Waimai" / "test.jsonl", {"text": ["a", "b"], "label": [0, 1]})
    with pytest.raises(DataNotFoundError, match="split 'train'") as error:
        evaluate_task(task("Waimai"), CountingEmbedder(), [tmp_path])
    assert str(tmp_path / "Waimai" / "train.jsonl") in str(error.value)


@pytest.mark.parametrize("train_labels, message", [
    ([0, 1, None, 1], "row 2"),
    ([0, "pos", 0, 1], "mixes integer and string labels"),
    ([0, 0, 0, 0], "fewer than two labels"),
])
def test_bad_classification_labels_are_explained(tmp_path, train_labels, message):
    write_jsonl(tmp_path / "Waimai" / "train.jsonl", {"text": ["a", "b", "c", "d"], "label": train_labels})
    write_jsonl(tmp_path / "Waimai" / "test.jsonl", {"text": ["e", "f"], "label": [0, 1]})
    with pytest.raises(DataFormatError, match=message):
        evaluate_task(task("Waimai"), CountingEmbedder(), [tmp_path])


def test_a_clustering_set_with_unequal_lists_is_explained(tmp_path):
    write_jsonl(tmp_path / "CLSClusteringS2S" / "test.jsonl",
                {"sentences": [["a", "b", "c"]], "labels": [[1, 2]]})
    with pytest.raises(DataFormatError, match="3 sentences and 2 labels"):
        evaluate_task(task("CLSClusteringS2S"), CountingEmbedder(), [tmp_path])


def test_parity_split_rule_is_stratified(shared):
    splits = waimai_splits(shared)
    assert len(splits["train"]["text"]) + len(splits["test"]["text"]) == 11987
    for split in ("train", "test"):
        counts = Counter(splits[split]["label"])
        assert counts[0] / counts[1] == pytest.approx(7987 / 4000, rel=0.01), split
    assert Counter(splits["test"]["label"]) == {1: 800, 0: 1598}  # positions 0, 5, 10, ... of each label


def test_string_labels_work_and_skip_ap(tmp_path):
    write_jsonl(tmp_path / "Waimai" / "train.jsonl",
                {"text": [f"t{i}" for i in range(20)], "label": ["pos", "neg"] * 10})
    write_jsonl(tmp_path / "Waimai" / "test.jsonl", {"text": [f"e{i}" for i in range(8)], "label": ["neg", "pos"] * 4})
    scores = evaluate_task(task("Waimai"), CountingEmbedder(), [tmp_path])["test"].scores
    assert 0 <= scores["accuracy"] <= 1 and "ap" not in scores
