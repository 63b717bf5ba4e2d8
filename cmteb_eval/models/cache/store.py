"""A persistent on-disk embedding cache, so reruns and tasks sharing texts reuse embeddings.

Layout under the cache root (``$CMTEB_EVAL_CACHE``, else ``$XDG_CACHE_HOME/cmteb-eval``,
else ``~/.cache/cmteb-eval``)::

    embeddings/<namespace>/meta.json          what the namespace's key is made of
    embeddings/<namespace>/<sha256>.npz       one shard: text hashes + float32 vectors

A namespace is the hash of everything that changes an embedding apart from the text:
model id and revision (or a hash of the local weights and tokenizer files), pooling,
normalisation, max length, dtype, backend, device type, instruction and role. Inside
it a text is keyed by the sha256 of the text itself.

Each shard holds its namespace's key (the full SHA-256 of the identity) beside the text
hashes and vectors, inside the checksummed content, and is read only by the namespace of
that key: a shard copied into another namespace's folder, or one of an older format (no
key), is a miss, reported once and left in place (it is not ours to delete). Shards are
written atomically (temp file, then rename), read with ``allow_pickle=False`` (numpy's zip
container holds plain arrays only), and named by the sha256 of their content: a shard
whose content no longer matches its name, or that cannot be read, is reported, deleted
and its texts recomputed, never used. Only regular files are opened (a FIFO named like a
shard is skipped, never waited on).

A cache that cannot be used at all (its root is a file, a read-only folder, a full disk)
never fails a task: the run says so once, goes on without the cache and keeps every
vector it computed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...files import open_regular
from .index import ShardIndex, gather

FORMAT_VERSION = 2  # 2: the namespace key is inside every shard
SHARD_ROWS = 50_000  # rows per shard file: bounds the size of one write
HASH_BYTES = 32


def default_cache_dir() -> Path:
    """``$CMTEB_EVAL_CACHE``, else ``$XDG_CACHE_HOME/cmteb-eval``, else ``~/.cache/cmteb-eval``."""
    explicit = os.environ.get("CMTEB_EVAL_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "cmteb-eval"


def text_hash(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def namespace_key(identity: dict[str, Any]) -> bytes:
    """The full SHA-256 of the key fields (sorted JSON, format version included)."""
    blob = json.dumps({"format": FORMAT_VERSION, **identity}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).digest()


def namespace_id(identity: dict[str, Any]) -> str:
    """The namespace's folder name: the first 32 hex digits of its key."""
    return namespace_key(identity).hex()[:32]


def content_digest(key: bytes, hashes: np.ndarray, vectors: np.ndarray) -> str:
    digest = hashlib.sha256()
    digest.update(b"cmteb-eval shard v2\0" + key)
    digest.update(np.ascontiguousarray(hashes, dtype=np.uint8).tobytes())
    digest.update(str(vectors.shape).encode())
    digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    return digest.hexdigest()


def _legacy_digest(hashes: np.ndarray, vectors: np.ndarray) -> str:
    """The name of a format-1 shard (no key inside): recognised, never used."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(hashes, dtype=np.uint8).tobytes())
    digest.update(str(vectors.shape).encode())
    digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    return digest.hexdigest()


class CorruptShard(Exception):
    pass


class ForeignShard(Exception):
    """An intact shard written for another namespace key (or in an older format, without one)."""


def read_shard(path: Path, key: bytes | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(hashes [n, 32] uint8, vectors [n, d] float32), checked against the name's checksum and,
    when ``key`` is given, against the namespace key stored inside."""
    try:
        with open_regular(path) as handle, np.load(handle, allow_pickle=False) as data:
            if "key" not in data.files:
                if _legacy_digest(data["hashes"], data["vectors"]) == path.stem:
                    raise ForeignShard("it is of an older cache format, without a namespace key")
                raise CorruptShard("no namespace key, and not an intact shard of the older format")
            stored, hashes, vectors = data["key"], data["hashes"], data["vectors"]
    except (ForeignShard, CorruptShard):
        raise
    except Exception as exc:  # a truncated zip, bad CRC, missing member, an object array, a folder...
        raise CorruptShard(f"unreadable ({type(exc).__name__}: {str(exc)[:120]})") from None
    if stored.dtype != np.uint8 or stored.shape != (HASH_BYTES,) or hashes.dtype != np.uint8 \
            or hashes.ndim != 2 or hashes.shape[1] != HASH_BYTES \
            or vectors.dtype != np.float32 or vectors.ndim != 2 or len(vectors) != len(hashes):
        raise CorruptShard("unexpected array shapes or types")
    if content_digest(stored.tobytes(), hashes, vectors) != path.stem:
        raise CorruptShard("checksum mismatch")
    if key is not None and stored.tobytes() != key:
        raise ForeignShard("it was written for another model configuration (another namespace key)")
    return hashes, vectors


def write_shard(folder: Path, key: bytes, hashes: np.ndarray, vectors: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    path = folder / f"{content_digest(key, hashes, vectors)}.npz"
    if path.exists():
        return path
    handle, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, key=np.frombuffer(key, dtype=np.uint8), hashes=hashes, vectors=vectors)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    corrupt_shards: int = 0
    foreign_shards: int = 0

    def __add__(self, other: "CacheStats") -> "CacheStats":
        return CacheStats(self.hits + other.hits, self.misses + other.misses,
                          self.corrupt_shards + other.corrupt_shards, self.foreign_shards + other.foreign_shards)


class Namespace:
    """The cached vectors of one model configuration and role: an index of where they are, read from
    disk a shard at a time when a lookup needs them."""

    def __init__(self, folder: Path, identity: dict[str, Any], owner: "EmbeddingCache | None" = None,
                 label: str | None = None) -> None:
        self.folder = folder
        self.identity = identity
        self.label = label  # the model as a person names it (a path or hub id), for ``cache info``
        self.key = namespace_key(identity)
        self.owner = owner
        self._index: ShardIndex | None = None
        self._seen: set[str] = set()
        self._meta_checked = False
        self.stats = CacheStats()

    def _refresh(self) -> ShardIndex:
        """Index the shards not seen yet: each is read whole once (its checksum verified), then only its
        hash prefixes are kept (``cache_index.py``): the vectors stay on disk until a lookup needs them."""
        if self._index is None:
            self._index = ShardIndex()
        if not self.folder.is_dir():
            return self._index
        foreign: list[str] = []
        for path in sorted(self.folder.glob("*.npz")):
            if path.name in self._seen or path.name.startswith(".tmp-"):
                continue
            self._seen.add(path.name)
            loaded = self._read(path, foreign)
            if loaded is not None:
                self._index.add(path, loaded[0])
                del loaded
        if foreign:
            warnings.warn(f"embedding cache: {len(foreign)} shard(s) in {self.folder} were not written for this "
                          f"namespace's key and are not used (left in place; their texts are encoded again): "
                          f"{'; '.join(foreign[:3])}{' ...' if len(foreign) > 3 else ''}", stacklevel=3)
        return self._index

    def _read(self, path: Path, foreign: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """A shard's (hashes, vectors), or None when it is foreign (noted in ``foreign``) or damaged
        (reported and deleted: its texts are recomputed)."""
        try:
            return read_shard(path, self.key)
        except ForeignShard as why:
            self.stats.foreign_shards += 1
            foreign.append(f"{path.name} ({why})")
        except CorruptShard as why:
            self.stats.corrupt_shards += 1
            warnings.warn(f"embedding cache: shard {path} is damaged ({why}); deleting it, "
                          f"its texts will be recomputed", stacklevel=4)
            try:
                if path.is_file() or path.is_symlink():
                    path.unlink()
            except OSError:  # a folder named like a shard: skipped, not ours to delete
                pass
        return None

    def _load(self, shard: int) -> tuple[np.ndarray, np.ndarray] | None:
        """One indexed shard, read again for a lookup (checked again: it may have changed since)."""
        path = self._index.paths[shard]
        loaded = None if path is None else self._read(path, [])
        if loaded is None:
            self._index.paths[shard] = None
        return loaded

    def _usable(self) -> bool:
        return self.owner is None or self.owner.unusable is None

    def _failed(self, exc: OSError, doing: str) -> None:
        if self.owner is None:
            raise exc
        self.owner.give_up(exc, doing)

    def lookup(self, texts: Sequence[str]) -> tuple[dict[int, np.ndarray], list[int]]:
        """Cached rows by position, and the positions that must be computed (all of them when
        the cache cannot be read)."""
        found: dict[int, np.ndarray] = {}
        try:
            if self._usable() and len(texts) and len(self._refresh()):
                wanted = np.frombuffer(b"".join(text_hash(t) for t in texts), dtype=np.uint8).reshape(-1, HASH_BYTES)
                found = gather(self._index, wanted, self._load)
        except OSError as exc:
            self._failed(exc, f"reading {self.folder}")
            found = {}
        missing = [position for position in range(len(texts)) if position not in found]
        self.stats.hits += len(found)
        self.stats.misses += len(missing)
        return found, missing

    def store(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Add rows to the cache; when it cannot be written, the run goes on without it."""
        if not len(texts) or not self._usable():
            return
        try:
            self._store(texts, vectors)
        except OSError as exc:
            self._failed(exc, f"writing to {self.folder}")

    def _store(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        self._write_meta()
        index = self._refresh()
        hashes = np.frombuffer(b"".join(text_hash(t) for t in texts), dtype=np.uint8).reshape(-1, HASH_BYTES)
        for start in range(0, len(texts), SHARD_ROWS):
            chunk_h, chunk_v = hashes[start:start + SHARD_ROWS], vectors[start:start + SHARD_ROWS]
            path = write_shard(self.folder, self.key, chunk_h, chunk_v)
            self._seen.add(path.name)
            index.add(path, chunk_h)

    def _write_meta(self) -> None:
        """meta.json says what the namespace's key is made of (for ``cache info``); one that does
        not describe this key (copied from elsewhere, damaged) is replaced."""
        if self._meta_checked:
            return
        self._meta_checked = True
        meta = self.folder / "meta.json"
        wanted = json.loads(json.dumps({"format": FORMAT_VERSION, **self.identity}, ensure_ascii=False))
        if self.label:
            wanted["label"] = self.label  # not part of the key: shown by ``cache info``
        try:
            if json.loads(meta.read_text(encoding="utf-8")) == wanted:
                return
        except (OSError, ValueError, RecursionError):
            pass
        self.folder.mkdir(parents=True, exist_ok=True)
        temp = meta.with_name(f".tmp-meta-{os.getpid()}.json")
        temp.write_text(json.dumps(wanted, indent=1, ensure_ascii=False), encoding="utf-8")
        os.replace(temp, meta)


class EmbeddingCache:
    """The cache root; hands out one Namespace per key identity."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root).expanduser() if root else default_cache_dir()
        self._namespaces: dict[str, Namespace] = {}
        self.unusable: str | None = None  # why the cache was given up for this run, if it was

    def give_up(self, exc: OSError, doing: str) -> None:
        """Stop using the cache for the rest of the run, saying why once (stderr)."""
        if self.unusable is not None:
            return
        self.unusable = f"{doing}: {exc.strerror or exc}"
        print(f"warning: the embedding cache at {self.root} cannot be used ({self.unusable}); this run goes on "
              f"without it (vectors are computed, results are kept). Fix or free that folder, point --cache-dir "
              f"(or $CMTEB_EVAL_CACHE) at a writable one, or pass --no-cache.", file=sys.stderr, flush=True)

    def stats(self) -> CacheStats:
        """Hits, misses and skipped shards of every namespace this run used."""
        return sum((ns.stats for ns in self._namespaces.values()), CacheStats())

    @property
    def embeddings_dir(self) -> Path:
        return self.root / "embeddings"

    def namespace(self, identity: dict[str, Any], label: str | None = None) -> Namespace:
        key = namespace_id(identity)
        if key not in self._namespaces:
            self._namespaces[key] = Namespace(self.embeddings_dir / key, identity, self, label)
        return self._namespaces[key]

    def info(self) -> list[dict[str, Any]]:
        """One row per namespace: its key fields (as meta.json says; {} when it is unreadable or not
        an object), entry count and size on disk (shards not verified)."""
        rows = []
        if not self.embeddings_dir.is_dir():
            return rows
        for folder in sorted(p for p in self.embeddings_dir.iterdir() if p.is_dir()):
            try:
                meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            except (OSError, ValueError, RecursionError):
                meta = {}
            entries, size = 0, 0
            for shard in folder.glob("*.npz"):
                try:
                    if shard.is_file():
                        size += shard.stat().st_size
                        entries += _shard_rows(shard)
                except OSError:
                    continue
            rows.append({"namespace": folder.name, "entries": entries, "bytes": size,
                         "meta": meta if isinstance(meta, dict) else {}})
        return rows

    def clear(self) -> int:
        """Delete every cached embedding (and ONNX export and remembered file hash); returns the bytes freed."""
        freed = 0
        for folder in (self.embeddings_dir, self.root / "onnx"):
            if folder.is_dir():
                freed += sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
                shutil.rmtree(folder)
        hashes = self.root / "file-hashes.json"
        if hashes.is_file():
            freed += hashes.stat().st_size
            hashes.unlink()
        self._namespaces.clear()
        return freed


def _shard_rows(path: Path) -> int:
    """Rows in a shard from the .npy header only (no data read, no pickle)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive, archive.open("hashes.npy") as member:
            version = np.lib.format.read_magic(member)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) \
                else np.lib.format.read_array_header_2_0
            shape, _, _ = read_header(member)
            return int(shape[0])
    except Exception:
        return 0
