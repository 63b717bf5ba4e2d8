"""Issue 18, data on the way in: the fingerprint hashes exactly the files read, CSV cells stay
strings, degenerate and out-of-range data refused, only regular files opened, cards and data
files with clear errors. Each test fails on the code before the fix."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from cmteb_eval.run import config, resume
from cmteb_eval.data.tables import load_split
from cmteb_eval.errors import DataFormatError, TaskCardError
from cmteb_eval.data.ranking import load_retrieval
from cmteb_eval.tasks.registry import Registry
from cmteb_eval.results.read import read_result
from cmteb_eval.run.runner import run_tasks
from cmteb_eval.tasks.card import load_card
from helpers_18 import CLASS_ROWS, PAIR_ROWS, STS_ROWS, finishes_within, retrieval_files, write_card, write_jsonl
from reliability_helpers import HashEmbedder, write_sts_task

def quiet(_):
    pass



# ------------------------------------------------------------------ the data fingerprint: exactly what is read


def test_the_fingerprint_follows_the_file_read_across_data_dirs(tmp_path):
    spec = load_card(write_card(tmp_path / "cards", "TinySTS", "STS"))
    first, second = tmp_path / "first", tmp_path / "second"
    write_jsonl(first / "TinySTS" / "validation.jsonl", STS_ROWS)  # first holds another split only
    data = write_jsonl(second / "TinySTS" / "test.jsonl", STS_ROWS)
    before = run_tasks(HashEmbedder(), "m", [spec], [first, second], tmp_path / "out", log=quiet)
    write_jsonl(data, [dict(r, score=float(4 - r["score"])) for r in STS_ROWS])  # the file actually read changes
    after = run_tasks(HashEmbedder(), "m", [spec], [first, second], tmp_path / "out", log=quiet)
    assert not after.outcomes[0].skipped
    assert after.outcomes[0].main_scores["test"] == pytest.approx(-before.outcomes[0].main_scores["test"])


def test_a_symlinked_qrels_folder_is_hashed(tmp_path):
    spec = load_card(write_card(tmp_path / "cards", "TinyRet", "Retrieval"))
    retrieval_files(tmp_path / "real")
    folder = tmp_path / "data" / "TinyRet"
    folder.mkdir(parents=True)
    for name in ("corpus.jsonl", "queries.jsonl"):
        shutil.copy(tmp_path / "real" / name, folder / name)
    (folder / "qrels").symlink_to(tmp_path / "real" / "qrels", target_is_directory=True)
    before = config.data_fingerprint(spec, [tmp_path / "data"])
    write_jsonl(tmp_path / "real" / "qrels" / "test.jsonl", [{"query-id": "q0", "corpus-id": "d5", "score": 1}])
    after = config.data_fingerprint(spec, [tmp_path / "data"])
    assert before["test"]["files"]["qrels"] != after["test"]["files"]["qrels"]


def test_a_local_dir_without_the_split_is_not_walked_or_hashed(tmp_path):
    big = tmp_path / "share"
    for i in range(60):
        (big / f"sub{i % 6}").mkdir(parents=True, exist_ok=True)
        (big / f"sub{i % 6}" / f"file{i}.txt").write_text("x" * 1000)
    os.mkfifo(big / "sub0" / "pipe")  # walking and hashing everything would block here
    card = write_card(tmp_path / "cards", "Elsewhere", "STS", local_dir=str(big))
    spec = load_card(card)
    finished, fingerprint = finishes_within(lambda: config.data_fingerprint(spec, []), 20, [big / "sub0" / "pipe"])
    assert finished and fingerprint == {"test": {"hub": "cmteb-eval/tests@bundled", "subset": None}}


def _recording_reads(monkeypatch):
    import cmteb_eval.data.tables as data_module
    import cmteb_eval.data.ranking as ranking_module

    reads: list[Path] = []
    original = data_module.read_table

    def recording(path):
        reads.append(Path(path).resolve())
        return original(path)

    monkeypatch.setattr(data_module, "read_table", recording)
    monkeypatch.setattr(ranking_module, "read_table", recording)
    return reads


def _layout(tmp_path: Path, layout: str):
    """A task whose files are spread over a card folder and two data dirs, with decoys earlier in the search."""
    first, second, local = tmp_path / "first", tmp_path / "second", "local"
    if layout == "sts":
        card = write_card(tmp_path, "T", "STS", local_dir=local)
        write_jsonl(tmp_path / local / "validation.jsonl", STS_ROWS[:4])  # every file's content differs
        write_jsonl(first / "T" / "dev.jsonl", STS_ROWS[:5])
        write_jsonl(second / "T" / "test.jsonl", STS_ROWS)
    elif layout == "classification":
        card = write_card(tmp_path, "T", "Classification", dataset_extra='train_split = "train"\n')
        write_jsonl(first / "T" / "train.jsonl", CLASS_ROWS)
        write_jsonl(second / "T" / "test.jsonl", CLASS_ROWS[:6])
        write_jsonl(second / "T" / "train.jsonl", CLASS_ROWS[:4])  # shadowed by first's
    elif layout == "retrieval":
        card = write_card(tmp_path, "T", "Retrieval")
        retrieval_files(first / "T")
        (first / "T" / "qrels" / "test.jsonl").unlink()  # incomplete: searched past
        retrieval_files(second / "T")
    elif layout == "reranking-mteb2":
        card = write_card(tmp_path, "T", "Reranking")
        from helpers_18 import top_ranked_file

        top_ranked_file(first / "T")  # candidates without corpus: searched past
        retrieval_files(second / "T")
        top_ranked_file(second / "T")
    else:  # reranking rows beside an mteb 2 layout in the same folder: the rows file wins
        card = write_card(tmp_path, "T", "Reranking")
        from helpers_18 import reranking_rows, top_ranked_file

        retrieval_files(first / "T")
        top_ranked_file(first / "T")
        reranking_rows(first / "T")
    return load_card(card), [first, second]


@pytest.mark.parametrize("layout", ["sts", "classification", "retrieval", "reranking-mteb2", "reranking-rows"])
def test_the_fingerprint_hashes_exactly_the_files_the_loader_reads(tmp_path, monkeypatch, layout):
    import hashlib
    import re

    from cmteb_eval.evaluators.classification import load_texts_and_labels
    from cmteb_eval.data.ranking import load_reranking

    spec, dirs = _layout(tmp_path, layout)
    fingerprint = config.data_fingerprint(spec, dirs)
    reads = _recording_reads(monkeypatch)
    for split in [*spec.eval_splits, *(["train"] if spec.type == "Classification" else [])]:
        if spec.type == "Retrieval":
            load_retrieval(spec, split, dirs)
        elif spec.type == "Reranking":
            load_reranking(spec, split, dirs)
        elif spec.type == "Classification":
            load_texts_and_labels(spec, split, dirs)
        else:
            load_split(spec, split, dirs)
    hashed = set(re.findall(r"[0-9a-f]{64}", json.dumps(fingerprint)))
    assert hashed == {hashlib.sha256(path.read_bytes()).hexdigest() for path in reads}


# ------------------------------------------------------------------ CSV: values as written


def test_csv_texts_are_read_as_the_strings_they_are(tmp_path):
    import csv

    spec = load_card(write_card(tmp_path, "Csv", "STS", local_dir="data"))
    texts = ["NA", "None", "007", "nan", "null", "#N/A", "", "TRUE", "1e5", "a, \"quoted\"\nline"]
    (tmp_path / "data").mkdir()
    with (tmp_path / "data" / "test.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence1", "sentence2", "score"])
        for i, text in enumerate(texts):
            writer.writerow([text, f"other {i}", str(i % 4)])
    table, _ = load_split(spec, "test", [])
    assert table["sentence1"] == texts
    summary = run_tasks(HashEmbedder(), "m", [spec], [], tmp_path / "out", log=quiet)
    assert not summary.failed, summary.failed[0].error


def test_csv_ids_keep_their_leading_zeros(tmp_path):
    spec = load_card(write_card(tmp_path, "CsvRet", "Retrieval", local_dir="data"))
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "corpus.csv").write_text("id,text\n007,seven with zeros\n7,seven\n", encoding="utf-8")
    (folder / "queries.csv").write_text("id,text\nNA,a query named NA\n", encoding="utf-8")
    (folder / "qrels").mkdir()
    (folder / "qrels" / "test.csv").write_text("query-id,corpus-id,score\nNA,007,1\n", encoding="utf-8")
    data = load_retrieval(spec, "test", [])
    assert data.corpus_ids == ["007", "7"] and data.query_ids == ["NA"] and data.qrels == {"NA": {"007": 1}}


def test_csv_integer_labels_are_the_integers_a_json_file_holds(tmp_path):
    spec = load_card(write_card(tmp_path, "CsvCls", "Classification", local_dir="data",
                                dataset_extra='train_split = "train"\n'))
    write_jsonl(tmp_path / "data" / "train.jsonl", CLASS_ROWS)
    (tmp_path / "data" / "test.csv").write_text("text,label\n" + "".join(f"text {i} cat,{i % 2}\n" for i in range(6)))
    summary = run_tasks(HashEmbedder(), "m", [spec], [], tmp_path / "out", log=quiet)
    assert not summary.failed, summary.failed[0].error
    assert "ap" in read_result(summary.outcomes[0].path)["scores"]["test"][0]  # integer labels: AP is reported


# ------------------------------------------------------------------ degenerate and out-of-range data


def test_pair_classification_with_one_class_is_refused(tmp_path):
    spec = load_card(write_card(tmp_path, "OneClass", "PairClassification", local_dir="data"))
    write_jsonl(tmp_path / "data" / "test.jsonl", [dict(r, label=1) for r in PAIR_ROWS])
    summary = run_tasks(HashEmbedder(), "m", [spec], [], tmp_path / "out", log=quiet)
    assert "needs both classes" in summary.outcomes[0].error
    assert not (tmp_path / "out" / "m" / "no_revision_available" / "OneClass.json").exists()


# ------------------------------------------------------------------ hangs: regular files only


def test_a_fifo_named_as_the_data_file_is_refused_not_waited_on(tmp_path):
    spec = load_card(write_sts_task(tmp_path, "Pipe"))
    data = spec.dataset.local_dir / "test.jsonl"
    data.unlink()
    os.mkfifo(data)
    finished, summary = finishes_within(
        lambda: run_tasks(HashEmbedder(), "m", [spec], [], tmp_path / "out", log=quiet), 20, [data])
    assert finished and "FIFO" in summary.outcomes[0].error


def test_a_fifo_in_the_output_folder_is_set_aside_not_waited_on(tmp_path):
    spec = load_card(write_sts_task(tmp_path, "Pipe"))
    (tmp_path / "out" / "m" / "no_revision_available").mkdir(parents=True)
    fifo = tmp_path / "out" / "m" / "no_revision_available" / "Pipe.json"
    os.mkfifo(fifo)
    finished, summary = finishes_within(
        lambda: run_tasks(HashEmbedder(), "m", [spec], [], tmp_path / "out", log=quiet), 20, [fifo])
    assert finished and not summary.failed and read_result(fifo)["task_name"] == "Pipe"


def test_a_fifo_named_like_a_cache_shard_is_skipped(tmp_path):
    from cmteb_eval.models.cache.store import EmbeddingCache

    namespace = EmbeddingCache(tmp_path).namespace({"model": "x"})
    namespace.folder.mkdir(parents=True)
    fifo = namespace.folder / f"{'ab' * 32}.npz"
    os.mkfifo(fifo)
    with pytest.warns(UserWarning, match="damaged"):
        finished, value = finishes_within(lambda: namespace.lookup(["a", "b"]), 20, [fifo])
    assert finished and value == ({}, [0, 1])


def test_a_fifo_given_as_a_card_is_refused(tmp_path):
    fifo = tmp_path / "card.toml"
    os.mkfifo(fifo)
    finished, value = finishes_within(lambda: load_card(fifo), 20, [fifo])
    assert finished and isinstance(value, TaskCardError) and "FIFO" in str(value)


# ------------------------------------------------------------------ gold scores beyond float64


@pytest.mark.parametrize("raw", ["1" + "0" * 400, "-1" + "0" * 400])
def test_a_gold_score_beyond_float_range_is_a_data_error(tmp_path, raw):
    spec = load_card(write_sts_task(tmp_path, "Huge"))
    data = spec.dataset.local_dir / "test.jsonl"
    data.write_text(data.read_text().replace('"score": 1.0', f'"score": {raw}', 1))
    summary = run_tasks(HashEmbedder(), "m", [spec], [], tmp_path / "out", log=quiet)
    assert "not a finite number" in summary.outcomes[0].error and "unexpected" not in summary.outcomes[0].error


def test_gold_scores_near_the_float_limit_are_named_not_blamed_on_degenerate_data(tmp_path):
    spec = load_card(write_sts_task(tmp_path, "Near"))
    data = spec.dataset.local_dir / "test.jsonl"
    data.write_text(data.read_text().replace('"score": 1.0', '"score": 1e308').replace('"score": 2.0', '"score": -1e308'))
    summary = run_tasks(HashEmbedder(), "m", [spec], [], tmp_path / "out", log=quiet)
    error = summary.outcomes[0].error
    assert "too large to compute with" in error and "degenerate" not in error


# ------------------------------------------------------------------ cards and data files


def test_long_task_and_split_names_are_refused_when_the_card_loads(tmp_path):
    with pytest.raises(TaskCardError, match="at most 128"):
        load_card(write_card(tmp_path, "T" * 240, "STS"))
    with pytest.raises(TaskCardError, match="at most 128"):
        load_card(write_card(tmp_path, "Short", "STS", eval_splits=("s" * 251,)))
    assert load_card(write_card(tmp_path, "T" * 128, "STS", eval_splits=("s" * 128,))).name == "T" * 128


def test_a_utf8_error_names_its_line(tmp_path):
    spec = load_card(write_card(tmp_path, "Bytes", "STS", local_dir="data"))
    lines = [json.dumps(r).encode() for r in STS_ROWS]
    lines[2] = lines[2].replace(b"cat", b"c\xffat")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "test.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(DataFormatError, match="line 3: not UTF-8"):
        load_split(spec, "test", [])
    (tmp_path / "data" / "test.jsonl").unlink()
    (tmp_path / "data" / "test.csv").write_bytes(b"sentence1,sentence2,score\na,b,1\nc,d,2\ne\xfe,f,3\n")
    with pytest.raises(DataFormatError, match="line 4: not UTF-8"):
        load_split(spec, "test", [])


def test_a_duplicate_corpus_id_is_named(tmp_path):
    spec = load_card(write_card(tmp_path, "Dup", "Retrieval", local_dir="data"))
    retrieval_files(tmp_path / "data")
    write_jsonl(tmp_path / "data" / "corpus.jsonl", [{"id": "d1", "text": "a"}, {"id": "doc-7", "text": "b"},
                                                     {"id": "doc-7", "text": "c"}])
    with pytest.raises(DataFormatError, match="'doc-7'"):
        load_retrieval(spec, "test", [])


def test_two_user_cards_of_one_name_are_refused(tmp_path):
    a = write_card(tmp_path / "a", "Mine", "STS")
    b = write_card(tmp_path / "b", "Mine", "STS")
    with pytest.raises(TaskCardError) as caught:
        Registry.load([a, b])
    assert str(a) in str(caught.value) and str(b) in str(caught.value)
    assert Registry.load([a, a]).task("Mine").card_path == a  # the same file twice is one card
    assert Registry.load([a]).task("Mine").card_path == a


def test_spec_replace_keeps_working_with_the_fingerprint(tmp_path):
    """A spec changed in code (dataclasses.replace) is searched like a loaded one."""
    spec = load_card(write_sts_task(tmp_path, "Rep"))
    moved = replace(spec, dataset=replace(spec.dataset, local_dir=None))
    assert config.data_fingerprint(moved, [])["test"]["hub"] == "cmteb-eval/tests@bundled"
    assert config.data_fingerprint(spec, [])["test"]["layout"] == "rows"
