"""Where the embedding cache's vectors are, without holding them: the read side of ``cache.py`` at
MSMARCO scale (8.8M passages).

A namespace's index keeps, per cached text, only the first 8 bytes of its hash (sorted, uint64) and its
place (shard number << 32 | row): 16 bytes a text, 141 MB for 8.8M texts, whatever the dimension. A
lookup finds the places of the texts asked for, reads each shard that holds some of them (one at a
time, checksum verified by ``cache.read_shard``) and copies out just those rows; a shard's vectors are
never kept. A text whose full hash does not equal the shard's (a prefix collision, about one in 1e6
at 8.8M texts) is a miss, recomputed, never a wrong vector.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

ROW_BITS = 32


def prefixes(hashes: np.ndarray) -> np.ndarray:
    """[n, 32] uint8 text hashes -> their first 8 bytes as [n] uint64."""
    return np.ascontiguousarray(hashes[:, :8]).view("<u8").ravel()


class ShardIndex:
    """Sorted hash prefixes and places of every row of the shards added (``paths``; None: unusable)."""

    def __init__(self) -> None:
        self.paths: list[Path | None] = []
        self._keys = np.empty(0, np.uint64)
        self._places = np.empty(0, np.int64)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return len(self._keys) + sum(len(keys) for keys, _ in self._pending)

    def add(self, path: Path, hashes: np.ndarray) -> None:
        shard = len(self.paths)
        self.paths.append(path)
        places = (np.int64(shard) << ROW_BITS) | np.arange(len(hashes), dtype=np.int64)
        self._pending.append((prefixes(hashes), places))

    def _merge(self) -> None:
        if self._pending:  # a stable sort of sorted runs: linear (timsort), and the older place wins
            keys = np.concatenate([self._keys, *(k for k, _ in self._pending)])
            places = np.concatenate([self._places, *(p for _, p in self._pending)])
            order = np.argsort(keys, kind="stable")
            self._keys, self._places, self._pending = keys[order], places[order], []

    def find(self, hashes: np.ndarray) -> np.ndarray:
        """Per wanted hash ([n, 32] uint8): the place of a row with the same prefix, or -1."""
        self._merge()
        wanted = prefixes(hashes)
        if not len(self._keys):
            return np.full(len(wanted), -1, np.int64)
        at = np.minimum(np.searchsorted(self._keys, wanted), len(self._keys) - 1)
        return np.where(self._keys[at] == wanted, self._places[at], -1)


def gather(index: ShardIndex, wanted: np.ndarray,
           load: Callable[[int], tuple[np.ndarray, np.ndarray] | None]) -> dict[int, np.ndarray]:
    """Cached vectors by position of ``wanted`` (hashes [n, 32]); ``load(shard)`` reads one shard's
    (hashes, vectors), or None when it cannot be used. One shard is held at a time."""
    places = index.find(wanted)
    hit = np.nonzero(places >= 0)[0]
    shards = places[hit] >> ROW_BITS
    order = np.argsort(shards, kind="stable")
    found: dict[int, np.ndarray] = {}
    for group in np.split(hit[order], np.nonzero(np.diff(shards[order]))[0] + 1) if len(hit) else ():
        loaded = load(int(places[group[0]] >> ROW_BITS))
        if loaded is None:
            continue
        hashes, vectors = loaded
        rows = places[group] & ((1 << ROW_BITS) - 1)
        same = (hashes[rows] == wanted[group]).all(axis=1)
        block = np.array(vectors[rows[same]])  # a copy of the rows asked for, not a view of the shard
        found.update(zip(group[same].tolist(), block))
        del loaded, hashes, vectors
    return found
