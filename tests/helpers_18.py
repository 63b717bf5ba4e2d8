"""Helpers for the issue-18 tests: task cards of every layout with local data, a FIFO runner."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write_card(folder: Path, name: str, task_type: str, *, local_dir: str | None = None,
               eval_splits=("test",), extra: str = "", dataset_extra: str = "") -> Path:
    """A card named ``name``; with ``local_dir`` (relative to ``folder``) its data is searched there first."""
    folder.mkdir(parents=True, exist_ok=True)
    card = folder / f"{name}.toml"
    splits = ", ".join(json.dumps(s) for s in eval_splits)
    card.write_text(f'name = "{name}"\ntype = "{task_type}"\nlanguages = ["eng-Latn"]\neval_splits = [{splits}]\n'
                    f'{extra}[dataset]\nhub_id = "cmteb-eval/tests"\nrevision = "bundled"\n{dataset_extra}'
                    + (f'local_dir = "{local_dir}"\n' if local_dir else ""), encoding="utf-8")
    return card


STS_ROWS = [{"sentence1": f"the cat {i}", "sentence2": f"a dog {i % 3}", "score": float(i % 5)} for i in range(10)]
PAIR_ROWS = [{"sentence1": f"the cat {i}", "sentence2": f"a dog {i % 3}", "label": i % 2} for i in range(10)]
CLASS_ROWS = [{"text": f"text {i} {'cat' if i % 2 else 'dog'}", "label": i % 2} for i in range(12)]


def retrieval_files(folder: Path, split: str = "test", n: int = 6) -> None:
    write_jsonl(folder / "corpus.jsonl", [{"id": f"d{i}", "text": f"document {i} cat"} for i in range(n)])
    write_jsonl(folder / "queries.jsonl", [{"id": f"q{i}", "text": f"query {i}"} for i in range(3)])
    write_jsonl(folder / "qrels" / f"{split}.jsonl",
                [{"query-id": f"q{i}", "corpus-id": f"d{i}", "score": 1} for i in range(3)])


def top_ranked_file(folder: Path, split: str = "test", n: int = 6) -> None:
    write_jsonl(folder / "top_ranked" / f"{split}.jsonl",
                [{"query-id": f"q{i}", "corpus-ids": [f"d{j}" for j in range(n)]} for i in range(3)])


def reranking_rows(folder: Path, split: str = "test") -> None:
    write_jsonl(folder / f"{split}.jsonl", [{"query": f"query {i}", "positive": [f"good {i}"],
                                             "negative": [f"bad {i}", f"worse {i}"]} for i in range(4)])


def finishes_within(function, seconds: float, fifos=()):
    """Run ``function`` in a thread; (finished, result or exception). A thread blocked opening one of
    ``fifos`` is released afterwards by opening them for writing."""
    box = {}

    def target():
        try:
            box["value"] = function()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["value"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    finished = not thread.is_alive()
    if not finished:
        for fifo in fifos:
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                os.close(fd)
            except OSError:
                pass
        thread.join(5)
    return finished, box.get("value")


def tiny_bert_with_vocab(folder: Path, **kwargs) -> Path:
    """conftest's tiny BERT with a tokenizer that uses its vocabulary. (With transformers 5,
    ``BertTokenizerFast(vocab_file=...)`` keeps only the special tokens, so the saved
    tokenizer.json maps every word to [UNK]; without it the tokenizer is rebuilt from vocab.txt.)"""
    from conftest import write_tiny_bert

    write_tiny_bert(folder, **kwargs)
    (folder / "tokenizer.json").unlink()
    return folder


def both(fast: int = 25, wide: int = 250, **strategies):
    """Two hypothesis tests of one property: ``fast`` examples in the default suite, ``wide`` under -m slow."""
    import pytest
    from hypothesis import HealthCheck, given, settings

    def make(function):
        common = dict(deadline=None, suppress_health_check=list(HealthCheck))
        quick = settings(max_examples=fast, **common)(given(**strategies)(function))
        slow = pytest.mark.slow(settings(max_examples=wide, **common)(given(**strategies)(function)))
        return quick, slow
    return make


def quiet(_):
    """A run log that prints nothing."""


def count_reporter(counts, title: str):
    """A module fixture that prints how many generated cases each family ran (outside pytest's capture)."""
    import pytest

    @pytest.fixture(scope="module", autouse=True)
    def report_counts(pytestconfig):
        yield
        if counts:
            line = ", ".join(f"{family} {n}" for family, n in sorted(counts.items()))
            with pytestconfig.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
                print(f"\n{title}: {sum(counts.values())} cases: {line}")
    return report_counts
