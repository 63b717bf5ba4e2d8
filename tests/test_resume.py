"""Resuming: a complete result of the same configuration is kept, anything else is recomputed,
and a damaged result file is never used."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from cmteb_eval.results import integrity
from cmteb_eval.run import resume
from cmteb_eval.errors import UserError
from cmteb_eval.results.read import read_result
from cmteb_eval.run.runner import run_tasks
from cmteb_eval.tasks.card import load_card
from reliability_helpers import HashEmbedder, write_sts_task


@pytest.fixture()
def tasks(tmp_path):
    return [load_card(write_sts_task(tmp_path / "cards", f"Tiny{i}", seed=i)) for i in range(3)]


def quiet(_):
    pass


def run(model, tasks, out, **kw):
    return run_tasks(model, "m", tasks, [], out, log=quiet, **kw)


def test_rerun_skips_complete_tasks_and_reports_the_same_scores(tmp_path, tasks):
    first = run(HashEmbedder(), tasks, tmp_path / "out")
    model = HashEmbedder()
    second = run(model, tasks, tmp_path / "out")
    assert model.calls == 0
    assert all(o.skipped for o in second.outcomes)
    assert [o.main_scores for o in second.outcomes] == [o.main_scores for o in first.outcomes]


def test_overwrite_recomputes(tmp_path, tasks):
    run(HashEmbedder(), tasks, tmp_path / "out")
    model = HashEmbedder()
    summary = run(model, tasks, tmp_path / "out", overwrite=True)
    assert model.calls == len(tasks) and not any(o.skipped for o in summary.outcomes)


@pytest.mark.parametrize("change", ["dtype", "data", "card", "instruction"])
def test_a_changed_configuration_is_never_taken_for_a_finished_task(tmp_path, tasks, change):
    run(HashEmbedder(), tasks[:1], tmp_path / "out")
    model, specs = HashEmbedder(), tasks[:1]
    if change == "dtype":
        model = HashEmbedder(dtype="float16")
    elif change == "data":
        data = specs[0].dataset.local_dir / "test.jsonl"
        data.write_text(data.read_text().replace('"score": 5.0', '"score": 4.0'))
    elif change == "card":
        specs = [replace(specs[0], main_metric="cosine_pearson")]
    elif change == "instruction":
        model.describe = lambda task=None, d=model.describe: dict(d(task), query_instruction="Q: ")
    logged = []
    summary = run_tasks(model, "m", specs, [], tmp_path / "out", log=logged.append)
    assert model.calls == 1 and not summary.outcomes[0].skipped
    assert any("made with another configuration" in line for line in logged)


def test_device_and_batch_size_do_not_force_a_recompute(tmp_path, tasks):
    run(HashEmbedder(), tasks[:1], tmp_path / "out")
    model = HashEmbedder()
    model.describe = lambda task=None, d=model.describe: dict(d(task), device="cuda", batch_size=256)
    assert run(model, tasks[:1], tmp_path / "out").outcomes[0].skipped


def _result_file(tmp_path, tasks) -> Path:
    run(HashEmbedder(), tasks[:1], tmp_path / "out")
    return tmp_path / "out" / "m" / "no_revision_available" / f"{tasks[0].name}.json"


CORRUPTIONS = {
    "truncated": lambda text: text[: len(text) // 2],
    "empty": lambda text: "",
    "edited score": lambda text: _edit_score(text),
    "not utf-8": lambda text: "\udcff" + text,
    "nan": lambda text: text.replace('"evaluation_time": ', '"evaluation_time": NaN, "x": ', 1),
    "a list": lambda text: "[1, 2, 3]",
    "checksum removed": lambda text: text.replace('"checksum"', '"checksum_"'),
    "other task": lambda text: _resealed(text, task_name="Other"),
    "split missing": lambda text: _resealed(text, scores={}),
}


def _edit_score(text):
    """Valid JSON, one score changed: only the checksum can tell."""
    edited = re.sub(r'"main_score": -?[0-9.e-]+', '"main_score": 0.5', text, count=1)
    assert edited != text and json.loads(edited)
    return edited


def _resealed(text, **changes):
    payload = json.loads(text)
    payload.update(changes)
    return json.dumps(integrity.seal(payload))


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_damaged_result_file_is_set_aside_and_recomputed(tmp_path, tasks, corruption):
    path = _result_file(tmp_path, tasks)
    good = json.loads(path.read_text())
    damaged = CORRUPTIONS[corruption](path.read_text())
    path.write_bytes(damaged.encode("utf-8", "surrogateescape"))
    config = good["harness"]["config"]
    assert resume.inspect_result(path, tasks[0], config).state == "damaged"
    model, logged = HashEmbedder(), []
    summary = run_tasks(model, "m", tasks[:1], [], tmp_path / "out", log=logged.append)
    assert model.calls == 1 and not summary.outcomes[0].skipped
    assert any("is not a usable result" in line for line in logged), logged
    assert json.loads(path.read_text())["scores"] == good["scores"]
    kept = list(path.parent.glob(f"{path.name}.bad-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == damaged.encode("utf-8", "surrogateescape")


def test_a_foreign_result_file_is_never_moved(tmp_path, tasks):
    """Issue 13: an mteb file where our result must go stops that task, naming it; it stays as it is."""
    path = _result_file(tmp_path, tasks)
    good = json.loads(path.read_text())
    foreign = json.dumps({k: v for k, v in good.items() if k != "harness"})
    path.write_text(foreign)
    assert resume.inspect_result(path, tasks[0], good["harness"]["config"]).state == "foreign"
    model = HashEmbedder()
    summary = run_tasks(model, "m", tasks[:1], [], tmp_path / "out", log=lambda *_: None)
    assert model.calls == 0 and str(path) in summary.outcomes[0].error
    assert path.read_text() == foreign and not list(path.parent.glob(f"{path.name}.bad-*"))


def test_read_result_refuses_a_file_whose_checksum_fails(tmp_path, tasks):
    path = _result_file(tmp_path, tasks)
    assert read_result(path)["task_name"] == tasks[0].name
    path.write_text(_edit_score(path.read_text()))
    with pytest.raises(UserError, match="damaged: its checksum does not match"):
        read_result(path)


def test_checksum_round_trips_numpy_values():
    import numpy as np

    payload = integrity.seal({"scores": {"a": np.float32(0.1), "b": np.float64(1 / 3), "c": 2},
                              "harness": {"name": "cmteb-eval"}})
    reread = json.loads(integrity.canonical_json(payload))
    assert integrity.verify(reread) is None
    reread["scores"]["b"] = 0.3333
    assert integrity.verify(reread)


def test_a_failing_task_is_reported_and_the_others_go_on(tmp_path, tasks):
    model = HashEmbedder()
    data = tasks[1].dataset.local_dir / "test.jsonl"
    data.write_text(data.read_text().replace('"sentence2"', '"other"'))
    summary = run(model, tasks, tmp_path / "out")
    assert [bool(o.error) for o in summary.outcomes] == [False, True, False]
    assert "column 'sentence2' (role 'sentence2') is missing" in summary.outcomes[1].error


def test_an_unexpected_exception_fails_the_task_not_the_run(tmp_path, tasks):
    class Exploding(HashEmbedder):
        def encode(self, texts, **kw):
            if any("panda" in t for t in texts) and self.calls == 0:
                self.calls += 1
                raise RuntimeError("CUDA out of memory")
            return super().encode(texts, **kw)

    summary = run(Exploding(), tasks, tmp_path / "out")
    assert "unexpected RuntimeError: CUDA out of memory" in summary.failed[0].error
    assert len(summary.completed) == len(tasks) - 1
    with pytest.raises(RuntimeError):
        run(Exploding(), tasks, tmp_path / "out2", debug=True)


@pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")
def test_nan_scores_are_refused_not_written(tmp_path, tasks, monkeypatch):
    import math

    from cmteb_eval.evaluators import sts

    class Constant(HashEmbedder):
        def encode(self, texts, **kw):
            return super().encode(["same"] * len(texts), **kw)

    summary = run(Constant(), tasks[:1], tmp_path / "out")  # every pair one similarity: said so, nothing written
    assert "the same cosine similarity" in summary.failed[0].error
    assert not list((tmp_path / "out").rglob("*.json"))
    monkeypatch.setattr(sts, "sts_scores", lambda *a: {"cosine_spearman": math.nan, "cosine_pearson": 0.5})
    summary = run(HashEmbedder(), tasks[:1], tmp_path / "out")
    assert "came out NaN or infinite, so no result was written" in summary.failed[0].error
    assert not list((tmp_path / "out").rglob("*.json"))


def test_stale_temp_files_of_a_killed_run_are_removed(tmp_path, tasks):
    import os
    import time

    folder = tmp_path / "out" / "m" / "no_revision_available"
    folder.mkdir(parents=True)
    old, fresh = folder / ".Tiny0.json.abc.tmp", folder / ".Tiny1.json.def.tmp"
    old.write_text("{")
    fresh.write_text("{")
    os.utime(old, (time.time() - 2 * resume.TEMP_MAX_AGE_S,) * 2)
    run(HashEmbedder(), tasks[:1], tmp_path / "out")
    assert not old.exists() and fresh.exists()  # a fresh one may belong to a run going on now
