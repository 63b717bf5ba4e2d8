"""The embedding cache's read side at scale: an index of where vectors are, never the vectors."""

from __future__ import annotations

import numpy as np

from cmteb_eval.models.cache.store import Namespace, text_hash
from cmteb_eval.models.cache.index import ShardIndex, gather


def hashes_of(texts):
    return np.frombuffer(b"".join(text_hash(t) for t in texts), dtype=np.uint8).reshape(-1, 32)


def test_lookups_across_many_shards_return_each_texts_own_vector(tmp_path, monkeypatch):
    import cmteb_eval.models.cache.store as cache

    monkeypatch.setattr(cache, "SHARD_ROWS", 7)  # 100 texts in 15 shards
    namespace = Namespace(tmp_path / "ns", {"model": "synthetic"})
    texts = [f"passage {i}" for i in range(100)]
    vectors = np.random.default_rng(0).normal(size=(100, 4)).astype(np.float32)
    namespace.store(texts, vectors)
    fresh = Namespace(tmp_path / "ns", {"model": "synthetic"})  # reads the shards from disk
    asked = texts[::-3] + ["never stored"]
    found, missing = fresh.lookup(asked)
    assert missing == [len(asked) - 1]
    for position, text in enumerate(asked[:-1]):
        np.testing.assert_array_equal(found[position], vectors[texts.index(text)])
    assert len(fresh._index.paths) == 15
    # what the namespace keeps is the index: 16 bytes a text, no vectors
    index = fresh._index
    index.find(hashes_of(["x"]))  # merged
    assert index._keys.nbytes + index._places.nbytes == 16 * 100
    assert not [v for v in vars(fresh).values() if isinstance(v, np.ndarray)]


def test_a_hash_prefix_shared_by_two_texts_is_a_miss_never_the_other_texts_vector():
    index = ShardIndex()
    stored = hashes_of(["a"])
    index.add("shard-0", stored)
    other = stored.copy()
    other[0, 20] ^= 1  # the same first 8 bytes, another text
    found = gather(index, other, lambda shard: (stored, np.ones((1, 3), np.float32)))
    assert found == {}
    found = gather(index, stored, lambda shard: (stored, np.ones((1, 3), np.float32)))
    assert list(found) == [0]


def test_only_the_shards_holding_wanted_texts_are_read_one_at_a_time():
    index = ShardIndex()
    shards = [hashes_of([f"{s}-{i}" for i in range(5)]) for s in range(4)]
    for s, h in enumerate(shards):
        index.add(f"shard-{s}", h)
    read = []

    def load(shard):
        read.append(shard)
        return shards[shard], np.full((5, 2), shard, np.float32)

    found = gather(index, np.concatenate([shards[2][:2], shards[0][4:]]), load)
    assert sorted(read) == [0, 2] and len(read) == 2
    assert [float(found[p][0]) for p in range(3)] == [2.0, 2.0, 0.0]
