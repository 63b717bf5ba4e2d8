"""The served-model client without a server: batching, Retry-After, what an answer must hold (each
API's documented answer shape, written out), the warning for plain http to another host, the API
key read from a named variable, and options refused before any request. No traffic leaves this
process here; the real-server tests are in test_served_server.py."""

from __future__ import annotations

import email.utils
import time

import numpy as np
import pytest

from cmteb_eval.errors import UserError
from cmteb_eval.models.served.apis import api_for
from cmteb_eval.models.served.client import (ServedModelError, batches, check_url, leaves_machine_warning,
                                              read_api_key, retry_after, run_concurrently)

URL = "http://127.0.0.1:1/embeddings"


def test_batches_cap_count_and_characters():
    texts = ["a" * 10, "b" * 10, "c" * 10, "d" * 50, "e", "f"]
    assert [list(r) for r in batches(texts, max_count=2, max_chars=1000)] == [[0, 1], [2, 3], [4, 5]]
    assert [list(r) for r in batches(texts, max_count=10, max_chars=30)] == [[0, 1, 2], [3], [4, 5]]
    assert batches([], 4, 10) == []


def test_retry_after_in_seconds_or_as_a_date_and_capped():
    assert retry_after("2", 0.5) == 2.0
    assert retry_after(None, 0.5) == 0.5
    assert retry_after("nonsense", 0.5) == 0.5
    assert 8 <= retry_after(email.utils.formatdate(time.time() + 10, usegmt=True), 0.5) <= 10
    assert retry_after("100000", 0.5) == 120.0


def test_run_concurrently_keeps_every_answer_before_raising_the_first_failure():
    got = {}

    def work(i):
        if i == 3:
            raise ServedModelError("boom")
        return i * 10

    with pytest.raises(ServedModelError, match="boom"):
        run_concurrently(work, range(6), 2, lambda i, r: got.__setitem__(i, r))
    assert {0, 1, 2} <= set(got) and 3 not in got


@pytest.mark.parametrize("api", ["openai", "infinity"])
def test_openai_answers_are_checked(api):
    shape = api_for(api)
    good = {"data": [{"index": 1, "embedding": [0.0, 1.0]}, {"index": 0, "embedding": [1.0, 0.0]}],
            "usage": {"prompt_tokens": 7, "total_tokens": 7}}
    vectors, tokens = shape.embeddings(good, 2, URL, None)
    np.testing.assert_array_equal(vectors, [[1, 0], [0, 1]])  # by index, not by position
    assert tokens == 7
    with pytest.raises(ServedModelError, match=r"'index' values are not 0\.\.1 once each \(got '\[0, 0\]'\)"):
        shape.embeddings({"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [1.0]}]}, 2, URL, None)
    with pytest.raises(ServedModelError, match="NaN or infinite values in 1 of 2"):
        shape.embeddings({"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [float("nan")]}]},
                         2, URL, None)
    with pytest.raises(ServedModelError, match="not an embeddings answer"):
        shape.embeddings(["not", "a", "dict"], 3, URL, None)
    scores, _ = shape.rerank_scores({"results": [{"index": 1, "relevance_score": 0.2},
                                                 {"index": 0, "relevance_score": 0.9}]}, 2, URL)
    np.testing.assert_allclose(scores, [0.9, 0.2])
    with pytest.raises(ServedModelError, match="answered 1 results for 2 input"):
        shape.rerank_scores({"results": [{"index": 0, "relevance_score": 0.9}]}, 2, URL)


def test_tei_answers_are_checked():
    tei = api_for("tei")
    vectors, _ = tei.embeddings([[1.0, 2.0], [3.0, 4.0]], 2, URL, 2)
    assert vectors.shape == (2, 2) and vectors.dtype == np.float32
    with pytest.raises(ServedModelError, match="answered 1 vector"):
        tei.embeddings([[1.0, 2.0]], 2, URL, 2)
    with pytest.raises(ServedModelError, match="3-dimensional vectors, but earlier answers of this endpoint were 2"):
        tei.embeddings([[1.0, 2.0, 3.0]], 1, URL, 2)
    scores, _ = tei.rerank_scores([{"index": 1, "score": -1.5}, {"index": 0, "score": 2.5}], 2, URL)
    np.testing.assert_allclose(scores, [2.5, -1.5])
    assert tei.rerank_body(None, "q", ["a", "b"]) == {"query": "q", "texts": ["a", "b"], "raw_scores": True,
                                                      "truncate": True}
    assert tei.base("http://h:8080/embed") == tei.base("http://h:8080/rerank/") == "http://h:8080"
    assert api_for("openai").base("http://h:8000/v1/embeddings") == "http://h:8000/v1"


def test_plain_http_to_another_host_warns_that_texts_leave_the_machine():
    for local in ("http://127.0.0.1:7997", "http://localhost:8080/v1", "http://[::1]:80", "https://api.example.com/v1"):
        assert leaves_machine_warning(local) is None, local
    warning = leaves_machine_warning("http://gpu-box.example:8080/v1")
    assert "texts leave this machine unencrypted" in warning and "gpu-box.example" in warning
    with pytest.raises(UserError, match="not an http:// or https:// URL"):
        check_url("ftp://host/v1")


def test_the_cli_warns_before_anything_is_sent(tmp_path, capsys, monkeypatch):
    """An unset key variable stops the run right after the warning: nothing is sent to the host."""
    from cmteb_eval.cli import main

    monkeypatch.delenv("CMTEB_TEST_UNSET_KEY", raising=False)
    code = main(["run", "--model", "http://gpu-box.example:8080/v1", "--api-key-env", "CMTEB_TEST_UNSET_KEY",
                 "--tasks", "DemoSTSEn", "--output-dir", str(tmp_path)])
    out = capsys.readouterr()
    assert code == 2
    assert "the task's texts leave this machine unencrypted" in out.out + out.err
    assert "CMTEB_TEST_UNSET_KEY, but that environment variable is not set" in out.err


def test_the_key_comes_from_the_named_variable_only(monkeypatch):
    monkeypatch.setenv("CMTEB_TEST_KEY", "s3cret")
    assert read_api_key("CMTEB_TEST_KEY") == "s3cret"
    assert read_api_key(None) is None
    monkeypatch.setenv("CMTEB_TEST_KEY", "")
    with pytest.raises(UserError, match="CMTEB_TEST_KEY") as caught:
        read_api_key("CMTEB_TEST_KEY")
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize("extra, message", [
    (["--api", "tei"], "--api tei is for a model behind a URL"),
    (["--model", "http://127.0.0.1:9/v1", "--pooling", "cls"], "--pooling cannot apply to a served model"),
    (["--model", "http://127.0.0.1:9/v1", "--concurrency", "0"], "--concurrency must be at least 1"),
])
def test_served_options_refused_before_any_request(extra, message, tmp_path, capsys):
    from cmteb_eval.cli import main

    assert main(["run", *extra, "--tasks", "DemoSTSEn", "--output-dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
