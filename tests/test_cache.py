"""The persistent embedding cache: keys, reuse, damaged shards, no pickle, the CLI."""

import io
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from cmteb_eval.models.cache.store import EmbeddingCache, namespace_id, read_shard, CorruptShard
from cmteb_eval.models.encoders.embedder import load_embedder
from cmteb_eval.models.protocol import PASSAGE, QUERY, TEXT
from cmteb_eval.tasks.registry import Registry

from conftest import REPO, write_tiny_bert

TEXTS = ["the cat sat on the mat", "what is panda?", "hi", "今天天气很好", "a dog", "the cat sat on the mat"]


def embedder(folder, cache, **kwargs):
    return load_embedder(folder, model_name="BAAI/bge-base-zh-v1.5", batch_size=4, cache=cache, **kwargs)


def shards(root):
    return sorted((root / "embeddings").rglob("*.npz"))


def test_second_run_reads_every_vector_from_the_cache(tiny_bert, tmp_path, monkeypatch):
    first = embedder(tiny_bert, EmbeddingCache(tmp_path))
    cold = first.encode(TEXTS, role=PASSAGE)
    assert len(shards(tmp_path)) == 1
    second = embedder(tiny_bert, EmbeddingCache(tmp_path))  # a new process would see the same
    monkeypatch.setattr(second, "_encode_unique", lambda texts: pytest.fail(f"re-encoded {texts}"))
    warm = second.encode(TEXTS, role=PASSAGE)
    assert np.array_equal(cold, warm)
    namespace = next(iter(second.cache._namespaces.values()))
    assert (namespace.stats.hits, namespace.stats.misses) == (5, 0)


def test_only_new_texts_are_encoded_and_rows_keep_input_order(tiny_bert, tmp_path):
    plain = embedder(tiny_bert, None)
    cached = embedder(tiny_bert, EmbeddingCache(tmp_path))
    cached.encode(TEXTS[:3], role=PASSAGE)
    asked = []
    original = cached._encode_unique
    cached._encode_unique = lambda texts: asked.append(list(texts)) or original(texts)
    mixed = ["a dog", "hi", "今天天气很好", "the cat sat on the mat"]
    np.testing.assert_allclose(cached.encode(mixed, role=PASSAGE), plain.encode(mixed, role=PASSAGE), atol=1e-6)
    assert asked == [["a dog", "今天天气很好"]]


def test_every_setting_that_changes_an_embedding_changes_the_key(tiny_bert, tmp_path):
    base = embedder(tiny_bert, None)
    identity = base.cache_identity(PASSAGE, "")
    variants = [
        base.cache_identity(QUERY, ""),
        base.cache_identity(TEXT, ""),
        base.cache_identity(PASSAGE, "为这个句子生成表示以用于检索相关文章："),
        embedder(tiny_bert, None, pooling="mean").cache_identity(PASSAGE, ""),
        embedder(tiny_bert, None, normalize=False).cache_identity(PASSAGE, ""),
        embedder(tiny_bert, None, max_length=64).cache_identity(PASSAGE, ""),
        embedder(tiny_bert, None, dtype="bfloat16").cache_identity(PASSAGE, ""),
        embedder(tiny_bert, None, backend="onnx").cache_identity(PASSAGE, ""),
        embedder(write_tiny_bert(tmp_path / "other-weights", seed=1), None).cache_identity(PASSAGE, ""),
        {**identity, "model": {"id": "BAAI/bge-base-zh-v1.5", "revision": "abc", "commit": None}},
        {**identity, "model": {"id": "BAAI/bge-base-zh-v1.5", "revision": "def", "commit": None}},
    ]
    keys = [namespace_id(identity)] + [namespace_id(v) for v in variants]
    assert len(set(keys)) == len(keys)
    # the same weights in another folder are the same model
    copy = write_tiny_bert(tmp_path / "same-weights-elsewhere", seed=0)
    assert namespace_id(embedder(copy, None).cache_identity(PASSAGE, "")) == keys[0]


def test_the_query_instruction_is_part_of_the_key(tiny_bert, tmp_path):
    cached = embedder(tiny_bert, EmbeddingCache(tmp_path))
    retrieval = Registry.load().task("T2Retrieval")
    as_query = cached.encode(["what is panda?"], role=QUERY, task=retrieval)
    as_passage = cached.encode(["what is panda?"], role=PASSAGE, task=retrieval)
    plain = embedder(tiny_bert, None)
    np.testing.assert_allclose(as_query, plain.encode(["what is panda?"], role=QUERY, task=retrieval), atol=1e-6)
    np.testing.assert_allclose(as_passage, plain.encode(["what is panda?"], role=PASSAGE, task=retrieval), atol=1e-6)
    assert not np.allclose(as_query, as_passage)


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "swap in other vectors"])
def test_a_damaged_shard_is_detected_deleted_and_recomputed(tiny_bert, tmp_path, damage):
    good = embedder(tiny_bert, EmbeddingCache(tmp_path)).encode(TEXTS, role=PASSAGE)
    (shard,) = shards(tmp_path)
    data = bytearray(shard.read_bytes())
    if damage == "flip a byte":
        data[len(data) // 2] ^= 0xFF
    elif damage == "truncate":
        data = data[: len(data) // 3]
    else:  # a well-formed file whose content does not match its checksum name
        buffer = io.BytesIO()
        with np.load(shard) as original:
            key = original["key"]
        np.savez(buffer, key=key, hashes=np.zeros((5, 32), np.uint8), vectors=np.ones((5, good.shape[1]), np.float32))
        data = buffer.getvalue()
    shard.write_bytes(bytes(data))
    with pytest.raises(CorruptShard):
        read_shard(shard)
    fresh = embedder(tiny_bert, EmbeddingCache(tmp_path))
    with pytest.warns(UserWarning, match="damaged"):
        again = fresh.encode(TEXTS, role=PASSAGE)
    np.testing.assert_allclose(again, good, atol=1e-6)
    namespace = next(iter(fresh.cache._namespaces.values()))
    assert namespace.stats.corrupt_shards == 1 and namespace.stats.misses == 5
    assert len(shards(tmp_path)) == 1 and read_shard(shards(tmp_path)[0])[1].shape == (5, good.shape[1])


def test_shards_hold_plain_arrays_and_pickles_are_never_loaded(tiny_bert, tmp_path):
    embedder(tiny_bert, EmbeddingCache(tmp_path)).encode(TEXTS, role=PASSAGE)
    (shard,) = shards(tmp_path)
    with zipfile.ZipFile(shard) as archive:
        assert sorted(archive.namelist()) == ["hashes.npy", "key.npy", "vectors.npy"]
    hashes, vectors = read_shard(shard)
    assert hashes.dtype == np.uint8 and vectors.dtype == np.float32
    # A shard holding a pickled object array is refused without unpickling it.
    evil = shard.with_name("0" * 64 + ".npz")
    np.savez(evil, hashes=np.array([object()], dtype=object), vectors=np.zeros((1, 4), np.float32))
    with pytest.raises(CorruptShard, match="unreadable"):
        read_shard(evil)


def test_cache_cli_info_and_clear(tiny_bert, tmp_path):
    embedder(tiny_bert, EmbeddingCache(tmp_path)).encode(TEXTS, role=PASSAGE)

    def cli(*args):
        done = subprocess.run([sys.executable, "-m", "cmteb_eval", "cache", *args, "--cache-dir", str(tmp_path)],
                              cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    info = cli("info")
    assert "5 embeddings" in info and "| passage | cls | 128 | float32 | torch | 5 |" in info
    assert "Cleared" in cli("clear")
    assert shards(tmp_path) == [] and "(empty)" in cli("info")


def test_default_location_follows_the_environment(monkeypatch, tmp_path):
    from cmteb_eval.models.cache.store import default_cache_dir

    monkeypatch.setenv("CMTEB_EVAL_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("CMTEB_EVAL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "cmteb-eval"
