"""Issue 17: a run you can watch (progress lines, the plan, timing in the result) and one that keeps
its encoded work when it is interrupted (the cache is written chunk by chunk as encoding goes)."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
WORDS = ["the", "cat", "dog", "sat", "on", "mat", "a", "what", "is", "panda", "hi", "giant", "bear", "china"]
PAIRS = 100  # 200 distinct sentences: 25 batches of 8 texts


def sts_task(folder: Path) -> Path:
    """An STS card of PAIRS pairs of distinct sentences (a fixed seed: the same texts every run)."""
    rng = random.Random(0)
    sentences = list(dict.fromkeys(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
                                   + f" {i}" for i in range(2 * PAIRS)))
    data = folder / "data" / "WatchSTS"
    data.mkdir(parents=True)
    with open(data / "test.jsonl", "w", encoding="utf-8") as out:
        for i in range(PAIRS):
            out.write(json.dumps({"sentence1": sentences[2 * i], "sentence2": sentences[2 * i + 1],
                                  "score": float(i % 6)}) + "\n")
    card = folder / "WatchSTS.toml"
    card.write_text('name = "WatchSTS"\ntype = "STS"\ndescription = "issue 17 test"\nlanguages = ["eng-Latn"]\n'
                    'eval_splits = ["test"]\n[dataset]\nhub_id = "local/watch"\nrevision = "local"\n'
                    'local_dir = "data/WatchSTS"\n', encoding="utf-8")
    return card


def run_cli(args, cache: Path, **env_extra):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", CMTEB_EVAL_CACHE=str(cache), CMTEB_EVAL_THREADS="1",
               **env_extra)
    return subprocess.run([sys.executable, "-m", "cmteb_eval", "run", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def run_in_process(args, cache: Path) -> tuple[int, str]:
    """``cmteb-eval run ARGS`` in this process (its SIGTERM handler undone afterwards): (exit code, stdout)."""
    import contextlib
    import io
    import signal

    from cmteb_eval.cli.main import main

    previous, old_cache = signal.getsignal(signal.SIGTERM), os.environ.get("CMTEB_EVAL_CACHE")
    os.environ["CMTEB_EVAL_CACHE"] = str(cache)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            code = main(["run", *args])
    finally:
        signal.signal(signal.SIGTERM, previous)
        os.environ["CMTEB_EVAL_CACHE"] = old_cache or ""
    return code, out.getvalue()


def shard_rows(cache: Path) -> int:
    total = 0
    for shard in (cache / "embeddings").rglob("*.npz"):
        with np.load(shard) as data:
            total += len(data["hashes"])
    return total


@pytest.mark.parametrize("signal_name", ["KILL", pytest.param("TERM", marks=pytest.mark.slow)])
def test_an_interrupted_encoding_keeps_its_finished_chunks(tmp_path, tiny_bert, signal_name):
    card = sts_task(tmp_path)
    cache = tmp_path / "cache"
    args = ["--model", str(tiny_bert), "--task-file", str(card), "--tasks", "WatchSTS", "--output-dir",
            str(tmp_path / "out"), "--pooling", "cls", "--max-batch-tokens", "256", "--batch-size", "8", "--quiet"]
    # 8-text batches, a 40-row chunk: stopped after the 12th batch (96 texts) the cache holds
    # 2 written chunks (80 rows) after a SIGKILL (a crash), and the chunk under way too after a
    # SIGTERM (or Ctrl-C), which the run stops on cleanly
    stopped = run_cli(args, cache, CMTEB_EVAL_CACHE_CHUNK_ROWS="40",
                      CMTEB_EVAL_STOP_AFTER_BATCHES=f"12:{signal_name}")
    assert stopped.returncode != 0
    assert not list((tmp_path / "out").rglob("WatchSTS.json"))
    kept = shard_rows(cache)
    assert kept == (96 if signal_name == "TERM" else 80), (kept, stopped.stdout, stopped.stderr)
    again, out = run_in_process(args, cache)  # the rerun needs no subprocess
    assert again == 0
    assert f"embedding cache: {kept} of {2 * PAIRS} vector(s) found, {2 * PAIRS - kept} to encode" in out
    result = json.loads(next((tmp_path / "out").rglob("WatchSTS.json")).read_text())
    timing = result["harness"]["timing"]
    assert timing["cache_hits"] == kept and timing["texts_encoded"] == 2 * PAIRS - kept
    assert not timing["cached"] and timing["encode_seconds"] > 0
    assert shard_rows(cache) == 2 * PAIRS


def test_the_run_says_its_plan_progress_and_timing(tmp_path, tiny_bert, capsys, monkeypatch):
    import signal

    from cmteb_eval.cli.main import main

    card = sts_task(tmp_path)
    monkeypatch.setenv("CMTEB_EVAL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CMTEB_EVAL_LOG_INTERVAL", "0")  # a line per batch
    args = ["run", "--model", str(tiny_bert), "--task-file", str(card), "--tasks", "WatchSTS", "--output-dir",
            str(tmp_path / "out"), "--pooling", "cls", "--max-batch-tokens", "256", "--batch-size", "8"]
    previous = signal.getsignal(signal.SIGTERM)
    try:
        assert main(args) == 0
        out = capsys.readouterr()
        # stdout is not a terminal here: log lines, not bars
        assert "Plan: 1 task(s)" in out.out
        assert f"  WatchSTS (STS; test): {2 * PAIRS} distinct text(s), {2 * PAIRS} to encode, " in out.out
        assert f"    encoding {2 * PAIRS} text(s), " in out.out
        assert f"    encoding: {2 * PAIRS - 8}/{2 * PAIRS} texts, " in out.out and "tokens/s, ETA" in out.out
        assert "\r" not in out.out + out.err
        assert "cosine_spearman: test " in out.out and ": encode " in out.out
        timing = json.loads(next((tmp_path / "out").rglob("WatchSTS.json")).read_text())["harness"]["timing"]
        assert timing["texts_encoded"] == 2 * PAIRS and timing["cache_hits"] == 0 and not timing["cached"]
        assert timing["tokens_encoded"] > 2 * PAIRS and 0 < timing["encode_seconds"] <= timing["total_seconds"]
        # again, served from the cache: the result says so
        assert main(args + ["--overwrite", "--quiet"]) == 0
        out = capsys.readouterr().out
        assert f"  WatchSTS (STS; test): {2 * PAIRS} distinct text(s), 0 to encode ({2 * PAIRS} in the cache)" in out
        assert f"embedding cache: {2 * PAIRS} of {2 * PAIRS} vector(s) found" in out
        assert f"Embedding cache {tmp_path / 'cache'}: {2 * PAIRS} hit(s), 0 text(s) encoded" in out
        assert "    encoding" not in out
        timing = json.loads(next((tmp_path / "out").rglob("WatchSTS.json")).read_text())["harness"]["timing"]
        assert timing["cached"] and timing["texts_encoded"] == 0 and timing["cache_hits"] == 2 * PAIRS
        assert timing["encode_seconds"] == 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_progress_modes():
    from cmteb_eval.models import progress

    progress.configure(quiet=True)
    assert progress.current_mode() == "log"
    progress.configure(mode="bar")
    bar = progress.Progress("encoding", 10, "texts", 100)
    bar.update(5, 50)
    assert bar._bar is not None and bar._bar.n == 5
    bar.close()
    progress.configure()  # pytest's stdout is not a terminal
    assert progress.current_mode() == "log"
    progress._mode = None  # as a library (nothing configured it): silent
    assert progress.current_mode() == "off" and progress.Progress("x", 3, "texts")._bar is None
    assert progress.duration(75) == "1m15s" and progress.count(23557) == "23.6k"


def test_chunk_writer_stores_full_chunks_and_never_a_non_finite_row(monkeypatch):
    from cmteb_eval.models.cache.fill import ChunkWriter

    stored = []

    class Namespace:
        def store(self, texts, vectors):
            stored.append((list(texts), np.array(vectors)))

    monkeypatch.setenv("CMTEB_EVAL_CACHE_CHUNK_ROWS", "3")
    writer = ChunkWriter(Namespace(), ["a", "b", "c", "d", "e"])
    writer.add(np.array([4, 0]), np.ones((2, 2), np.float32))
    assert stored == []  # under a chunk: kept in memory
    writer.add(np.array([2, 1]), np.array([[1, np.nan], [2, 2]], np.float32))
    assert [texts for texts, _ in stored] == [["e", "a", "b"]]  # "c" is NaN: never stored
    writer.add(np.array([3]), np.full((1, 2), 3, np.float32))
    writer.flush()
    assert [texts for texts, _ in stored] == [["e", "a", "b"], ["d"]] and writer.stored == {0, 1, 2, 3, 4}


def test_search_and_cross_encoder_scoring_show_progress_and_count_scoring_time(tiny_reranker, capsys, monkeypatch):
    from cmteb_eval.evaluators.search import exact_search
    from cmteb_eval.models import progress
    from cmteb_eval.models.rerankers.cross_encoder import load_reranker

    monkeypatch.setenv("CMTEB_EVAL_LOG_INTERVAL", "0")
    progress.configure(mode="log")
    try:
        progress.METER.reset()
        corpus = np.eye(10, 4, dtype=np.float32)
        exact_search(np.ones((2, 4), np.float32), lambda a, b: corpus[a:b], 10, [str(i) for i in range(10)],
                     top_k=3, chunk_size=4)
        reranker = load_reranker(tiny_reranker, device="cpu", batch_size=2)
        reranker.score_pairs([("what is panda?", "a giant bear"), ("hi", "the cat"), ("a", "b"), ("dog", "mat")])
        out = capsys.readouterr().out
        assert "    search: 4/10 docs, " in out and "    search: 10/10 docs, " in out
        assert "    scoring pairs: 2/4 pairs, " in out and "tokens/s" in out
        assert progress.METER.pairs_scored == 4 and progress.METER.scoring_seconds > 0
        assert progress.METER.encode_seconds == 0
    finally:
        progress._mode = None


def test_the_plan_counts_prompted_texts_as_the_run_caches_them(tmp_path, tiny_bert, capsys, monkeypatch):
    """With a prompt on the texts, the plan looks the prompted texts up under the prompt's cache key, as
    the run stores them: a second run's plan finds every text in the cache (it looked up the bare texts
    under no prompt before, and said none were there)."""
    from cmteb_eval.cli.main import main

    card = sts_task(tmp_path)
    prompts = tmp_path / "prompts.toml"
    prompts.write_text('STS = "represent this sentence: "\n', encoding="utf-8")
    monkeypatch.setenv("CMTEB_EVAL_CACHE", str(tmp_path / "cache"))
    args = ["run", "--model", str(tiny_bert), "--task-file", str(card), "--tasks", "WatchSTS", "--output-dir",
            str(tmp_path / "out"), "--pooling", "cls", "--prompts", str(prompts), "--quiet"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args + ["--overwrite"]) == 0
    out = capsys.readouterr().out
    assert f"  WatchSTS (STS; test): {2 * PAIRS} distinct text(s), 0 to encode ({2 * PAIRS} in the cache)" in out
    prompts.write_text('STS = "another prompt: "\n', encoding="utf-8")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"  WatchSTS (STS; test): {2 * PAIRS} distinct text(s), {2 * PAIRS} to encode, " in out
