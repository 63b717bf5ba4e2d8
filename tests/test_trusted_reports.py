"""Issue 17: reports you can trust at a glance. Result files are written by the one writer
(results/write.py) with given scores: these tests check what the report commands do with them
(which models and tasks they report, what they say is left out), not how scores are computed."""

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from cmteb_eval.cli import main
from cmteb_eval.evaluators.base import SplitResult
from cmteb_eval.results.write import write_result
from cmteb_eval.tasks.registry import Registry

REPO = Path(__file__).resolve().parent.parent
MINILM = "sentence-transformers__all-MiniLM-L6-v2"


def write_run(out: Path, model: str, scores: dict[str, float], timing: dict | None = None) -> Path:
    registry = Registry.load()
    for task, score in scores.items():
        spec = registry.task(task)
        splits = {split: SplitResult({spec.main_metric: score + 0.001 * i}, "test data", "test protocol")
                  for i, split in enumerate(spec.eval_splits)}
        info = {"model": model, "kind": "embedder", "weights_fingerprint": model}
        write_result(out, model, spec, splits, info, 12.0, None, timing)
    return out / model


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    cached = {"encode_seconds": 0.0, "scoring_seconds": 0.0, "cache_hits": 400, "texts_encoded": 0, "cached": True,
              "total_seconds": 1.0, "other_seconds": 1.0, "tokens_encoded": 0, "pairs_scored": 0}
    cold = dict(cached, encode_seconds=30.0, cache_hits=0, texts_encoded=400, cached=False, total_seconds=31.0)
    write_run(out, MINILM, {"STSB": 0.78, "LCQMC": 0.60, "DemoSTSEn": 0.7}, cached)
    write_run(out, "minilm-len16", {"STSB": 0.70, "LCQMC": 0.55, "Ocnli": 0.6}, cold)
    write_run(out, "minilm-len32", {"STSB": 0.75}, cold)
    return out


def test_reproduce_reports_every_model_it_can(runs, capsys, tmp_path):
    code, out, err = cli(capsys, "reproduce", runs)
    assert "## Reproduction: sentence-transformers/all-MiniLM-L6-v2" in out or f"## Reproduction: {MINILM}" in out
    assert "No published reference for 2 model(s), not reported: minilm-len16, minilm-len32" in out
    assert code in (0, 1) and err == ""
    # the same report into a file
    target = tmp_path / "rep.md"
    code2, out2, _ = cli(capsys, "reproduce", runs, "--output", target)
    assert code2 == code and out2 == f"Wrote {target}\n" and "minilm-len16" in target.read_text()


def test_check_lists_the_tasks_one_side_lacks_and_checks_the_others(runs, capsys, tmp_path):
    code, out, _ = cli(capsys, "check", "--baseline", runs / MINILM, "--candidate", runs / "minilm-len16",
                       "--tolerance", "100", "--output", tmp_path / "gate.md")
    text = (tmp_path / "gate.md").read_text()
    assert code == 0 and "PASS" in text
    assert "the candidate has no result for 1 task(s) of the baseline: DemoSTSEn" in text
    assert "the baseline has no result for 1 task(s) of the candidate: Ocnli" in text
    # a task named with --tasks is required
    code, _, err = cli(capsys, "check", "--baseline", runs / MINILM, "--candidate", runs / "minilm-len16",
                       "--tasks", "STSB", "DemoSTSEn")
    assert code == 2 and "no result for: DemoSTSEn" in err


def test_compare_names_every_task_left_out_and_warns_of_different_task_sets(runs, capsys):
    code, out, _ = cli(capsys, "compare", runs / MINILM, runs / "minilm-len16", runs / "minilm-len32")
    assert code == 0
    first, second = [line for line in out.splitlines() if line.startswith("Left out (")]
    assert first.startswith("Left out (2 task(s), not in the tables or averages): ")
    assert "DemoSTSEn (the candidate has no result)" in first and "Ocnli (the baseline has no result)" in first
    assert "DemoSTSEn (the candidate has no result)" in second and "LCQMC (the candidate has no result)" in second
    assert 'their "All tasks" rows are not averages over the same set' in out
    assert "  minilm-len16: 2 task(s)" in out and "  minilm-len32: 1 task(s); without LCQMC" in out


def test_csv_is_one_tidy_table_pandas_reads(runs, capsys, tmp_path):
    target = tmp_path / "all.csv"
    code, _, _ = cli(capsys, "table", runs, "--table", "types", "--output", target)
    assert code == 0
    frame = pd.read_csv(target)
    assert list(frame.columns) == ["model", "task", "task_type", "split", "metric", "score", "table_split",
                                   "origin", "source"]
    stsb = frame[(frame.model == "minilm-len16") & (frame.task == "STSB")]
    assert sorted(stsb.split) == ["test", "validation"] and set(stsb.metric) == {"cosine_spearman"}
    assert stsb[stsb.split == "validation"].score.iloc[0] == pytest.approx(70.0)
    # one file per table with --output-dir
    code, out, _ = cli(capsys, "table", runs, "--table", "types", "--format", "csv", "--output-dir", tmp_path / "t")
    sts = pd.read_csv(tmp_path / "t" / "type-STS.csv", index_col="Model")
    assert "STSB" in sts.columns and sts.loc["minilm-len16", "STSB"] == pytest.approx(70.1)  # test
    assert f"Wrote {tmp_path / 't' / 'type-STS.csv'}" in out


def test_timing_table_and_speed_plot_mark_cached_runs(runs, capsys, tmp_path):
    code, out, _ = cli(capsys, "table", runs, "--table", "speed")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith(f"| {MINILM} "))
    assert "| 0.00 |" in row and "| 1200 | 3 |" in row  # 400 vectors per task from the cache, 3 tasks
    row = next(line for line in out.splitlines() if line.startswith("| minilm-len16 "))
    assert "| 90.00 |" in row  # 3 tasks of 30 s encoding
    code, out, _ = cli(capsys, "plot", "speed", runs / MINILM, runs / "minilm-len16", "-o", tmp_path / "s.png")
    assert code == 0 and (tmp_path / "s.png").stat().st_size > 0


def test_captions_say_one_task(runs, capsys):
    _, out, _ = cli(capsys, "table", runs / "minilm-len32", "--table", "STS")
    assert "### STS (1 task)" in out


@pytest.mark.parametrize("command", [["reproduce"], ["table", "--format", "csv"]])
def test_a_closed_pipe_ends_quietly(runs, command):
    """`cmteb-eval reproduce ... | head` once head has exited: stdout is a pipe nobody reads."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write now fails with EPIPE, deterministically
    try:
        done = subprocess.run([sys.executable, "-m", "cmteb_eval", command[0], str(runs), *command[1:]], cwd=REPO,
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120,
                              env=dict(os.environ, HF_HUB_OFFLINE="1"))
    finally:
        os.close(write_end)
    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr and "Error" not in done.stderr


def test_tasks_type_is_case_insensitive_and_says_local_data(capsys, tmp_path):
    code, out, _ = cli(capsys, "tasks", "--type", "sts")
    assert code == 0 and "| STSB | STS |" in out
    code, _, err = cli(capsys, "tasks", "--type", "stss")
    assert code == 2 and "Did you mean 'STS'?" in err
    (tmp_path / "STSB").mkdir()
    for split in ("validation", "test"):
        (tmp_path / "STSB" / f"{split}.jsonl").write_text('{"sentence1": "a", "sentence2": "b", "score": 1}\n')
    code, out, _ = cli(capsys, "tasks", "--type", "STS", "--data-dir", tmp_path)
    assert "Local data |" in out and " | yes |" in next(line for line in out.splitlines() if line.startswith("| STSB |"))
    assert " | no |" in next(line for line in out.splitlines() if line.startswith("| LCQMC |"))


def test_missing_retrieval_data_names_the_corpus_and_fails_at_once(monkeypatch, tmp_path):
    from cmteb_eval.data import offline
    from cmteb_eval.data.hub import hub_retrieval_tables
    from cmteb_eval.errors import DataNotFoundError

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    for name in offline.PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    offline._reachable.cache_clear()
    spec = Registry.load().task("T2Retrieval")
    started = time.monotonic()
    with pytest.raises(DataNotFoundError) as caught:
        hub_retrieval_tables(spec, "dev", [tmp_path / "T2Retrieval" / "corpus.jsonl"])
    assert time.monotonic() - started < 10
    text = str(caught.value)
    assert "the corpus (of split 'dev') not found locally" in text and "split 'corpus'" not in text
    assert "cannot be reached" in text
    assert "corpus.jsonl\nPut the corpus at" in text  # the hint on a line of its own
    offline._reachable.cache_clear()


def test_demo_results_go_apart(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    done = subprocess.run([sys.executable, str(REPO / "run_eval.py"), "--quiet"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "demo-results" / MINILM).glob("*/DemoSTSEn.json"))) == 1  # <model>/<revision>/
    assert not (tmp_path / "results").exists()


def test_the_hub_id_of_the_packaged_model_offline_uses_the_packaged_copy(tmp_path, monkeypatch):
    from cmteb_eval.run.setup import ModelRequest, packaged_minilm

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    request = ModelRequest(model="sentence-transformers/all-MiniLM-L6-v2")
    assert request.embedder_source() == (str(packaged_minilm()), "sentence-transformers/all-MiniLM-L6-v2")
    assert ModelRequest(model="sentence-transformers/all-MiniLM-L6-v2", revision="abc").embedder_source()[0] \
        == "sentence-transformers/all-MiniLM-L6-v2"


def test_cache_info_names_local_models(tmp_path, tiny_bert, capsys):
    from cmteb_eval.models.cache.store import EmbeddingCache
    from cmteb_eval.models.encoders.embedder import load_embedder

    cache = EmbeddingCache(tmp_path / "c")
    load_embedder(tiny_bert, pooling="cls", cache=cache).encode(["hi", "the cat"])
    code, out, _ = cli(capsys, "cache", "info", "--cache-dir", tmp_path / "c")
    assert code == 0 and f"{tiny_bert.parent.name}/{tiny_bert.name} (weights " in out
