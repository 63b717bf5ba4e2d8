"""Shared fixtures: the ../shared data, the packaged MiniLM, tiny random BERT models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    return Path(os.environ.get("CMTEB_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared (real C-MTEB data). In CI it must exist: a missing copy fails, never skips."""
    path = shared_dir()
    if not (path / "data").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the shared data at {path} (set CMTEB_SHARED_DIR)")
        pytest.skip(f"shared data not found at {path}")
    return path


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    from cmteb_eval.cli import packaged_minilm

    return packaged_minilm()


@pytest.fixture(scope="session")
def minilm(minilm_dir):
    from cmteb_eval.models.encoders.embedder import load_embedder

    return load_embedder(minilm_dir, model_name="sentence-transformers/all-MiniLM-L6-v2", batch_size=64)


VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghijklmnopqrstuvwxyz0123456789.,:?!") + \
    list("为这个句子生成表示以用于检索相关文章：今天天气很好我喜欢吃苹果一男人在弹吉他猫狗") + \
    ["represent", "this", "sentence", "for", "searching", "relevant", "passages", "the", "cat", "dog", "sat", "on",
     "mat", "a", "what", "is", "panda", "hi", "giant", "bear", "species", "china"]


def write_tiny_bert(folder: Path, *, classifier: bool = False, seed: int = 0, initializer_range: float = 0.02) -> Path:
    """A small randomly initialised BERT (or BertForSequenceClassification) saved with its tokenizer.

    At BERT's default initializer_range every text gets nearly the same vector (cosines
    within 1e-5 of 1), so a score over them is ill-conditioned; a larger range spreads them.
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(dict.fromkeys(VOCAB)) + "\n", encoding="utf-8")
    # from the folder: transformers 5 ignores BertTokenizerFast(vocab_file=...) and keeps only the
    # special tokens, which would turn every word into [UNK]
    tokenizer = BertTokenizerFast.from_pretrained(str(folder), do_lower_case=True)
    assert tokenizer("what is panda?")["input_ids"].count(tokenizer.unk_token_id) == 0
    config = BertConfig(vocab_size=len(dict.fromkeys(VOCAB)), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                        num_labels=1, initializer_range=initializer_range)
    torch.manual_seed(seed)
    model = (BertForSequenceClassification if classifier else BertModel)(config)
    model.eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    return write_tiny_bert(tmp_path_factory.mktemp("tiny-bge"))


@pytest.fixture(scope="session")
def tiny_reranker(tmp_path_factory) -> Path:
    return write_tiny_bert(tmp_path_factory.mktemp("tiny-reranker"), classifier=True)


@pytest.fixture(scope="session")
def spread_reranker(tmp_path_factory) -> Path:
    """A tiny cross-encoder whose scores are spread (at the default init they lie within ~2e-6 of
    each other, so float noise would decide their order): for tests that compare rankings."""
    return write_tiny_bert(tmp_path_factory.mktemp("spread-reranker"), classifier=True, initializer_range=0.15)


@pytest.fixture(autouse=True, scope="session")
def isolated_embedding_cache(tmp_path_factory):
    """Runs in tests (and their subprocesses) use a temporary embedding cache, never ~/.cache."""
    previous = os.environ.get("CMTEB_EVAL_CACHE")
    os.environ["CMTEB_EVAL_CACHE"] = str(tmp_path_factory.mktemp("embedding-cache"))
    yield
    if previous is None:
        os.environ.pop("CMTEB_EVAL_CACHE", None)
    else:
        os.environ["CMTEB_EVAL_CACHE"] = previous
