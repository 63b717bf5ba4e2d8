"""Served models against a real server: infinity-emb from PyPI (its own venv, scripts/served_env.sh)
on 127.0.0.1, serving the packaged all-MiniLM-L6-v2 and a tiny cross-encoder saved here.

- STSB (test split) through the server equals the local run to 1e-4, the vectors to 1e-5;
- a reranking task through the server's /rerank equals the local cross-encoder;
- a server killed mid-run: a clear error, and a resume that finishes with the same score from the
  batches stored before the kill;
- 429 (Retry-After honoured) and 500 injected by a proxy in front of the server are retried;
- garbage answers (HTML, fewer vectors, another dimension in a later batch) are clear errors;
- a server reporting another model id is a cache miss; the API key never reaches a file or log.

The server's venv takes ~2 min to create once (then reused); each server start ~20-45 s. The
module is slow-marked and CI runs it (marker ci).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import write_tiny_bert
from served_helpers import FaultProxy, InfinityServer, cli, json_rewrite, served_python

from cmteb_eval.models import progress
from cmteb_eval.models.cache.store import EmbeddingCache
from cmteb_eval.models.served.client import ClientOptions, ServedModelError
from cmteb_eval.models.served.embedder import ServedEmbedder
from cmteb_eval.models.served.reranker import ServedReranker
from cmteb_eval.run.runner import evaluate_task
from cmteb_eval.tasks.registry import Registry

pytestmark = [pytest.mark.slow, pytest.mark.ci]

KEY_VAR = "CMTEB_TEST_SERVED_KEY"
KEY = "cmteb-test-key-5f3a91"  # only ever in this environment variable and the server's argument
FAST = ClientOptions(backoff=0.05, retries=3)


@pytest.fixture(scope="module")
def server_python() -> Path:
    return served_python()


@pytest.fixture(scope="module")
def served_reranker_dir(tmp_path_factory) -> Path:
    """A tiny cross-encoder with spread scores; its tokenizer says its 128 positions (infinity
    truncates to the tokenizer's model_max_length)."""
    folder = write_tiny_bert(tmp_path_factory.mktemp("served-reranker"), classifier=True, initializer_range=0.15)
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["model_max_length"] = 128
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def infinity(server_python, minilm_dir, served_reranker_dir, tmp_path_factory):
    os.environ[KEY_VAR] = KEY
    server = InfinityServer(server_python, {"minilm": minilm_dir, "tiny-reranker": served_reranker_dir},
                            log=tmp_path_factory.mktemp("infinity") / "server.log", api_key=KEY).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stsb_test(shared):
    return replace(Registry.load().task("STSB"), eval_splits=("test",))


@pytest.fixture(scope="module")
def local_stsb(stsb_test, minilm, shared) -> float:
    return evaluate_task(stsb_test, minilm, [shared / "data" / "cmteb"])["test"].scores["cosine_spearman"]


def embedder(url: str, **kwargs) -> ServedEmbedder:
    return ServedEmbedder(url, api="infinity", model_name="minilm", api_key_env=KEY_VAR,
                          **{"options": FAST, **kwargs})


def stsb_texts(shared, n: int) -> list[str]:
    rows = [json.loads(line) for line in (shared / "data" / "cmteb" / "STSB" / "test.jsonl").open(encoding="utf-8")]
    return [t for r in rows[: n // 2] for t in (r["sentence1"], r["sentence2"])]


def test_stsb_through_the_server_equals_the_local_run(infinity, stsb_test, local_stsb, minilm, shared):
    """One request at a time, the server's batches are ours: texts the tokenizer makes alike (14
    pairs of STSB test differ only in characters MiniLM's vocabulary maps to [UNK]) get the same
    vectors, so their cosine ties at 1 as in the local run. With several requests in flight the
    server merges them into batches of its own and float noise orders those ties (measured: 1.5e-4
    on Spearman at --concurrency 4; the vectors still agree to 1e-6, below)."""
    served = embedder(infinity.url, options=ClientOptions(concurrency=1))
    result = evaluate_task(stsb_test, served, [shared / "data" / "cmteb"])["test"]
    assert result.scores["cosine_spearman"] == pytest.approx(local_stsb, abs=1e-4)
    texts = stsb_texts(shared, 400)
    concurrent = embedder(infinity.url, options=ClientOptions(concurrency=4, batch_size=16))
    np.testing.assert_allclose(concurrent.encode(texts), minilm.encode(texts), atol=1e-5)
    info = served.describe(stsb_test)
    assert info["served"]["served_model_id"] == "minilm" and info["served"]["endpoint"] == infinity.url + "/embeddings"
    assert info["prompts_applied"].startswith("client-side")


def test_a_known_card_instruction_is_applied_client_side(infinity, minilm_dir):
    """--query-instruction (or a known card) goes before queries, as the local model puts it."""
    from cmteb_eval.models.encoders.embedder import load_embedder
    from cmteb_eval.models.protocol import QUERY

    from cmteb_eval.models.protocol import PASSAGE

    class Task:
        name, type, query_instruction = "SomeRetrieval", "Retrieval", True

    served = embedder(infinity.url, query_instruction="query: ", document_instruction="passage: ")
    local = load_embedder(minilm_dir, query_instruction="query: ", document_instruction="passage: ")
    texts = ["what is a panda?", "天气怎么样"]
    for role in (QUERY, PASSAGE):
        np.testing.assert_allclose(served.encode(texts, role=role, task=Task()),
                                   local.encode(texts, role=role, task=Task()), atol=1e-5)
    info = served.describe(Task())
    assert info["query_instruction"] == "query: "
    assert info["prompts"] == local.describe(Task())["prompts"]  # the same prompt table as a local model's
    assert info["prompts"]["document"]["prompt"] == "passage: "


def test_a_reranking_task_through_the_server_equals_the_local_cross_encoder(infinity, served_reranker_dir,
                                                                            shared, tmp_path):
    import cmteb_eval
    from ranking_reference import read_qbqtc, reranking_rows, retrieval_tables, write_qbqtc_tasks

    rows = read_qbqtc(shared / "data" / "extra" / "qbqtc_dev.jsonl")
    rerank = {k: v[:80] for k, v in reranking_rows(rows, only_complete=True).items()}  # 80 queries
    card, _ = write_qbqtc_tasks(tmp_path, rerank, *retrieval_tables(rows[:50]))
    local = cmteb_eval.evaluate(reranker=str(served_reranker_dir), tasks=["QbqtcReranking"], task_files=[str(card)],
                                device="cpu")
    served = cmteb_eval.evaluate(reranker=infinity.url, tasks=["QbqtcReranking"], task_files=[str(card)],
                                 api="infinity", model_name="tiny-reranker", api_key_env=KEY_VAR, concurrency=1)
    ours, theirs = local.metrics()["QbqtcReranking"]["dev"], served.metrics()["QbqtcReranking"]["dev"]
    assert set(ours) == set(theirs)
    for metric, value in ours.items():
        assert theirs[metric] == pytest.approx(value, abs=1e-6), metric
    from cmteb_eval.models.rerankers.cross_encoder import load_reranker

    pairs = [(q, p) for q, docs in zip(rerank["query"], rerank["positive"]) for p in docs][:200]
    scorer = ServedReranker(infinity.url, api="infinity", model_name="tiny-reranker", api_key_env=KEY_VAR,
                            options=ClientOptions(batch_size=7))
    np.testing.assert_allclose(scorer.score_pairs(pairs),
                               load_reranker(served_reranker_dir, device="cpu").score_pairs(pairs), atol=1e-5)


def test_429_and_500_are_retried_and_retry_after_is_honoured(infinity):
    texts = ["the cat sat on the mat", "a man plays the guitar", "今天天气很好"]
    direct = embedder(infinity.url).encode(texts)
    with FaultProxy(infinity.url) as proxy:
        served = embedder(proxy.url)  # its first POST (the dimension probe) gets through
        proxy.statuses = [(429, {"Retry-After": "1"}), (500, {})]
        np.testing.assert_allclose(served.encode(texts), direct, atol=1e-6)
        posts = [(t, status) for t, method, _, status in proxy.seen if method == "POST"]
        assert [status for _, status in posts[-3:]] == [429, 500, 200]
        assert posts[-2][0] - posts[-3][0] >= 0.95  # waited what Retry-After said, not the 0.05 s backoff
        assert served.client.retried == 2
        proxy.statuses = [(503, {})] * 4
        with pytest.raises(ServedModelError, match=r"POST http://127\.0\.0\.1:\d+/embeddings failed after 4 "
                                                   r"attempt\(s\); the last: HTTP 503"):
            served.encode(["a text not cached"])


@pytest.mark.parametrize("garbage, expected", [
    (lambda path, body, n: b"<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>",
     r"answered with an HTML page, not JSON: '<!DOCTYPE html><html><body><h1>Welcome to nginx!"),
    (json_rewrite(lambda answer: {**answer, "data": answer["data"][:-1]}), r"answered 2 embeddings for 3 input"),
    (lambda path, body, n: body if n < 3 else json.dumps(
        {"data": [{"index": i, "embedding": [0.5] * 100} for i in range(3)]}).encode(),
     r"answered 100-dimensional vectors, but earlier answers of this endpoint were 384-dimensional"),
    (json_rewrite(lambda answer: {"object": "error", "message": "model overloaded"}),
     r"answered '\{\"object\": \"error\", \"message\": \"model overloaded\"\}', not an embeddings answer"),
])
def test_garbage_answers_are_clear_errors(infinity, garbage, expected):
    with FaultProxy(infinity.url) as proxy:
        served = embedder(proxy.url, options=ClientOptions(batch_size=3, retries=0))
        proxy.rewrite = garbage
        with pytest.raises(ServedModelError, match=expected):
            served.encode(["one text", "two texts", "three texts", "four", "five", "six"])


def test_another_served_model_id_is_a_cache_miss(infinity, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache")
    texts = ["the cat sat on the mat", "a dog"]
    with FaultProxy(infinity.url) as proxy:
        embedder(proxy.url, cache=cache).encode(texts)
        again = embedder(proxy.url, cache=cache)
        progress.METER.reset()
        again.encode(texts)
        assert progress.METER.cache_hits == 2 and progress.METER.requests == 0
        # the server now reports another id for the model: a new key, never the stored vectors
        proxy.rewrite_get = lambda path, body: body.replace(b'"minilm"', b'"minilm-retrained"')
        proxy.rewrite_request = lambda body: body.replace(b'"minilm-retrained"', b'"minilm"')
        retrained = ServedEmbedder(proxy.url, api="infinity", api_key_env=KEY_VAR, cache=cache, options=FAST)
        assert retrained.served_model_id == "minilm-retrained"
        progress.METER.reset()
        retrained.encode(texts)
        assert progress.METER.cache_hits == 0 and progress.METER.requests == 1


def test_a_missing_or_wrong_key_is_a_clear_error(infinity, monkeypatch):
    with pytest.raises(ServedModelError, match=r"answered HTTP 40[13].*--api-key-env"):
        ServedEmbedder(infinity.url, api="infinity", model_name="minilm")
    monkeypatch.setenv("CMTEB_TEST_OTHER_KEY", "not-the-key")
    with pytest.raises(ServedModelError, match="HTTP 40[13]") as caught:
        ServedEmbedder(infinity.url, api="infinity", model_name="minilm", api_key_env="CMTEB_TEST_OTHER_KEY")
    assert "not-the-key" not in str(caught.value)


def test_a_server_killed_mid_run_then_a_resume_finishes_with_the_same_score(server_python, minilm_dir, minilm,
                                                                           shared, tmp_path):
    """The CLI end to end, on the first 600 pairs of STSB test: the kill is a clear error naming the
    endpoint; every batch received was stored; the rerun (same server, same port) reads them back
    and finishes with the local score. The API key stays out of every file and line printed."""
    tasks = tmp_path / "tasks"
    (tasks / "STSBPart").mkdir(parents=True)
    lines = (shared / "data" / "cmteb" / "STSB" / "test.jsonl").read_text(encoding="utf-8").splitlines()[:600]
    (tasks / "STSBPart" / "test.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tasks / "STSBPart.toml").write_text(
        'name = "STSBPart"\ntype = "STS"\nlanguages = ["cmn-Hans"]\neval_splits = ["test"]\n'
        'main_metric = "cosine_spearman"\n[dataset]\nhub_id = "C-MTEB/STSB"\nrevision = "local"\n'
        'local_dir = "STSBPart"\n', encoding="utf-8")
    spec = Registry.load([str(tasks / "STSBPart.toml")]).task("STSBPart")
    local = evaluate_task(spec, minilm, [])["test"].scores["cosine_spearman"]
    server = InfinityServer(server_python, {"minilm": minilm_dir}, log=tmp_path / "server.log", api_key=KEY)
    args = ["run", "--model", None, "--api", "infinity", "--model-name", "minilm", "--api-key-env", KEY_VAR,
            "--task-file", str(tasks / "STSBPart.toml"), "--tasks", "STSBPart", "--output-dir", str(tmp_path / "out"),
            "--cache-dir", str(tmp_path / "cache"), "--concurrency", "1", "--max-retries", "1", "--quiet"]
    env = {KEY_VAR: KEY, "CMTEB_EVAL_CACHE_CHUNK_ROWS": "32"}
    server.start()
    args[2] = server.url
    try:
        killer = threading.Thread(target=_kill_after, args=(server, 12))
        killer.start()
        first = cli(*args, env=env)
        killer.join()
    finally:
        server.stop()
    assert first.returncode == 1, first.stdout + first.stderr
    assert f"POST {server.url}/embeddings failed after 2 attempt(s); the last: ConnectionRefusedError" in first.stderr
    server = InfinityServer(server_python, {"minilm": minilm_dir}, port=server.port, log=tmp_path / "server2.log",
                            api_key=KEY).start()
    try:
        second = cli(*args, env=env)
    finally:
        server.stop()
    assert second.returncode == 0, second.stdout + second.stderr
    hits = int(re.search(r"Embedding cache .*?: (\d+) hit", second.stdout).group(1))
    assert hits >= 8 * 32  # the batches received before the kill were kept
    result = json.loads(next((tmp_path / "out").rglob("STSBPart.json")).read_text(encoding="utf-8"))
    assert result["scores"]["test"][0]["cosine_spearman"] == pytest.approx(local, abs=1e-4)
    assert result["harness"]["timing"]["requests"] > 0
    everything = first.stdout + first.stderr + second.stdout + second.stderr + "".join(
        p.read_text(encoding="utf-8", errors="replace") for p in tmp_path.rglob("*") if p.is_file()
        and p.suffix in (".json", ".jsonl", ".md", ".txt", ".toml") and "server" not in p.name)
    assert KEY not in everything


def _kill_after(server: InfinityServer, requests: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.requests_logged("/embeddings") < requests:
        time.sleep(0.02)
    server.kill()

