"""Batching, thread settings, out-of-memory retry and the onnx backend's parity with plain torch."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from cmteb_eval.errors import EmbeddingError, UserError
from cmteb_eval.models.encoders import runtime
from cmteb_eval.models.encoders.embedder import load_embedder
from cmteb_eval.models.protocol import PASSAGE

TEXTS = ["the cat sat on the mat", "hi", "what is panda? the giant panda is a bear species of china",
         "今天天气很好", "a dog", "hi", "猫狗", "the cat", "represent this sentence for searching relevant passages",
         "今天天气很好我喜欢吃苹果"] * 3 + ["a"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 300), max_size=200), st.integers(1, 2000), st.integers(1, 64))
def test_token_budget_batches_cover_every_text_once_within_budget(lengths, max_tokens, max_texts):
    batches = runtime.token_budget_batches(lengths, max_tokens, max_texts)
    flat = np.concatenate(batches) if batches else np.array([], dtype=np.int64)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    for batch in batches:
        assert 1 <= len(batch) <= max_texts
        padded = len(batch) * max(lengths[i] for i in batch)
        assert padded <= max_tokens or len(batch) == 1
    # longest first, so each batch pads to about its own length
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)


@pytest.fixture(scope="module")
def reference(tiny_bert):
    """One text at a time through transformers' own forward: no padding at all, the plain per-text recipe."""
    model = load_embedder(tiny_bert, model_name="BAAI/bge-base-zh-v1.5", batch_size=1, backend="torch")
    return np.stack([model.encode([t], role=PASSAGE)[0] for t in TEXTS])


@pytest.mark.parametrize("max_tokens,batch_size", [(8, 32), (40, 3), (100_000, 256), (2048, 32)])
def test_any_batching_gives_the_same_rows_in_input_order(tiny_bert, reference, max_tokens, batch_size):
    model = load_embedder(tiny_bert, model_name="BAAI/bge-base-zh-v1.5", batch_size=batch_size,
                          max_batch_tokens=max_tokens)
    np.testing.assert_allclose(model.encode(TEXTS, role=PASSAGE), reference, atol=1e-5)


def test_out_of_memory_halves_the_batch_and_retries():
    lengths = [5, 9, 3, 9, 1, 7, 2, 8, 4, 6, 5, 5]
    seen, done = [], []

    def forward(batch):  # a device that holds at most 30 padded tokens
        padded = len(batch) * max(lengths[i] for i in batch)
        seen.append((len(batch), padded))
        if padded > 30:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        done.extend(batch.tolist())

    plan = runtime.BatchPlan(max_tokens=10_000, max_texts=12)
    plan.run(lengths, forward)
    assert sorted(done) == list(range(len(lengths))) and len(done) == len(lengths)
    assert [count for count, _ in seen[:3]] == [12, 6, 3] and plan.halvings == 2
    assert max(padded for _, padded in seen[3:]) <= 30  # the smaller budget is kept for the rest of the run


def test_out_of_memory_inside_the_embedder_is_retried_with_identical_results(tiny_bert, reference):
    model = load_embedder(tiny_bert, model_name="BAAI/bge-base-zh-v1.5", batch_size=64, max_batch_tokens=10_000)
    real = model._forward

    def flaky(input_ids, attention_mask):
        if input_ids.shape[0] > 4:  # what a GPU with too little memory does
            raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB")
        return real(input_ids, attention_mask)

    model._forward = flaky
    np.testing.assert_allclose(model.encode(TEXTS, role=PASSAGE), reference, atol=1e-5)
    assert model.plan.halvings >= 1


def test_a_single_text_that_never_fits_is_a_clear_error(tiny_bert):
    model = load_embedder(tiny_bert, model_name="BAAI/bge-base-zh-v1.5")

    def never(input_ids, attention_mask):
        raise torch.OutOfMemoryError("CUDA out of memory")

    model._forward = never
    with pytest.raises(EmbeddingError, match="out of memory .* batch of one"):
        model.encode(["hi"])


def test_other_errors_are_not_mistaken_for_out_of_memory():
    def broken(batch):
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        runtime.BatchPlan(100, 10).run([3, 4], broken)


def test_half_precision_embeddings_come_back_as_float32_close_to_fp32(tiny_bert, reference):
    # The CUDA default is fp16; its pooling/normalisation path runs on CPU in bf16 here.
    model = load_embedder(tiny_bert, model_name="BAAI/bge-base-zh-v1.5", dtype="bfloat16")
    vectors = model.encode(TEXTS, role=PASSAGE)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, reference, atol=5e-2)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)  # normalised in fp32


def test_threads_follow_physical_cores_unless_the_user_chose(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        monkeypatch.delenv("CMTEB_EVAL_THREADS", raising=False)
        cores = runtime.physical_cores()
        assert cores >= 1
        assert runtime.configure_cpu_threads() == cores == torch.get_num_threads()
        assert runtime.configure_cpu_threads(processes=2) == max(1, cores // 2)
        monkeypatch.setenv("CMTEB_EVAL_THREADS", "1")
        assert runtime.configure_cpu_threads() == 1 == torch.get_num_threads()
        import os

        assert os.environ["TOKENIZERS_PARALLELISM"] == "false"
    finally:
        torch.set_num_threads(before)


def test_unknown_backend_and_onnx_on_gpu_are_user_errors(tiny_bert):
    with pytest.raises(UserError, match="Unknown backend"):
        load_embedder(tiny_bert, model_name="BAAI/bge-base-zh-v1.5", backend="tensorrt")
    with pytest.raises(UserError, match="onnx backend runs on CPU in float32"):
        load_embedder(tiny_bert, model_name="BAAI/bge-base-zh-v1.5", backend="onnx", dtype="bfloat16")


def test_onnx_backend_equals_plain_torch_on_a_tiny_bert(tiny_bert, reference):
    pytest.importorskip("onnxruntime")
    model = load_embedder(tiny_bert, model_name="BAAI/bge-base-zh-v1.5", backend="onnx")
    np.testing.assert_allclose(model.encode(TEXTS, role=PASSAGE), reference, atol=1e-4)


def test_onnx_backend_equals_plain_torch_on_minilm_real_sts(minilm_dir, shared):
    pytest.importorskip("onnxruntime")
    from cmteb_eval.evaluators.sts import sts_scores

    rows = [json.loads(line) for line in (shared / "data/cmteb/STSB/test.jsonl").open(encoding="utf-8")][:300]
    first, second = [r["sentence1"] for r in rows], [r["sentence2"] for r in rows]
    gold = [float(r["score"]) for r in rows]
    scores = {}
    for backend in ("torch", "onnx"):
        model = load_embedder(minilm_dir, model_name="sentence-transformers/all-MiniLM-L6-v2", backend=backend)
        vectors = model.encode(first + second)
        scores[backend] = (vectors, sts_scores(vectors[:300], vectors[300:], gold))
    np.testing.assert_allclose(scores["onnx"][0], scores["torch"][0], atol=1e-4)
    from noise_bounds import sts_tolerances

    vectors = scores["torch"][0]
    tolerance = sts_tolerances(vectors[:300], vectors[300:], base=1e-4)  # a Spearman may move where values near-tie
    for metric, value in scores["torch"][1].items():
        assert abs(scores["onnx"][1][metric] - value) <= tolerance[metric], metric
