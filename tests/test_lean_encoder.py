"""The lean CPU forward equals transformers' forward (BERT and XLM-RoBERTa), and is used only where it applies."""

import json

import numpy as np
import pytest
import torch

from cmteb_eval.errors import UserError
from cmteb_eval.models.encoders import lean_encoder
from cmteb_eval.models.encoders.backends import resolve_backend
from cmteb_eval.models.encoders.embedder import load_embedder
from cmteb_eval.models.encoders.lean_encoder import LeanEncoder, unsupported_reason


def random_batch(vocab: int, pad_id: int, lengths: list[int], seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    longest = max(lengths)
    ids = torch.full((len(lengths), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(lengths), longest), dtype=torch.long)
    for row, length in enumerate(lengths):
        ids[row, :length] = torch.randint(5, vocab, (length,), generator=generator)
        mask[row, :length] = 1
    return ids, mask


def tiny_model(kind: str, **overrides):
    from transformers import BertConfig, BertModel, XLMRobertaConfig, XLMRobertaModel

    config_class, model_class = (BertConfig, BertModel) if kind == "bert" else (XLMRobertaConfig, XLMRobertaModel)
    config = config_class(vocab_size=120, hidden_size=48, num_hidden_layers=3, num_attention_heads=4,
                          intermediate_size=96, max_position_embeddings=80, pad_token_id=1 if kind != "bert" else 0,
                          **overrides)
    torch.manual_seed(3)
    return model_class(config).eval()


@pytest.mark.parametrize("kind", ["bert", "xlm-roberta"])
@pytest.mark.parametrize("onednn", [True, False])
def test_lean_forward_equals_transformers_on_real_tokens(kind, onednn):
    if onednn and not lean_encoder.oned_nn_usable():
        pytest.skip("this torch build has no oneDNN linear")
    model = tiny_model(kind)
    lean = LeanEncoder(model, use_onednn=onednn)
    assert lean.uses_onednn == onednn
    for lengths in ([7, 7, 7], [12, 9, 3, 1], [30]):  # no padding, padding, one text
        ids, mask = random_batch(120, model.config.pad_token_id, lengths)
        with torch.inference_mode():
            expected = model(input_ids=ids, attention_mask=mask).last_hidden_state
            got = lean(ids, mask)
        real = mask.bool()
        assert got.shape == expected.shape
        torch.testing.assert_close(got[real], expected[real], atol=1e-5, rtol=1e-5)


def test_models_outside_the_bert_family_are_not_taken():
    assert unsupported_reason(tiny_model("bert")) is None
    assert "activation" in unsupported_reason(tiny_model("bert", hidden_act="relu"))
    with pytest.raises(ValueError, match="does not support"):
        LeanEncoder(tiny_model("bert", hidden_act="gelu_new"))
    config = tiny_model("bert", hidden_act="relu").config
    assert resolve_backend("auto", "cpu", "float32", config) == "torch"
    assert resolve_backend("auto", "cpu", "float32", tiny_model("bert").config) == "lean"
    assert resolve_backend("auto", "cuda", "float16", tiny_model("bert").config) == "torch"
    assert resolve_backend("auto", "cpu", "float32", tiny_model("bert").config, trust_remote_code=True) == "torch"
    with pytest.raises(UserError, match="lean backend runs BERT-family models on CPU in float32"):
        resolve_backend("lean", "cpu", "float32", config)
    with pytest.raises(UserError, match="lean backend"):
        resolve_backend("lean", "cuda", "float16", tiny_model("bert").config)


def test_auto_backend_is_lean_on_cpu_and_equals_transformers_on_minilm_real_sts(minilm_dir, shared):
    from cmteb_eval.evaluators.sts import sts_scores

    rows = [json.loads(line) for line in (shared / "data/cmteb/STSB/test.jsonl").open(encoding="utf-8")][:300]
    texts = [r["sentence1"] for r in rows] + [r["sentence2"] for r in rows]
    gold = [float(r["score"]) for r in rows]
    results = {}
    for backend in ("auto", "torch"):
        model = load_embedder(minilm_dir, model_name="sentence-transformers/all-MiniLM-L6-v2", backend=backend)
        vectors = model.encode(texts)
        results[model.backend] = (vectors, sts_scores(vectors[:300], vectors[300:], gold))
    assert set(results) == {"lean", "torch"}
    np.testing.assert_allclose(results["lean"][0], results["torch"][0], atol=1e-5)
    from noise_bounds import sts_tolerances

    vectors = results["torch"][0]
    tolerance = sts_tolerances(vectors[:300], vectors[300:])  # a Spearman may move where values near-tie
    for metric, value in results["torch"][1].items():
        assert abs(results["lean"][1][metric] - value) <= tolerance[metric], metric


def test_a_warm_cache_run_needs_neither_torch_nor_transformers(tiny_bert, tmp_path):
    """Served wholly from the cache, encoding imports neither torch nor transformers (their import
    alone would cost a warm run more than its own work)."""
    import subprocess
    import sys

    code = f"""
import sys
from cmteb_eval.models.cache.store import EmbeddingCache
from cmteb_eval.models.encoders.embedder import load_embedder
texts = ["the cat sat on the mat", "hi", "今天天气很好"]
model = load_embedder({str(tiny_bert)!r}, model_name="BAAI/bge-base-zh-v1.5", device="cpu",
                      cache=EmbeddingCache({str(tmp_path)!r}))
vectors = model.encode(texts)
if sys.argv[1] == "warm":
    assert "torch" not in sys.modules and "transformers" not in sys.modules, "imported on a warm run"
print(vectors.sum())
"""
    cold = subprocess.run([sys.executable, "-c", code, "cold"], capture_output=True, text=True, timeout=300)
    warm = subprocess.run([sys.executable, "-c", code, "warm"], capture_output=True, text=True, timeout=300)
    assert cold.returncode == 0, cold.stderr[-2000:]
    assert warm.returncode == 0, warm.stderr[-2000:]
    assert cold.stdout.strip() == warm.stdout.strip()


def test_texts_that_tokenise_alike_get_bit_identical_vectors(tiny_bert):
    """The model sees token ids: 'The CAT' and 'the cat' (lower-cased vocabulary) are one input,
    so their cosine is exactly 1 whatever batches the other texts fall into."""
    model = load_embedder(tiny_bert, model_name="BAAI/bge-base-zh-v1.5", max_batch_tokens=16)
    filler = ["what is panda? the giant panda is a bear species of china", "hi", "a dog", "今天天气很好"]
    vectors = model.encode(["the cat sat on the mat", *filler, "The CAT sat on the MAT"])
    assert np.array_equal(vectors[0], vectors[-1])
    assert not np.array_equal(vectors[0], vectors[1])


def test_a_misbehaving_onednn_op_falls_back_to_addmm(monkeypatch):
    """The oneDNN ops are private torch API: when they fail (or disagree), the lean path uses addmm."""
    if not lean_encoder.oned_nn_usable():
        pytest.skip("this torch build has no oneDNN linear")
    model = tiny_model("bert")

    def broken(*args, **kwargs):
        raise RuntimeError("changed signature")

    class BrokenOps:
        _reorder_linear_weight = staticmethod(torch.ops.mkldnn._reorder_linear_weight)
        _linear_pointwise = staticmethod(broken)

    monkeypatch.setattr(torch.ops, "mkldnn", BrokenOps(), raising=False)
    lean = LeanEncoder(model)
    assert not lean.uses_onednn and all(layer.qkv.packed is None for layer in lean.layers)
    monkeypatch.undo()
    ids, mask = random_batch(120, 0, [9, 4])
    with torch.inference_mode():
        expected = model(input_ids=ids, attention_mask=mask).last_hidden_state
        torch.testing.assert_close(lean(ids, mask)[mask.bool()], expected[mask.bool()], atol=1e-5, rtol=1e-5)
