"""The embedding adapter against the model card's plain-transformers recipe and sentence-transformers."""

import shutil

import numpy as np
import pytest
import torch

from cmteb_eval.errors import ModelLoadError, WrongModelKindError
from cmteb_eval.models.encoders.embedder import load_embedder
from cmteb_eval.models.protocol import PASSAGE, QUERY, TEXT
from cmteb_eval.tasks.registry import Registry

ZH_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："
SENTENCES = ["the cat sat on the mat", "what is panda?", "hi", "今天天气很好", "a dog", "the cat sat on the mat"]


def model_card_recipe(folder, sentences):
    """The BGE model card's 'Using HuggingFace Transformers' recipe, verbatim in substance."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder)
    model.eval()
    encoded_input = tokenizer(sentences, padding=True, truncation=True, return_tensors="pt", max_length=512)
    with torch.no_grad():
        model_output = model(**encoded_input)
        sentence_embeddings = model_output[0][:, 0]
    sentence_embeddings = torch.nn.functional.normalize(sentence_embeddings, p=2, dim=1)
    return sentence_embeddings.numpy()


@pytest.fixture(scope="module")
def bge(tiny_bert):
    return load_embedder(tiny_bert, model_name="BAAI/bge-base-zh-v1.5", batch_size=2)


def test_bge_settings_come_from_the_known_card(bge):
    assert bge.settings.pooling == "cls" and bge.settings.normalize
    # the card's 512 tokens, capped to the tiny model's 128 position embeddings (more would crash the forward)
    assert bge.settings.max_length == 128 and "capped at the model's 128 positions" in bge.settings.settings_source
    assert bge.settings.query_instruction == ZH_INSTRUCTION


def test_bge_embeddings_equal_the_model_card_recipe(bge, tiny_bert):
    ours = bge.encode(SENTENCES, role=PASSAGE)
    np.testing.assert_allclose(ours, model_card_recipe(tiny_bert, SENTENCES), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)


def test_instruction_reaches_queries_only(bge, tiny_bert):
    registry = Registry.load()
    retrieval, sts = registry.task("T2Retrieval"), registry.task("LCQMC")
    queries = ["what is panda?", "今天天气很好"]
    with_instruction = model_card_recipe(tiny_bert, [ZH_INSTRUCTION + q for q in queries])
    np.testing.assert_allclose(bge.encode(queries, role=QUERY, task=retrieval), with_instruction, atol=1e-5)
    plain = model_card_recipe(tiny_bert, queries)
    np.testing.assert_allclose(bge.encode(queries, role=PASSAGE, task=retrieval), plain, atol=1e-5)
    np.testing.assert_allclose(bge.encode(queries, role=QUERY, task=sts), plain, atol=1e-5)
    np.testing.assert_allclose(bge.encode(queries, role=TEXT, task=retrieval), plain, atol=1e-5)
    assert bge.describe(retrieval)["query_instruction"] == ZH_INSTRUCTION
    assert bge.describe(sts)["query_instruction"] == ""


def test_instruction_can_be_switched_off(tiny_bert):
    off = load_embedder(tiny_bert, model_name="BAAI/bge-base-zh-v1.5", use_instruction=False)
    task = Registry.load().task("T2Retrieval")
    np.testing.assert_allclose(off.encode(["hi"], role=QUERY, task=task), model_card_recipe(tiny_bert, ["hi"]),
                               atol=1e-5)
    assert off.describe(task)["query_instruction"] == ""


def test_minilm_equals_sentence_transformers(minilm, minilm_dir):
    from sentence_transformers import SentenceTransformer

    texts = ["A man is playing a guitar.", "一个女孩在梳头。", "short", "x " * 400, "A man is playing a guitar."]
    reference = SentenceTransformer(str(minilm_dir), device="cpu").encode(texts, batch_size=2)
    assert minilm.settings.pooling == "mean" and minilm.settings.max_length == 256
    np.testing.assert_allclose(minilm.encode(texts), reference, atol=1e-5)


def test_unknown_model_without_pooling_info_is_refused(tiny_bert):
    with pytest.raises(ModelLoadError, match="--pooling"):
        load_embedder(tiny_bert, model_name="someone/unknown-model")
    assert load_embedder(tiny_bert, model_name="someone/unknown-model", pooling="mean").settings.pooling == "mean"


def test_cross_encoder_is_refused_as_embedder(tiny_reranker):
    with pytest.raises(WrongModelKindError, match="cross-encoder"):
        load_embedder(tiny_reranker, model_name="BAAI/bge-reranker-base")


@pytest.mark.parametrize("missing, message", [
    ("model.safetensors", "no weights"), ("vocab.txt", "no tokenizer"), ("config.json", "no config.json")])
def test_missing_model_files_are_named(tiny_bert, tmp_path, missing, message):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_bert, broken)
    for name in (missing, "tokenizer.json") if missing == "vocab.txt" else (missing,):
        (broken / name).unlink(missing_ok=True)
    with pytest.raises(ModelLoadError, match=message):
        load_embedder(broken, model_name="BAAI/bge-base-zh-v1.5")


def test_missing_folder_and_offline_hub_id_fail_fast(monkeypatch):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_embedder("./no/such/model")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="hub is off"):
        load_embedder("BAAI/bge-base-zh-v1.5")


def test_nan_embeddings_are_detected(bge, monkeypatch):
    from cmteb_eval.errors import EmbeddingError

    monkeypatch.setattr(bge, "_encode_unique", lambda texts: np.full((len(texts), 32), np.nan, np.float32))
    with pytest.raises(EmbeddingError, match="NaN"):
        bge.encode(["hi"])
