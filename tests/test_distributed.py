"""Sharded encoding under torchrun: two CPU processes (gloo) give the single-process results."""

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO, write_tiny_bert

PAIRS = [("the cat sat on the mat", "a cat sat on a mat", 4.5), ("hi", "what is panda?", 0.5),
         ("今天天气很好", "今天天气很好我喜欢吃苹果", 3.0), ("a dog", "the dog", 4.0),
         ("猫狗", "一男人在弹吉他", 0.2), ("the giant panda is a bear species of china", "panda bear china", 3.5),
         ("hi", "hi", 5.0), ("represent this sentence", "searching relevant passages", 1.0),
         ("what is the cat", "the cat is what", 4.2), ("我喜欢吃苹果", "我喜欢猫", 2.0),
         ("a", "the mat", 0.1)]

CARD = """name = "TinySTS"
type = "STS"
description = "A tiny STS card with local data, for the torchrun test."
languages = ["eng-Latn"]
eval_splits = ["test"]

[dataset]
hub_id = "cmteb-eval/tests"
revision = "bundled"
local_dir = "tiny_sts"
"""


def run_cli(prefix, folder, card, output, cache):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", PYTHONPATH=str(REPO))
    command = [*prefix, "-m", "cmteb_eval", "run", "--model", str(folder), "--model-name", "BAAI/bge-base-zh-v1.5",
               "--task-file", str(card), "--tasks", "TinySTS", "--output-dir", str(output),
               "--cache-dir", str(cache), "--device", "cpu", "--batch-size", "3"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    result = json.loads((output / "BAAI__bge-base-zh-v1.5" / "no_revision_available" / "TinySTS.json").read_text())
    items = json.loads((output / "BAAI__bge-base-zh-v1.5" / "no_revision_available" / "items" / "TinySTS.json").read_text())
    return result, items, done.stdout


@pytest.mark.slow
@pytest.mark.ci
def test_torchrun_two_cpu_processes_equal_one_process(tmp_path):
    # spread vectors: with near-identical ones, float noise of batch shapes reorders near-tied cosines
    tiny_bert = write_tiny_bert(tmp_path / "model", initializer_range=0.5)
    data = tmp_path / "tiny_sts"
    data.mkdir()
    with (data / "test.jsonl").open("w", encoding="utf-8") as out:
        for first, second, score in PAIRS:
            out.write(json.dumps({"sentence1": first, "sentence2": second, "score": score}, ensure_ascii=False) + "\n")
    card = tmp_path / "tiny_sts.toml"
    card.write_text(CARD, encoding="utf-8")

    single, single_items, _ = run_cli([sys.executable], tiny_bert, card, tmp_path / "single", tmp_path / "cache1")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    sharded, sharded_items, stdout = run_cli(torchrun, tiny_bert, card, tmp_path / "sharded", tmp_path / "cache2")

    assert stdout.count("Result files:") == 1  # only rank 0 reports and writes
    # Sharding must give the same vectors up to float32 rounding (GEMM results depend on batch
    # shapes by ~1e-7). The main score is not compared: on a random model several cosines tie
    # near 1.0, and rounding at 1e-13 reorders such ties.
    pytest.importorskip("numpy").testing.assert_allclose(
        _cosines(sharded_items), _cosines(single_items), atol=1e-6)
    assert list((tmp_path / "cache2" / "embeddings").rglob("*.npz")), "rank 0 stores the gathered vectors"
    # a warm rerun under torchrun reads rank 0's cache and still agrees
    warm, warm_items, stdout = run_cli(torchrun, tiny_bert, card, tmp_path / "warm", tmp_path / "cache2")
    assert "0 text(s) encoded" in stdout
    assert warm["scores"]["test"][0]["main_score"] == sharded["scores"]["test"][0]["main_score"]
    assert _cosines(warm_items) == _cosines(sharded_items)


def _cosines(items):
    return items["splits"]["test"]["cosine"]
