"""Issue 18, result files: a folder belongs to one model, one tolerance rule, one provenance rule,
a full output disk named. Each test fails on the code before the fix."""

from __future__ import annotations

import errno
import json

import pytest

from cmteb_eval.run import resume
from cmteb_eval.cli import main
from cmteb_eval.errors import UserError
from cmteb_eval.results.naming import safe_name
from cmteb_eval.results.read import read_result
from cmteb_eval.run.runner import run_tasks
from cmteb_eval.tasks.card import load_card
from reliability_helpers import HashEmbedder, write_sts_task

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
    kept = out / "final" / "no_revision_available" / "DemoSTSEn.json"
    before = kept.read_bytes()
    capsys.readouterr()
    assert main([*common, "--model", str(second)]) == 2
    err = capsys.readouterr().err
    assert str(first) in err and str(second) in err and "--model-name" in err and "Traceback" not in err
    assert kept.read_bytes() == before  # the first model's result is untouched
    assert main([*common, "--model", str(second), "--model-name", "exp2-final"]) == 0
    assert read_result(out / "exp2-final" / "no_revision_available" / "DemoSTSEn.json")["harness"]["model"]["model"] == str(second)


def test_another_model_under_the_same_name_is_refused_before_anything_runs(tmp_path):
    spec = load_card(write_sts_task(tmp_path, "Own"))
    run_tasks(Model("/runs/a", "w1"), "org__name", [spec], [], tmp_path / "out", log=quiet)
    path = tmp_path / "out" / "org__name" / "no_revision_available" / "Own.json"
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
    assert read_result(out / "final" / "no_revision_available" / "Own.json")["harness"]["model_identity"]["model"]["model"] == "/elsewhere/a"


def test_model_names_stay_distinct_and_readable():
    assert safe_name("my model") != safe_name("my_model") == "my_model"
    assert safe_name("模型一") == "模型一" and safe_name("模型二") == "模型二"  # not collapsed to 'model'
    assert safe_name("中文/模型") == "中文__模型"
    assert safe_name("!!!") != safe_name("???")
    assert len(safe_name("模" * 200).encode("utf-8")) <= 120  # bytes: the folder name fits the file system


# ------------------------------------------------------------------ one tolerance rule, one provenance rule, a full disk


@pytest.mark.parametrize("value", ["inf", "nan", "-0.5"])
def test_reproduce_and_check_follow_one_rule_for_tolerances(tmp_path, capsys, value):
    for command in (["reproduce", str(tmp_path)], ["check", "--baseline", str(tmp_path), "--candidate", str(tmp_path)]):
        assert main([*command, "--tolerance", value]) == 2
        err = capsys.readouterr().err
        assert "--tolerance must be a finite, non-negative number of points" in err, err


def test_reproduce_refuses_an_infinite_tolerance_through_the_api():
    from cmteb_eval.report.comparison.reproduce import reproduce
    from cmteb_eval.report.scores import ModelScores

    empty = ModelScores("m", "run", "here")
    with pytest.raises(UserError, match="finite, non-negative"):
        reproduce(empty, empty, float("inf"))


def _two_runs(tmp_path):
    spec = load_card(write_sts_task(tmp_path, "Gate"))
    for side in ("base", "cand"):
        run_tasks(HashEmbedder(), "m", [spec], [], tmp_path / side, log=quiet)
    return spec, tmp_path / "base" / "m" / "no_revision_available", tmp_path / "cand" / "m" / "no_revision_available"


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
    from cmteb_eval.report.scores import load_one_model

    _, base, cand = _two_runs(tmp_path)
    path = cand / "Gate.json"
    payload = json.loads(path.read_text())
    del payload["harness"]
    path.write_text(json.dumps(payload))
    model = load_one_model(cand, "candidate")
    assert model.tasks["Gate"].foreign and "foreign" in " ".join(model.notes)
    # issue 13: files that agree on task, revision, split and main metric compare, whoever wrote them;
    # the gate says which side was read as foreign
    assert main(["check", "--baseline", str(base), "--candidate", str(cand)]) == 0
    assert "read as foreign" in capsys.readouterr().out


def test_a_full_output_disk_names_the_file_and_keeps_finished_results(tmp_path, monkeypatch):
    import cmteb_eval.results.write as results_module

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
    assert read_result(tmp_path / "out" / "m" / "no_revision_available" / "Disk0.json")["task_name"] == "Disk0"
