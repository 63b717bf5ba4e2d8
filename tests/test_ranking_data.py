"""Retrieval and reranking data: the offline layout, C-MTEB's hub layout (separate -qrels dataset),
the mteb 2 reranking layout, errors, and identical texts encoded once."""

import json

import pytest

from cmteb_eval.models.pair import ModelPair
from cmteb_eval.errors import DataFormatError, DataNotFoundError
from cmteb_eval.data.ranking import load_reranking, load_retrieval
from cmteb_eval.tasks.registry import Registry


def write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_offline_layout_with_titles(tmp_path):
    spec = Registry.load().task("DuRetrieval")
    folder = tmp_path / "DuRetrieval"
    write(folder / "corpus.jsonl", [{"id": "d1", "title": "Panda", "text": "a bear"}, {"id": 2, "text": "cat"}])
    write(folder / "queries.jsonl", [{"id": "q1", "text": "panda?"}, {"id": "q2", "text": "unjudged"}])
    write(folder / "qrels" / "dev.jsonl", [{"query-id": "q1", "corpus-id": "d1", "score": 1},
                                           {"query-id": "q1", "corpus-id": "2", "score": 0}])
    data = load_retrieval(spec, "dev", [tmp_path])
    assert data.corpus_ids == ["d1", "2"] and data.corpus_texts == ["Panda a bear", "cat"]  # mteb: title + " " + text
    assert data.query_ids == ["q1"]  # queries without judgements are not scored
    assert data.qrels == {"q1": {"d1": 1, "2": 0}}
    assert data.source == str(folder)


def test_offline_layout_accepts_cmteb_column_names(tmp_path):
    spec = Registry.load().task("T2Retrieval")
    folder = tmp_path / "T2Retrieval"
    write(folder / "corpus.jsonl", [{"id": "d1", "text": "x"}])
    write(folder / "queries.jsonl", [{"id": "q1", "text": "y"}])
    write(folder / "qrels" / "dev.jsonl", [{"qid": "q1", "pid": "d1", "score": 2}])
    assert load_retrieval(spec, "dev", [tmp_path]).qrels == {"q1": {"d1": 2}}


def test_cmteb_hub_layout_reads_the_separate_qrels_dataset_at_its_revision(monkeypatch):
    import datasets

    spec = Registry.load().task("CmedqaRetrieval")
    calls = []

    def fake_load_dataset(hub_id, subset=None, revision=None, split=None):
        calls.append((hub_id, subset, revision, split))
        if hub_id == "C-MTEB/CmedqaRetrieval-qrels":
            return datasets.Dataset.from_dict({"qid": ["q1"], "pid": ["d1"], "score": [1]})
        if split == "corpus":
            return datasets.Dataset.from_dict({"id": ["d1", "d2"], "text": ["a", "b"]})
        return datasets.Dataset.from_dict({"id": ["q1"], "text": ["q"]})

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    from cmteb_eval.data import hub

    monkeypatch.setattr(hub, "hub_unreachable", lambda: None)  # the fake hub above answers
    data = load_retrieval(spec, "dev", [])
    assert ("C-MTEB/CmedqaRetrieval", None, spec.dataset.revision, "corpus") in calls
    assert ("C-MTEB/CmedqaRetrieval-qrels", None, "279d737f36c731c8ff6e2b055f31fe02216fa23d", "dev") in calls
    assert data.qrels == {"q1": {"d1": 1}} and data.corpus_ids == ["d1", "d2"]
    assert "C-MTEB/CmedqaRetrieval-qrels@279d737f" in data.source


def test_every_cmteb_retrieval_card_pins_its_qrels():
    for spec in Registry.load().select([], ["cmteb"], "Retrieval"):
        assert spec.dataset.qrels_hub_id == spec.dataset.hub_id + "-qrels"
        assert spec.dataset.qrels_revision and len(spec.dataset.qrels_revision) == 40, spec.name


def test_missing_retrieval_data_names_the_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataNotFoundError) as err:
        load_retrieval(Registry.load().task("DuRetrieval"), "dev", [tmp_path])
    assert str(tmp_path / "DuRetrieval" / "qrels" / "dev.jsonl") in str(err.value)


def test_bad_relevance_is_a_clear_error(tmp_path):
    folder = tmp_path / "DuRetrieval"
    write(folder / "corpus.jsonl", [{"id": "d1", "text": "x"}])
    write(folder / "queries.jsonl", [{"id": "q1", "text": "y"}])
    write(folder / "qrels" / "dev.jsonl", [{"query-id": "q1", "corpus-id": "d1", "score": "high"}])
    with pytest.raises(DataFormatError, match="relevance 'high'"):
        load_retrieval(Registry.load().task("DuRetrieval"), "dev", [tmp_path])


def test_reranking_rows_and_mteb2_layout_agree(tmp_path):
    spec = Registry.load().task("T2Reranking")
    write(tmp_path / "rows" / "T2Reranking" / "dev.jsonl", [
        {"query": "q text", "positive": ["p1"], "negative": ["n1", "n2"]},
        {"query": "lonely", "positive": ["p"], "negative": []}])
    rows = load_reranking(spec, "dev", [tmp_path / "rows"])
    assert rows.layout == "cmteb" and rows.skipped == 1 and len(rows.queries) == 1
    assert rows.queries[0].candidate_ids == ["apositive_dev_query0_00000", "negative_dev_query0_00000",
                                             "negative_dev_query0_00001"]
    folder = tmp_path / "v2" / "T2Reranking"
    write(folder / "corpus.jsonl", [{"id": c, "text": t} for c, t in [("a", "p1"), ("b", "n1"), ("c", "n2")]])
    write(folder / "queries.jsonl", [{"id": "x", "text": "q text"}])
    write(folder / "qrels" / "dev.jsonl", [{"query-id": "x", "corpus-id": "a", "score": 1}])
    write(folder / "top_ranked" / "dev.jsonl", [{"query-id": "x", "corpus-ids": ["a", "b", "c"]}])
    v2 = load_reranking(spec, "dev", [tmp_path / "v2"])
    assert v2.layout == "mteb2"
    assert v2.queries[0].candidate_texts == rows.queries[0].candidate_texts
    assert v2.queries[0].relevance == [1, 0, 0]


def test_identical_texts_are_encoded_once(tmp_path, tiny_bert):
    from cmteb_eval.evaluators import reranking
    from cmteb_eval.models.encoders.embedder import load_embedder

    write(tmp_path / "T2Reranking" / "dev.jsonl", [
        {"query": "the cat", "positive": ["mat", "a cat"], "negative": ["dog", "mat"]},
        {"query": "the cat", "positive": ["dog"], "negative": ["mat", "hi"]}])
    embedder = load_embedder(tiny_bert, pooling="cls", device="cpu")
    seen = []
    original = embedder._encode_unique
    embedder._encode_unique = lambda texts: seen.append(list(texts)) or original(texts)
    reranking.evaluate(Registry.load().task("T2Reranking"), "dev", [tmp_path], ModelPair(embedder=embedder))
    assert sorted(len(batch) for batch in seen) == [1, 4]  # one distinct query; mat, a cat, dog, hi


@pytest.mark.parametrize("qrels, corpus_extra, message", [
    ([{"query-id": "q9", "corpus-id": "d1", "score": 1}], [], "query id"),
    ([{"query-id": "q1", "corpus-id": "d9", "score": 1}], [], "not in the corpus"),
])
def test_qrels_naming_unknown_queries_or_documents_are_errors(tmp_path, qrels, corpus_extra, message):
    folder = tmp_path / "DuRetrieval"
    write(folder / "corpus.jsonl", [{"id": "d1", "text": "x"}])
    write(folder / "queries.jsonl", [{"id": "q1", "text": "y"}])
    write(folder / "qrels" / "dev.jsonl", [{"query-id": "q1", "corpus-id": "d1", "score": 1}, *qrels])
    spec = Registry.load().task("DuRetrieval")
    with pytest.raises(DataFormatError, match=message) as info:
        load_retrieval(spec, "dev", [tmp_path])
    assert "allow_dangling_qrels" in str(info.value)


def test_duplicate_query_ids_are_errors(tmp_path):
    folder = tmp_path / "DuRetrieval"
    write(folder / "corpus.jsonl", [{"id": "d1", "text": "x"}])
    write(folder / "queries.jsonl", [{"id": "q1", "text": "y"}, {"id": "q1", "text": "z"}])
    write(folder / "qrels" / "dev.jsonl", [{"query-id": "q1", "corpus-id": "d1", "score": 1}])
    with pytest.raises(DataFormatError, match="duplicate query id"):
        load_retrieval(Registry.load().task("DuRetrieval"), "dev", [tmp_path])


def test_dangling_qrels_can_be_allowed_by_the_card(tmp_path):
    import dataclasses

    folder = tmp_path / "DuRetrieval"
    write(folder / "corpus.jsonl", [{"id": "d1", "text": "x"}])
    write(folder / "queries.jsonl", [{"id": "q1", "text": "y"}])
    write(folder / "qrels" / "dev.jsonl", [{"query-id": "q1", "corpus-id": "d1", "score": 1},
                                           {"query-id": "q9", "corpus-id": "d1", "score": 1}])
    spec = Registry.load().task("DuRetrieval")
    lenient = dataclasses.replace(spec, scoring={**spec.scoring, "allow_dangling_qrels": True})
    assert load_retrieval(lenient, "dev", [tmp_path]).qrels == {"q1": {"d1": 1}}
