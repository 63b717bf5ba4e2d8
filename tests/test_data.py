"""Data loading: local mirrors, both pair layouts, and the promised errors."""

import json

import numpy as np
import pytest

from cmteb_eval.data.tables import load_split
from cmteb_eval.errors import DataFormatError, DataNotFoundError
from cmteb_eval.evaluators import pair_classification, sts
from cmteb_eval.tasks.registry import Registry


class FakeEmbedder:
    """Any object with encode/describe can be evaluated (the Protocol)."""

    def encode(self, texts, *, role="text", task=None):
        return np.array([[len(t), t.count("a") + 1.0, 1.0] for t in texts], dtype=np.float32)

    def describe(self, task=None):
        return {"model": "fake"}


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture(scope="module")
def registry():
    return Registry.load()


def test_pair_layouts_give_the_same_scores(registry, tmp_path):
    spec = registry.task("Ocnli")
    pairs = [("aa", "a", 1), ("abc", "xyz", 0), ("banana", "bandana", 1), ("q", "qqqq", 0), ("aaaa", "aaa", 1)]
    write_jsonl(tmp_path / "rows" / "Ocnli" / "validation.jsonl",
                [{"sentence1": a, "sentence2": b, "label": y} for a, b, y in pairs])
    write_jsonl(tmp_path / "hub" / "Ocnli" / "validation.jsonl",
                [{"sent1": [p[0] for p in pairs], "sent2": [p[1] for p in pairs], "labels": [p[2] for p in pairs]}])
    one = pair_classification.evaluate(spec, "validation", [tmp_path / "rows"], FakeEmbedder()).scores
    two = pair_classification.evaluate(spec, "validation", [tmp_path / "hub"], FakeEmbedder()).scores
    assert one == two and 0 <= one["cosine_ap"] <= 1


def test_data_dirs_are_searched_in_order(registry, tmp_path):
    spec = registry.task("STSB")
    write_jsonl(tmp_path / "b" / "STSB" / "test.jsonl", [{"sentence1": "x", "sentence2": "y", "score": 1}])
    table, source = load_split(spec, "test", [tmp_path / "a", tmp_path / "b"])
    assert source.endswith("b/STSB/test.jsonl") and table["score"] == [1]


def test_missing_data_offline_names_task_and_paths(registry, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(DataNotFoundError) as info:
        load_split(registry.task("BQ"), "test", [tmp_path])
    message = str(info.value)
    assert "BQ" in message and str(tmp_path / "BQ" / "test.jsonl") in message and "--data-dir" in message


def test_missing_column_is_named(registry, tmp_path):
    write_jsonl(tmp_path / "STSB" / "test.jsonl", [{"sentence1": "x", "text2": "y", "score": 1}])
    with pytest.raises(DataFormatError, match="sentence2"):
        sts.evaluate(registry.task("STSB"), "test", [tmp_path], FakeEmbedder())


@pytest.mark.parametrize("bad", [None, "high", float("nan")])
def test_bad_gold_scores_are_refused(registry, tmp_path, bad):
    rows = [{"sentence1": "x", "sentence2": "y", "score": 1}, {"sentence1": "a", "sentence2": "b", "score": bad}]
    path = tmp_path / "STSB" / "test.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(json.dumps(r, allow_nan=True) for r in rows))
    with pytest.raises(DataFormatError, match="row 1"):
        sts.evaluate(registry.task("STSB"), "test", [tmp_path], FakeEmbedder())


def test_malformed_jsonl_names_the_line(registry, tmp_path):
    path = tmp_path / "STSB" / "test.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text('{"sentence1": "x", "sentence2": "y", "score": 1}\n{broken\n')
    with pytest.raises(DataFormatError, match="line 2"):
        load_split(registry.task("STSB"), "test", [tmp_path])


def test_empty_file_is_refused(registry, tmp_path):
    path = tmp_path / "STSB" / "test.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("")
    with pytest.raises(DataFormatError, match="no rows"):
        load_split(registry.task("STSB"), "test", [tmp_path])


def test_parquet_and_csv_mirrors(registry, tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"sentence1": ["a", "bb"], "sentence2": ["a", "b"], "score": [1.0, 0.0]})
    (tmp_path / "p" / "STSB").mkdir(parents=True)
    frame.to_parquet(tmp_path / "p" / "STSB" / "test.parquet")
    (tmp_path / "c" / "STSB").mkdir(parents=True)
    frame.to_csv(tmp_path / "c" / "STSB" / "test.csv", index=False)
    from cmteb_eval.data.tables import numeric_column

    spec = registry.task("STSB")
    for folder in ("p", "c"):
        table, source = load_split(spec, "test", [tmp_path / folder])
        assert table["sentence1"] == ["a", "bb"]
        # CSV cells stay the strings they are; the score column is converted as numbers explicitly
        assert table["score"] == ([1.0, 0.0] if folder == "p" else ["1.0", "0.0"])
        assert numeric_column(table["score"], spec, "score", source) == [1.0, 0.0]
