"""A cache shard is used only by the namespace whose key it holds (issue 14, case 2), and the
cache's metadata is shown whatever it holds (case 7)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from cmteb_eval.models.cache.store import EmbeddingCache, ForeignShard, namespace_id, read_shard, write_shard
from cmteb_eval.models.encoders.embedder import load_embedder
from cmteb_eval.models.protocol import PASSAGE
from mutation_helpers import cli, tiny_models
from reliability_helpers import write_sts_task

TEXTS = ["the cat sat on the mat", "what is panda?", "hi", "今天天气很好", "a dog"]


def embedder(folder, cache, backend="torch"):
    return load_embedder(folder, pooling="cls", device="cpu", cache=cache, backend=backend)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return tiny_models(tmp_path_factory.mktemp("two"))


def test_shards_copied_into_another_models_namespace_are_not_used(tmp_path, models):
    a, b = models
    root = tmp_path / "cache"
    embedder(a, EmbeddingCache(root)).encode(TEXTS, role=PASSAGE)
    folder_a = root / "embeddings" / namespace_id(embedder(a, None).cache_identity(PASSAGE, ""))
    folder_b = root / "embeddings" / namespace_id(embedder(b, None).cache_identity(PASSAGE, ""))
    folder_b.mkdir(parents=True)
    for shard in folder_a.glob("*.npz"):
        shutil.copy(shard, folder_b / shard.name)
    cached = embedder(b, EmbeddingCache(root))
    with pytest.warns(UserWarning, match="not written for this namespace's key") as caught:
        vectors = cached.encode(TEXTS, role=PASSAGE)
        cached.encode(TEXTS[:2], role=PASSAGE)  # reported once, not on every lookup
    assert len([w for w in caught if "namespace's key" in str(w.message)]) == 1
    np.testing.assert_array_equal(vectors, embedder(b, None).encode(TEXTS, role=PASSAGE))
    namespace = next(iter(cached.cache._namespaces.values()))
    assert namespace.stats.foreign_shards == 1 and namespace.stats.misses == len(TEXTS)
    assert all((folder_b / p.name).exists() for p in folder_a.glob("*.npz"))  # left in place, not deleted


def test_the_cli_reports_foreign_shards_and_scores_as_without_the_cache(tmp_path, models):
    a, b = models
    card = write_sts_task(tmp_path / "cards", "Mix", n_rows=24)
    root = tmp_path / "cache"

    def run(model, out, *extra):
        code, log, err = cli("run", "--model", str(model), "--pooling", "cls", "--device", "cpu", "--task-file",
                             str(card), "--tasks", "Mix", "--output-dir", str(out), *extra)
        assert code == 0, err
        return log

    run(a, tmp_path / "out-a", "--cache-dir", str(root))
    (namespace_a,) = (root / "embeddings").iterdir()
    identity_b = embedder(b, None, backend="auto").cache_identity("text", "")  # as the CLI runs it
    target = root / "embeddings" / namespace_id(identity_b)
    shutil.copytree(namespace_a, target)
    log = run(b, tmp_path / "out-b", "--cache-dir", str(root))
    assert "shard(s) of another key not used" in log and " 0 hit(s)" in log
    run(b, tmp_path / "plain", "--no-cache")
    cached = (tmp_path / "out-b").rglob("Mix.json")
    plain = (tmp_path / "plain").rglob("Mix.json")
    import json

    score = lambda paths: [json.loads(p.read_text())["scores"] for p in paths if p.parent.name != "items"]  # noqa
    assert score(cached) == score(plain)


def test_a_shard_carries_its_key_inside_its_checksummed_content(tmp_path):
    hashes, vectors = np.zeros((2, 32), np.uint8), np.ones((2, 4), np.float32)
    mine, other = bytes(range(32)), bytes(32)
    path = write_shard(tmp_path, mine, hashes, vectors)
    assert read_shard(path, mine)[1].shape == (2, 4)
    with pytest.raises(ForeignShard):
        read_shard(path, other)
    assert write_shard(tmp_path, other, hashes, vectors) != path  # same vectors, another key: another shard


def test_an_old_format_shard_is_a_miss_left_in_place(tmp_path, models):
    import hashlib

    a, _ = models
    root = tmp_path / "cache"
    identity = embedder(a, None).cache_identity(PASSAGE, "")
    folder = root / "embeddings" / namespace_id(identity)
    folder.mkdir(parents=True)
    from cmteb_eval.models.cache.store import text_hash

    hashes = np.frombuffer(b"".join(text_hash(t) for t in TEXTS), np.uint8).reshape(-1, 32)
    vectors = np.ones((len(TEXTS), 32), np.float32)  # not this model's vectors
    digest = hashlib.sha256(hashes.tobytes() + str(vectors.shape).encode() + vectors.tobytes()).hexdigest()
    old = folder / f"{digest}.npz"
    np.savez(old, hashes=hashes, vectors=vectors)  # a format-1 shard: no key inside
    with pytest.warns(UserWarning, match="older cache format"):
        got = embedder(a, EmbeddingCache(root)).encode(TEXTS, role=PASSAGE)
    assert not np.allclose(got, 1.0) and old.exists()


@pytest.mark.parametrize("meta", ['[1, 2]', '"text"', '{"model": "x", "entries": "many", "role": [1]}',
                                  '{"model": {"id": ["a"], "weights": 5}}', '{', '{"bytes": null}'])
def test_cache_info_shows_any_metadata_without_a_traceback(tmp_path, meta):
    folder = tmp_path / "embeddings" / "abc"
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text(meta)
    (folder / "dir.npz").mkdir()  # a folder where a shard should be
    code, out, err = cli("cache", "info", "--cache-dir", str(tmp_path))
    assert code == 0 and "| abc |" in out and "0 embeddings" in out, err
