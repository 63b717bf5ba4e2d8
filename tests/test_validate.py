"""The reusable data checks (validate.py) that evaluators call after loading a split."""

import math

import pytest

from cmteb_eval.errors import DataFormatError
from cmteb_eval.data.checks import check_finite_scores, check_ids_present, check_min_rows, check_not_constant, check_qrels_refs, check_unique_ids

WHERE = dict(task="T", source="corpus.jsonl")


def test_unique_ids_pass_and_duplicates_are_named():
    check_unique_ids(["d1", "d2", 3], what="corpus id", **WHERE)
    with pytest.raises(DataFormatError) as err:
        check_unique_ids(["d1", "d2", "d1", "d3", "d3", "d3"], what="corpus id", **WHERE)
    assert "corpus.jsonl has 2 duplicate corpus id(s): 'd1', 'd3'" in str(err.value)
    assert "appear once" in err.value.hint


def test_many_duplicates_are_summarised():
    with pytest.raises(DataFormatError, match="and 5 more"):
        check_unique_ids([i // 2 for i in range(20)], what="query id", **WHERE)


@pytest.mark.parametrize("bad", [None, "", "  ", math.nan])
def test_missing_ids(bad):
    with pytest.raises(DataFormatError, match="row 1 of corpus.jsonl has no corpus id"):
        check_ids_present(["a", bad], what="corpus id", **WHERE)


QRELS = {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2}}


def test_qrels_that_name_known_ids_pass():
    check_qrels_refs(QRELS, query_ids=["q1", "q2", "q3"], doc_ids=["d1", "d2", "d3"], **WHERE)


def test_qrels_naming_an_unknown_query():
    with pytest.raises(DataFormatError, match=r"name 1 query id\(s\) that are not among the queries: 'q2'"):
        check_qrels_refs(QRELS, query_ids=["q1"], doc_ids=["d1", "d2", "d3"], **WHERE)


def test_qrels_naming_an_unknown_document_mentions_id_types():
    with pytest.raises(DataFormatError) as err:
        check_qrels_refs({"q1": {1: 1}}, query_ids=["q1"], doc_ids=["1"], **WHERE)
    assert "document id(s) that are not in the corpus: 1" in str(err.value)
    assert "'1' and 1 differ" in err.value.hint


@pytest.mark.parametrize("relevance", ["high", None, math.nan, math.inf, True])
def test_qrels_relevance_must_be_a_finite_number(relevance):
    with pytest.raises(DataFormatError, match="not a finite number"):
        check_qrels_refs({"q1": {"d1": relevance}}, query_ids=["q1"], doc_ids=["d1"], **WHERE)


def test_qrels_with_nothing_relevant():
    with pytest.raises(DataFormatError, match="mark no document relevant"):
        check_qrels_refs({"q1": {"d1": 0}}, query_ids=["q1"], doc_ids=["d1"], **WHERE)


def test_min_rows_and_constant_gold():
    check_min_rows(3, 3, why="x", **WHERE)
    with pytest.raises(DataFormatError, match="has 1 row"):
        check_min_rows(1, 3, why="x", **WHERE)
    check_not_constant([1.0, 2.0], role="gold score", **WHERE)
    with pytest.raises(DataFormatError, match="every gold score in corpus.jsonl is 2.0"):
        check_not_constant([2.0, 2.0, 2.0], role="gold score", **WHERE)


def test_finite_scores():
    check_finite_scores({"a": 0.5, "b": 1}, task="T", split="test")
    with pytest.raises(DataFormatError, match="'b' came out NaN or infinite"):
        check_finite_scores({"a": 0.5, "b": math.nan}, task="T", split="test")
