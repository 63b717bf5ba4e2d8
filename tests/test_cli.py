"""The main job and the CLI, run as a user runs them (subprocess)."""

import json
import os
import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent


def run(*args, cwd=REPO):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_main_job_runs_the_demo_offline(tmp_path):
    done = run("run_eval.py", "--output-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "sentence-transformers__all-MiniLM-L6-v2" / "no_revision_available"
    names = sorted(p.name for p in folder.glob("*.json"))
    assert names == ["DemoPairClassificationZh.json", "DemoSTSEn.json", "DemoSTSZh.json", "model_meta.json"]
    assert "| Model | DemoSTSZh | DemoSTSEn | DemoPairClassificationZh | Avg |" in done.stdout
    result = json.loads((folder / "DemoSTSEn.json").read_text())
    assert result["harness"]["model"]["pooling"] == "mean"
    # the main score printed is the one written
    assert f"{100 * result['scores']['test'][0]['main_score']:.2f}" in done.stdout


def test_result_file_is_read_by_mteb(tmp_path):
    from mteb import TaskResult

    done = run("-m", "cmteb_eval", "run", "--tasks", "DemoSTSEn", "--output-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    path = tmp_path / "sentence-transformers__all-MiniLM-L6-v2" / "no_revision_available" / "DemoSTSEn.json"
    loaded = TaskResult.from_disk(path)
    assert loaded.task_name == "DemoSTSEn"
    assert loaded.scores["test"][0]["main_score"] == json.loads(path.read_text())["scores"]["test"][0]["main_score"]


def test_unknown_task_exits_2_with_a_suggestion_and_no_traceback(tmp_path):
    done = run("run_eval.py", "--tasks", "LCQMCC", "--output-dir", str(tmp_path))
    assert done.returncode == 2
    assert "Unknown task 'LCQMCC'" in done.stderr and "Did you mean 'LCQMC'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_failing_task_keeps_the_others_and_exits_nonzero(tmp_path):
    done = run("run_eval.py", "--tasks", "DemoSTSEn,BQ", "--data-dir", str(tmp_path / "empty"),
               "--output-dir", str(tmp_path / "out"))
    assert done.returncode == 1
    assert (tmp_path / "out" / "sentence-transformers__all-MiniLM-L6-v2" / "no_revision_available" / "DemoSTSEn.json").exists()
    assert "BQ" in done.stderr and "not found locally" in done.stderr
    assert "Traceback" not in done.stderr


def test_tiny_clustering_card_runs_and_writes_a_result(tmp_path):
    done = run("run_eval.py", "--task-file", str(REPO / "tests" / "data" / "tiny_clustering.toml"),
               "--tasks", "TinyClustering", "--output-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "sentence-transformers__all-MiniLM-L6-v2" / "no_revision_available" / "TinyClustering.json").read_text())
    entry = result["scores"]["test"][0]
    assert entry["main_score"] == entry["v_measure"] and 0 <= entry["v_measure"] <= 1
    assert "mteb-legacy clustering" in result["harness"]["protocol"]


def test_model_name_cannot_escape_the_output_folder(tmp_path):
    done = run("run_eval.py", "--tasks", "DemoSTSEn", "--model-name", "../../escape", "--output-dir",
               str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    written = list(tmp_path.rglob("*.json"))
    assert written and all((tmp_path / "out") in path.parents for path in written)


def test_tasks_command_lists_the_registry():
    done = run("-m", "cmteb_eval", "tasks", "--benchmark", "cmteb")
    assert done.returncode == 0
    assert "35 task(s)" in done.stdout and "| T2Retrieval | Retrieval |" in done.stdout
    done = run("-m", "cmteb_eval", "tasks", "--type", "Reranking")
    assert "T2RerankingZh2En" in done.stdout and "LCQMC" not in done.stdout


def test_debug_shows_the_traceback(tmp_path):
    done = run("run_eval.py", "--debug", "--tasks", "Nope", "--output-dir", str(tmp_path))
    assert done.returncode != 0 and "Traceback" in done.stderr
