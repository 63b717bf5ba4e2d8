"""Filling the embedding cache (``cache.py``) while encoding goes on: ``cached_encode`` reads the
cached rows, encodes the rest and stores them chunk by chunk as the encoder hands them over
(``ChunkWriter``), so an interrupted task keeps what it had encoded."""

from __future__ import annotations

import os
import time
from typing import Sequence

import numpy as np

from .. import progress
from .store import Namespace

CHUNK_ROWS = 10_000  # vectors written to the cache as one shard while encoding goes on
CHUNK_SECONDS = 60.0  # ... or after this long, whichever comes first
_sink: "ChunkWriter | None" = None  # the writer of the encode call under way (see cached_encode)


class ChunkWriter:
    """Stores the vectors of one encode call in shards of ``CHUNK_ROWS`` as they are computed, so
    an interrupt (Ctrl-C, SIGTERM, a crash) loses at most the chunk under way
    (``$CMTEB_EVAL_CACHE_CHUNK_ROWS`` overrides the size; tests use it)."""

    def __init__(self, namespace: Namespace, texts: Sequence[str]) -> None:
        self.namespace, self.texts = namespace, texts
        self.rows = int(os.environ.get("CMTEB_EVAL_CACHE_CHUNK_ROWS", CHUNK_ROWS))
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []
        self.pending_rows = 0
        self.stored: set[int] = set()
        self.since = time.monotonic()

    def add(self, positions: np.ndarray, vectors: np.ndarray) -> None:
        """Rows ``positions`` (of ``texts``) are done; a full chunk is written at once. A row with a NaN or
        infinite value is never stored (the embedder refuses it; --retry-fp32 encodes it again)."""
        positions, vectors = np.asarray(positions, dtype=np.int64), np.array(vectors, dtype=np.float32)
        finite = np.isfinite(vectors).all(axis=1)
        self.stored.update(positions[~finite].tolist())  # handled: not to be stored afterwards either
        positions, vectors = positions[finite], vectors[finite]
        self.pending.append((positions, vectors))
        self.pending_rows += len(positions)
        if self.pending_rows >= self.rows or time.monotonic() - self.since >= CHUNK_SECONDS:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        positions = np.concatenate([p for p, _ in self.pending])
        vectors = np.concatenate([v for _, v in self.pending])
        self.pending, self.pending_rows, self.since = [], 0, time.monotonic()
        self.namespace.store([self.texts[i] for i in positions], vectors)
        self.stored.update(positions.tolist())


def current_sink() -> ChunkWriter | None:
    """The chunk writer of the encode call under way, for the encoder to hand finished rows to."""
    return _sink


def cached_encode(texts: list[str], namespace: Namespace | None, shard, dim: int, encode) -> np.ndarray:
    """Vectors of distinct ``texts``: cached rows read from ``namespace``, the rest ``encode``d and
    stored, chunk by chunk while encoding goes on (``ChunkWriter``; an interrupted call keeps its
    finished chunks, and the chunk under way when it is a Ctrl-C or SIGTERM). Under torchrun
    (``shard``) only rank 0 touches the cache (``namespace`` None elsewhere): it names the texts
    to encode, every rank encodes its share, and rank 0's finished array is sent to all ranks."""
    global _sink
    main = shard is None or shard.is_main
    out = np.empty((len(texts), dim), dtype=np.float32)
    missing = list(range(len(texts)))
    if namespace is not None:
        found, missing = namespace.lookup(texts)
        for position, row in found.items():
            out[position] = row
        progress.METER.cache_hits += len(found)
        if found:
            progress.note(f"    embedding cache: {len(found)} of {len(texts)} vector(s) found"
                          + (f", {len(missing)} to encode" if missing else ""))
    if shard is not None:
        missing = shard.share(missing)
    if missing:
        todo = [texts[i] for i in missing]
        writer = ChunkWriter(namespace, todo) if namespace is not None and shard is None else None
        _sink = writer
        try:
            vectors = encode(todo)
        except BaseException:
            if writer is not None:  # an interrupt keeps what was finished (a crash: the written chunks)
                _sink = None
                writer.flush()
            raise
        finally:
            _sink = None
        out[missing] = vectors
        progress.METER.texts_encoded += len(todo)
        if writer is not None:
            writer.flush()
            rest = [i for i in range(len(todo)) if i not in writer.stored and np.isfinite(vectors[i]).all()]
            if rest:  # an encoder that did not hand its rows over as it went
                namespace.store([todo[i] for i in rest], vectors[rest])
        elif namespace is not None:
            namespace.store(todo, vectors)
    if shard is not None:
        out = shard.broadcast_array(out if main else None, out.shape)
    return out
