"""Crashes and interrupts: a real run (subprocess) killed with SIGKILL at random points leaves
every result file absent or complete and valid, and the rerun ends with the scores of an
uninterrupted run; Ctrl-C stops cleanly and says how to resume; --retry-fp32 recovers fp16 overflow."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cmteb_eval.results.read import read_result
from conftest import write_tiny_bert
from reliability_helpers import write_sts_task

REPO = Path(__file__).resolve().parent.parent
N_TASKS = 6


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    model = write_tiny_bert(root / "tiny-bge", seed=3)
    # Enough rows, and no embedding cache, that each task takes a while: a run served from the
    # cache finishes all six tasks in well under a second, and kills would land only before
    # or after it.
    cards = [write_sts_task(root / "cards", f"Crash{i}", n_rows=3000, seed=i) for i in range(N_TASKS)]
    args = ["--model", str(model), "--pooling", "cls", "--device", "cpu", "--batch-size", "8", "--no-cache",
            "--tasks", ",".join(f"Crash{i}" for i in range(N_TASKS))]
    for card in cards:
        args += ["--task-file", str(card)]
    return root, args


def start(args, out: Path) -> subprocess.Popen:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", OMP_NUM_THREADS="1",
               TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-u", "-m", "cmteb_eval", "run", *args, "--output-dir", str(out)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out, err


def scores_by_task(folder: Path) -> dict[str, dict]:
    return {p.stem: read_result(p)["scores"] for p in sorted(folder.glob("*.json")) if p.name != "model_meta.json"}


def assert_every_file_absent_or_complete(folder: Path) -> int:
    """Every visible file is a complete, valid result (or items file); returns how many results."""
    if not folder.exists():
        return 0
    results = 0
    for path in folder.rglob("*"):
        if path.is_dir() or path.name.startswith("."):
            continue  # hidden temp files of a killed write are never read as results
        if path.name == "run_settings.jsonl":  # mteb's run settings beside the results (issue 27): JSON lines
            assert all(json.loads(line)["task"] for line in path.read_text(encoding="utf-8").splitlines())
            continue
        assert path.suffix == ".json", path
        if path.name == "model_meta.json":  # mteb's model_meta.json beside the results (issue 13)
            assert json.loads(path.read_text(encoding="utf-8"))["name"]
            continue
        if path.parent.name == "items":
            items = json.loads(path.read_text(encoding="utf-8"))
            assert items["task_name"] == path.stem and items["splits"]
            continue
        payload = read_result(path)  # strict JSON, checksum verified
        assert payload["task_name"] == path.stem
        assert set(payload["scores"]) == {"test"}
        results += 1
    return results


def reports_a_write(line: str) -> bool:
    """A progress line saying a result file was written (``... -> <folder>/<Task>.json``); the plan's
    first line (``Plan: N task(s) -> <folder>``) is not one."""
    return "->" in line and line.rstrip().endswith(".json")


def kill_after_first_write(args, out: Path) -> tuple[int, int]:
    """SIGKILL a fresh run as soon as it reports its first written result: between two tasks' writes."""
    proc = start(args, out)
    for line in proc.stdout:
        if reports_a_write(line):
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return 0, assert_every_file_absent_or_complete(out / "tiny-bge")


def kill_at_random_points(args, out: Path, kills: int, rng: random.Random) -> list[tuple[int, int]]:
    """Start the run ``kills`` times, each time SIGKILL it at a random point.

    When every task is already done, the next start passes --overwrite, so that it rewrites
    complete files (a kill then lands on a replace of a good file by another). Returns the
    number of complete results before and after each kill."""
    seen = []
    for _ in range(kills):
        before = assert_every_file_absent_or_complete(out / "tiny-bge")
        proc = start(args + (["--overwrite"] if before == N_TASKS else []), out)
        # a random progress line to wait for (a task starts or is written), then a random delay,
        # so that kills land while loading, encoding and writing, not only at start-up
        target = rng.randint(0, 2 * N_TASKS - 1)
        events = 0
        while events < target:
            line = proc.stdout.readline()
            if not line:
                break
            events += line.lstrip().startswith("[") or reports_a_write(line) or "kept:" in line
        time.sleep(rng.uniform(0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        seen.append((before, assert_every_file_absent_or_complete(out / "tiny-bge")))
    return seen


def run_kill_and_resume(setup, kills: int, seed: int, first_between_writes: bool = False):
    root, args = setup
    rng = random.Random(seed)
    reference_out = root / f"reference-{seed}"
    code, _, err = finish(start(args, reference_out))
    assert code == 0, err
    reference = scores_by_task(reference_out / "tiny-bge" / "no_revision_available")
    assert len(reference) == N_TASKS

    out = root / f"killed-{seed}"
    seen = [kill_after_first_write(args, out)] if first_between_writes else []
    seen += kill_at_random_points(args, out, kills, rng)
    code, stdout, err = finish(start(args, out))
    assert code == 0, err
    assert_every_file_absent_or_complete(out / "tiny-bge")
    assert scores_by_task(out / "tiny-bge" / "no_revision_available") == reference  # identical, not close
    assert stdout.count("already done with this configuration") == seen[-1][1]
    return seen


@pytest.mark.slow
@pytest.mark.ci
def test_a_few_sigkills_then_resume_gives_the_uninterrupted_scores(setup):
    run_kill_and_resume(setup, kills=3, seed=7)


@pytest.mark.slow
def test_many_sigkills_at_random_points_then_resume_gives_the_uninterrupted_scores(setup):
    seen = run_kill_and_resume(setup, kills=10, seed=2026, first_between_writes=True)
    print("complete results before and after each kill:", seen)
    assert 0 < seen[0][1] < N_TASKS  # the first kill landed between tasks' writes


def test_ctrl_c_stops_cleanly_keeps_finished_tasks_and_says_how_to_resume(setup, tmp_path):
    _, args = setup
    proc = start(args, tmp_path)
    for line in proc.stdout:
        if line.startswith("[3/"):
            break
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc)
    assert code == 130, err
    assert "rerun the same command" in err and "Traceback" not in err
    assert assert_every_file_absent_or_complete(tmp_path / "tiny-bge") >= 2

    code, stdout, err = finish(start(args, tmp_path))
    assert code == 0, err
    assert stdout.count("already done with this configuration") >= 2


@pytest.mark.slow
def test_sigterm_stops_like_ctrl_c(setup, tmp_path):
    _, args = setup
    proc = start(args, tmp_path)
    for line in proc.stdout:
        if line.startswith("[2/"):
            break
    proc.send_signal(signal.SIGTERM)
    code, _, err = finish(proc)
    assert code == 130 and "rerun the same command" in err and "Traceback" not in err


# ------------------------------------------------------------------ fp16 overflow


@pytest.fixture(scope="module")
def overflowing_model(tmp_path_factory) -> Path:
    """A tiny BERT whose last LayerNorm scales by 1e5: finite in fp32, overflows fp16 (max 65504)."""
    import torch
    from transformers import BertModel

    folder = write_tiny_bert(tmp_path_factory.mktemp("overflow"))
    model = BertModel.from_pretrained(folder)
    with torch.no_grad():
        model.encoder.layer[-1].output.LayerNorm.weight.fill_(1e5)
    model.save_pretrained(folder)
    return folder


def test_fp16_overflow_is_reported_and_retried_in_fp32(overflowing_model, tmp_path, capsys):
    from cmteb_eval.cli import main

    base = ["run", "--model", str(overflowing_model), "--pooling", "cls", "--device", "cpu", "--tasks", "DemoSTSEn"]
    assert main([*base, "--dtype", "float16", "--output-dir", str(tmp_path / "a")]) == 1
    err = capsys.readouterr().err
    assert "produced NaN or infinite embeddings" in err and "--retry-fp32" in err

    assert main([*base, "--dtype", "float16", "--retry-fp32", "--output-dir", str(tmp_path / "b")]) == 0
    assert "Retrying this task in float32" in capsys.readouterr().out
    retried = read_result(tmp_path / "b" / "overflow0" / "no_revision_available" / "DemoSTSEn.json")
    model = retried["harness"]["model"]
    assert model["dtype"] == "float32" and model["retried_in_fp32"] and model["requested_dtype"] == "float16"
    assert retried["harness"]["config"]["model"]["dtype"] == "float16"  # what the run asked for

    # the retry runs the torch backend in float32; compare with the same backend, not onnx
    assert main([*base, "--dtype", "float32", "--backend", "torch", "--output-dir", str(tmp_path / "c")]) == 0
    plain = read_result(tmp_path / "c" / "overflow0" / "no_revision_available" / "DemoSTSEn.json")
    assert retried["scores"] == plain["scores"]

    # the retried result counts as done for the same fp16 command
    assert main([*base, "--dtype", "float16", "--retry-fp32", "--output-dir", str(tmp_path / "b")]) == 0
    assert "already done with this configuration" in capsys.readouterr().out
