"""Issue 18: no result overwritten by another model's, no data changed on the way in, no hang,
and a clear one-paragraph error for each bad input the sweep found. Each test fails on the
code before the fix."""

from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from cmteb_eval import resume
from cmteb_eval.cli import main
from cmteb_eval.data import load_split
from cmteb_eval.errors import DataFormatError, ModelLoadError, TaskCardError, UserError
from cmteb_eval.ranking_data import load_retrieval
from cmteb_eval.registry import Registry
from cmteb_eval.results import read_result, safe_name
from cmteb_eval.runner import run_tasks
from cmteb_eval.taskspec import load_card
from helpers_18 import (CLASS_ROWS, PAIR_ROWS, STS_ROWS, finishes_within, retrieval_files, tiny_bert_with_vocab,
                        write_card, write_jsonl)
from reliability_helpers import HashEmbedder, write_sts_task

REPO = Path(__file__).resolve().parent.parent


def quiet(_):
    pass


class Model(HashEmbedder):
    """A hash embedder that says which model (path or hub id) and weights it is."""

    def __init__(self, model: str, weights: str | None = None, **kw) -> None:
        super().__init__(**kw)
        self.model, self.weights = model, weights

    def describe(self, task=None):
        return {**super().describe(task), "model": self.model, "weights_fingerprint": self.weights}


# ------------------------------------------------------------------ one model per result folder


def test_two_checkpoints_named_final_never_overwrite_each_other(tmp_path, capsys):
    from conftest import write_tiny_bert

    first, second = write_tiny_bert(tmp_path / "exp1" / "final"), write_tiny_bert(tmp_path / "exp2" / "final", seed=1)
    out = tmp_path / "out"
    common = ["run", "--pooling", "cls", "--tasks", "DemoSTSEn", "--output-dir", str(out), "--no-cache"]
    assert main([*common, "--model", str(first)]) == 0
    kept = out / "final" / "DemoSTSEn.json"
    before = kept.read_bytes()
    capsys.readouterr()
    assert main([*common, "--model", str(second)]) == 2
    err = capsys.readouterr().err
    assert str(first) in err and str(second) in err and "--model-name" in err and "Traceback" not in err
    assert kept.read_bytes() == before  # the first model's result is untouched
    assert main([*common, "--model", str(second), "--model-name", "exp2-final"]) == 0
    assert read_result(out / "exp2-final" / "DemoSTSEn.json")["harness"]["model"]["model"] == str(second)


def test_another_model_under_the_same_name_is_refused_before_anything_runs(tmp_path):
    spec = load_card(write_sts_task(tmp_path, "Own"))
    run_tasks(Model("/runs/a", "w1"), "org__name", [spec], [], tmp_path / "out", log=quiet)
    path = tmp_path / "out" / "org__name" / "Own.json"
    before = path.read_bytes()
    intruder = Model("org/name")  # a hub id whose mteb folder name is the same
    with pytest.raises(UserError, match="--model-name") as caught:
        run_tasks(intruder, "org/name", [spec], [], tmp_path / "out", log=quiet)
    assert "/runs/a" in str(caught.value) and "org/name" in str(caught.value)
    assert intruder.calls == 0 and path.read_bytes() == before


def test_the_same_model_retrained_in_place_or_moved_keeps_its_folder(tmp_path):
    spec = load_card(write_sts_task(tmp_path, "Own"))
    out = tmp_path / "out"
    run_tasks(Model("/runs/a", "w1"), "final", [spec], [], out, log=quiet)
    retrained = run_tasks(Model("/runs/a", "w2"), "final", [spec], [], out, log=quiet)  # same path, new weights
    moved = run_tasks(Model("/elsewhere/a", "w2"), "final", [spec], [], out, log=quiet)  # same weights, new path
    assert not retrained.failed and not moved.failed
    assert read_result(out / "final" / "Own.json")["harness"]["model_identity"]["model"]["model"] == "/elsewhere/a"


def test_model_names_stay_distinct_and_readable():
    assert safe_name("my model") != safe_name("my_model") == "my_model"
    assert safe_name("模型一") == "模型一" and safe_name("模型二") == "模型二"  # not collapsed to 'model'
    assert safe_name("中文/模型") == "中文__模型"
    assert safe_name("!!!") != safe_name("???")
    assert len(safe_name("模" * 200).encode("utf-8")) <= 120  # bytes: the folder name fits the file system


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
    before = resume.data_fingerprint(spec, [tmp_path / "data"])
    write_jsonl(tmp_path / "real" / "qrels" / "test.jsonl", [{"query-id": "q0", "corpus-id": "d5", "score": 1}])
    after = resume.data_fingerprint(spec, [tmp_path / "data"])
    assert before["test"]["files"]["qrels"] != after["test"]["files"]["qrels"]


def test_a_local_dir_without_the_split_is_not_walked_or_hashed(tmp_path):
    big = tmp_path / "share"
    for i in range(60):
        (big / f"sub{i % 6}").mkdir(parents=True, exist_ok=True)
        (big / f"sub{i % 6}" / f"file{i}.txt").write_text("x" * 1000)
    os.mkfifo(big / "sub0" / "pipe")  # walking and hashing everything would block here
    card = write_card(tmp_path / "cards", "Elsewhere", "STS", local_dir=str(big))
    spec = load_card(card)
    finished, fingerprint = finishes_within(lambda: resume.data_fingerprint(spec, []), 20, [big / "sub0" / "pipe"])
    assert finished and fingerprint == {"test": {"hub": "cmteb-eval/tests@bundled", "subset": None}}


def _recording_reads(monkeypatch):
    import cmteb_eval.data as data_module
    import cmteb_eval.ranking_data as ranking_module

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
    from cmteb_eval.ranking_data import load_reranking

    spec, dirs = _layout(tmp_path, layout)
    fingerprint = resume.data_fingerprint(spec, dirs)
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


# ------------------------------------------------------------------ degenerate tasks, tolerances, checksums


def test_pair_classification_with_one_class_is_refused(tmp_path):
    spec = load_card(write_card(tmp_path, "OneClass", "PairClassification", local_dir="data"))
    write_jsonl(tmp_path / "data" / "test.jsonl", [dict(r, label=1) for r in PAIR_ROWS])
    summary = run_tasks(HashEmbedder(), "m", [spec], [], tmp_path / "out", log=quiet)
    assert "needs both classes" in summary.outcomes[0].error
    assert not (tmp_path / "out" / "m" / "OneClass.json").exists()


@pytest.mark.parametrize("value", ["inf", "nan", "-0.5"])
def test_reproduce_and_check_follow_one_rule_for_tolerances(tmp_path, capsys, value):
    for command in (["reproduce", str(tmp_path)], ["check", "--baseline", str(tmp_path), "--candidate", str(tmp_path)]):
        assert main([*command, "--tolerance", value]) == 2
        err = capsys.readouterr().err
        assert "--tolerance must be a finite, non-negative number of points" in err, err


def test_reproduce_refuses_an_infinite_tolerance_through_the_api():
    from cmteb_eval.reproduce import reproduce
    from cmteb_eval.scoreset import ModelScores

    empty = ModelScores("m", "run", "here")
    with pytest.raises(UserError, match="finite, non-negative"):
        reproduce(empty, empty, float("inf"))


def _two_runs(tmp_path):
    spec = load_card(write_sts_task(tmp_path, "Gate"))
    for side in ("base", "cand"):
        run_tasks(HashEmbedder(), "m", [spec], [], tmp_path / side, log=quiet)
    return spec, tmp_path / "base" / "m", tmp_path / "cand" / "m"


def test_a_result_without_its_checksum_is_refused_by_check_as_by_run(tmp_path, capsys):
    spec, base, cand = _two_runs(tmp_path)
    path = cand / "Gate.json"
    payload = json.loads(path.read_text())
    del payload["harness"]["checksum"]
    payload["scores"]["test"][0]["main_score"] += 0.05
    path.write_text(json.dumps(payload))
    assert main(["check", "--baseline", str(base), "--candidate", str(cand)]) == 2
    assert "no checksum" in capsys.readouterr().err
    config = payload["harness"]["config"]
    assert resume.inspect_result(path, spec, config).state == "damaged"  # the same verdict as run's


def test_a_file_without_our_harness_is_foreign_and_labelled_so(tmp_path, capsys):
    from cmteb_eval.scoreset import load_one_model

    _, base, cand = _two_runs(tmp_path)
    path = cand / "Gate.json"
    payload = json.loads(path.read_text())
    del payload["harness"]
    path.write_text(json.dumps(payload))
    model = load_one_model(cand, "candidate")
    assert model.tasks["Gate"].foreign and "foreign" in " ".join(model.notes)
    assert main(["check", "--baseline", str(base), "--candidate", str(cand)]) == 2  # never passes as ours
    assert "different protocol" in capsys.readouterr().err


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
    (tmp_path / "out" / "m").mkdir(parents=True)
    fifo = tmp_path / "out" / "m" / "Pipe.json"
    os.mkfifo(fifo)
    finished, summary = finishes_within(
        lambda: run_tasks(HashEmbedder(), "m", [spec], [], tmp_path / "out", log=quiet), 20, [fifo])
    assert finished and not summary.failed and read_result(fifo)["task_name"] == "Pipe"


def test_a_fifo_named_like_a_cache_shard_is_skipped(tmp_path):
    from cmteb_eval.cache import EmbeddingCache

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


# ------------------------------------------------------------------ an unusable cache, a full output disk


def _unusable_cache(tmp_path, kind, monkeypatch):
    import cmteb_eval.cache as cache_module

    root = tmp_path / "cache"
    if kind == "a file":
        root.write_text("not a folder")
    elif kind == "a full disk":
        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(cache_module, "write_shard", full)
    elif kind == "read-only":  # (tests may run as root, whom a chmod does not stop)
        real = cache_module.tempfile.mkstemp

        def refused(*args, **kwargs):
            if str(kwargs.get("dir", "")).startswith(str(root)):
                raise PermissionError(errno.EACCES, "Permission denied")
            return real(*args, **kwargs)
        monkeypatch.setattr(cache_module.tempfile, "mkstemp", refused)
    return root


@pytest.mark.parametrize("kind", ["a file", "a full disk", "read-only"])
def test_an_unusable_cache_falls_back_to_running_without_it(tmp_path, tiny_bert, capsys, monkeypatch, kind):
    root = _unusable_cache(tmp_path, kind, monkeypatch)
    out = tmp_path / "out"
    assert main(["run", "--model", str(tiny_bert), "--pooling", "cls", "--tasks", "DemoSTSEn", "DemoSTSZh",
                 "--cache-dir", str(root), "--output-dir", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("cannot be used") == 1 and "--no-cache" in err and "--cache-dir" in err
    assert {p.name for p in (out / safe_name(str(tiny_bert))).glob("*.json")} == {"DemoSTSEn.json", "DemoSTSZh.json"}


def test_a_folder_named_like_a_shard_does_not_break_the_cache(tmp_path, tiny_bert):
    from cmteb_eval.cache import EmbeddingCache
    from cmteb_eval.models.embedder import load_embedder

    cache = EmbeddingCache(tmp_path / "cache")
    embedder = load_embedder(tiny_bert, pooling="cls", cache=cache)
    first = embedder.encode(["the cat", "a dog"])
    folder = next(iter(cache._namespaces.values())).folder
    (folder / f"{'cd' * 32}.npz").mkdir()
    fresh = load_embedder(tiny_bert, pooling="cls", cache=EmbeddingCache(tmp_path / "cache"))
    with pytest.warns(UserWarning, match="damaged"):
        again = fresh.encode(["the cat", "a dog"])
    assert (again == first).all()


def test_a_full_output_disk_names_the_file_and_keeps_finished_results(tmp_path, monkeypatch):
    import cmteb_eval.results as results_module

    specs = [load_card(write_sts_task(tmp_path / "cards", f"Disk{i}", seed=i)) for i in range(3)]
    calls = {"n": 0}
    real = results_module.tempfile.mkstemp

    def filling(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 2:  # the first task's items and result files fit, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(results_module.tempfile, "mkstemp", filling)
    with pytest.raises(UserError) as caught:
        run_tasks(HashEmbedder(), "m", specs, [], tmp_path / "out", log=quiet)
    message = str(caught.value)
    assert "No space left on device" in message and str(tmp_path / "out" / "m") in message
    assert read_result(tmp_path / "out" / "m" / "Disk0.json")["task_name"] == "Disk0"


# ------------------------------------------------------------------ model arguments checked first


@pytest.mark.parametrize("value", ["129", "100000000000000000000"])
def test_a_max_length_beyond_the_models_positions_is_refused(tiny_bert, tmp_path, capsys, value):
    assert main(["run", "--model", str(tiny_bert), "--pooling", "cls", "--tasks", "DemoSTSEn", "--max-length", value,
                 "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "max_position_embeddings 128" in err and "--max-length 128 or less" in err


def test_a_max_length_that_leaves_no_room_for_text_is_refused(tmp_path, capsys):
    tiny_bert = tiny_bert_with_vocab(tmp_path / "spread", initializer_range=0.5)  # words get distinct vectors
    words = ["cat", "dog", "sat", "mat", "panda", "bear", "china", "giant"]
    card = write_card(tmp_path, "FirstWord", "STS", local_dir="data")
    write_jsonl(tmp_path / "data" / "test.jsonl", [{"sentence1": f"{words[i]} is here", "sentence2": words[(3 * i) % 8],
                                                    "score": float(i % 5)} for i in range(8)])
    common = ["run", "--model", str(tiny_bert), "--pooling", "cls", "--task-file", str(card), "--tasks", "FirstWord",
              "--output-dir", str(tmp_path / "out"), "--no-cache"]
    assert main([*common, "--max-length", "2"]) == 2  # [CLS] [SEP] only: every text alike
    assert "leaves no room for text" in capsys.readouterr().err
    assert main([*common, "--max-length", "3"]) == 0  # one word of text: meaningful here
    capsys.readouterr()
    same = write_card(tmp_path, "SameWord", "STS", local_dir="same")  # every text starts with 'the'
    write_jsonl(tmp_path / "same" / "test.jsonl", [{"sentence1": f"the {w}", "sentence2": f"the {w} sat",
                                                    "score": float(i % 5)} for i, w in enumerate(words)])
    assert main([*common[:5], "--task-file", str(same), "--tasks", "SameWord", *common[-3:], "--max-length", "3"]) == 1
    assert "the same cosine similarity" in capsys.readouterr().err  # not blamed on the data


@pytest.mark.parametrize("device", ["tpu", "nonsense:0", "cuda", "cuda:7"])
def test_a_device_that_is_not_there_is_refused_before_loading(tiny_bert, tmp_path, capsys, monkeypatch, device):
    import torch

    from cmteb_eval.models import loading

    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.device_count() > 7:
        pytest.skip("this machine has that GPU")

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded before the device was checked")

    monkeypatch.setattr(loading, "read_config_fields", no_loading)
    assert main(["run", "--model", str(tiny_bert), "--pooling", "cls", "--tasks", "DemoSTSEn", "--device", device,
                 "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"--device {device}" in err.replace("'", "") and "Traceback" not in err


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


def test_a_remote_code_model_fails_naming_trust_remote_code(tmp_path, tiny_bert):
    from cmteb_eval.models import loading
    from cmteb_eval.models.embedder import load_embedder

    folder = tmp_path / "custom"
    shutil.copytree(tiny_bert, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="my-own-encoder", auto_map={"AutoModel": "modeling_mine.MyEncoder"})
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="--trust-remote-code"):
        load_embedder(folder, pooling="cls")
    hub = loading._hub_error("org/custom", None, ValueError("... set the option `trust_remote_code=True` ..."))
    assert "--trust-remote-code" in str(hub)


def test_a_token_id_outside_the_vocabulary_is_a_clear_error(tmp_path):
    from cmteb_eval.models.embedder import load_embedder

    folder = tiny_bert_with_vocab(tmp_path / "mismatched")
    with (folder / "vocab.txt").open("a", encoding="utf-8") as handle:
        handle.write("zebra\n")  # a word the weights have no embedding row for
    embedder = load_embedder(folder, pooling="cls")
    with pytest.raises(ModelLoadError, match="vocab_size"):
        embedder.encode(["zebra"])


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
    assert resume.data_fingerprint(moved, [])["test"]["hub"] == "cmteb-eval/tests@bundled"
    assert resume.data_fingerprint(spec, [])["test"]["layout"] == "rows"
