"""The embedding cache's store for outputs of varying length per text: bge-m3's lexical weights
([n, 2]: token id, weight) and ColBERT token vectors ([n, dim]), each under its own namespace key
(the model's cache identity plus the output's name), beside the fixed-size vectors of ``store.py``.

Layout: ``embeddings/<namespace>/<sha256>.ragged.npz`` holding the namespace key, the text hashes,
each text's row offsets and all rows (float32). As with ``store.py``'s shards, a shard is named by the
SHA-256 of its content, written atomically, read with ``allow_pickle=False``, and one that is damaged
or written for another key is not used (a damaged one is deleted and its texts recomputed).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...files import open_regular
from .store import FORMAT_VERSION, HASH_BYTES, CacheStats, namespace_id, namespace_key, text_hash

SUFFIX = ".ragged.npz"


def _digest(key: bytes, hashes: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> str:
    digest = hashlib.sha256(b"cmteb-eval ragged v1\0" + key)
    for array in (hashes, offsets, rows):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


class RaggedNamespace:
    """Cached arrays of one output of one model configuration and role, one per text."""

    def __init__(self, root: Path, identity: dict[str, Any], owner=None) -> None:
        self.identity = identity
        self.key = namespace_key(identity)
        self.folder = Path(root) / "embeddings" / namespace_id(identity)
        self.owner = owner  # the EmbeddingCache: a cache that cannot be used is given up, never fails the run
        self.stats = CacheStats()
        if owner is not None:  # counted in the run's cache summary with the dense vectors' namespaces
            self.stats = owner._namespaces.setdefault(f"ragged-{namespace_id(identity)}", self).stats

    def _shards(self, wanted: dict[bytes, int]):
        """(hashes, offsets, rows) of each intact shard of this key that holds a wanted text (a shard's
        hashes are read first; its rows only when it holds one, and then its checksum is verified)."""
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*" + SUFFIX)):
            try:
                with open_regular(path) as handle, np.load(handle, allow_pickle=False) as data:
                    key, hashes = data["key"], data["hashes"]
                    if key.tobytes() != self.key or not any(h.tobytes() in wanted for h in hashes):
                        continue  # another key's shard (copied here) is not ours, and is left alone
                    offsets, rows = data["offsets"], data["rows"]
                if _digest(key.tobytes(), hashes, offsets, rows) != path.name[:-len(SUFFIX)]:
                    raise ValueError("checksum mismatch")
            except Exception as exc:  # noqa: BLE001 -- damaged: recomputed, never used
                warnings.warn(f"embedding cache: shard {path} is damaged ({type(exc).__name__}: {exc}); deleting "
                              f"it, its texts will be recomputed", stacklevel=3)
                try:
                    path.unlink()
                except OSError:
                    pass
                continue
            yield hashes, offsets, rows

    def lookup(self, texts: Sequence[str]) -> tuple[dict[int, np.ndarray], list[int]]:
        """Cached arrays by position, and the positions that must be computed."""
        found: dict[int, np.ndarray] = {}
        wanted = {text_hash(t): i for i, t in enumerate(texts)}
        try:
            for hashes, offsets, rows in self._shards(wanted) if texts else ():
                for row, digest in enumerate(hashes):
                    position = wanted.get(digest.tobytes())
                    if position is not None and position not in found:
                        found[position] = np.array(rows[offsets[row]:offsets[row + 1]])
        except OSError as exc:
            self._give_up(exc, f"reading {self.folder}")
            found = {}
        missing = [i for i in wanted.values() if i not in found]
        self.stats.hits += len(found)
        self.stats.misses += len(missing)
        return found, missing

    def store(self, texts: Sequence[str], arrays: Sequence[np.ndarray]) -> None:
        if not len(texts) or (self.owner is not None and self.owner.unusable is not None):
            return
        hashes = np.frombuffer(b"".join(text_hash(t) for t in texts), dtype=np.uint8).reshape(-1, HASH_BYTES)
        offsets = np.concatenate([[0], np.cumsum([len(a) for a in arrays])]).astype(np.int64)
        width = arrays[0].shape[1]
        rows = np.concatenate([np.asarray(a, dtype=np.float32).reshape(-1, width) for a in arrays]) \
            .astype(np.float32)
        path = self.folder / f"{_digest(self.key, hashes, offsets, rows)}{SUFFIX}"
        temp = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            meta = self.folder / "meta.json"  # what the key is made of, for ``cache info``
            if not meta.is_file():
                meta.write_text(json.dumps({"format": FORMAT_VERSION, **self.identity}, indent=1, ensure_ascii=False),
                                encoding="utf-8")
            fd, temp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=SUFFIX)
            with os.fdopen(fd, "wb") as out:
                np.savez(out, key=np.frombuffer(self.key, dtype=np.uint8), hashes=hashes, offsets=offsets, rows=rows)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
            temp = None
        except OSError as exc:
            self._give_up(exc, f"writing to {self.folder}")
        finally:
            if temp is not None:
                Path(temp).unlink(missing_ok=True)

    def _give_up(self, exc: OSError, doing: str) -> None:
        if self.owner is None:
            raise exc
        self.owner.give_up(exc, doing)


def cached_arrays(texts: list[str], namespace: RaggedNamespace | None, compute) -> list[np.ndarray]:
    """One array per distinct text: cached ones read, the rest ``compute``d (a list, in order) and stored."""
    out: list = [None] * len(texts)
    missing = list(range(len(texts)))
    if namespace is not None:
        found, missing = namespace.lookup(texts)
        for position, array in found.items():
            out[position] = array
    if missing:
        computed = compute([texts[i] for i in missing])
        for position, array in zip(missing, computed):
            out[position] = array
        if namespace is not None:
            namespace.store([texts[i] for i in missing], computed)
    return out
