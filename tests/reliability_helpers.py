"""Helpers for the reliability tests: tiny local task cards and a fast deterministic embedder."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np

WORDS = ["the", "cat", "dog", "sat", "on", "mat", "a", "what", "is", "panda", "giant", "bear", "china",
         "今天", "天气", "很好", "我", "喜欢", "苹果"]


def write_sts_task(folder: Path, name: str, n_rows: int = 12, seed: int = 0) -> Path:
    """An STS card named ``name`` with ``n_rows`` pairs of local data; returns the card's path."""
    rng = random.Random(seed)
    data = folder / f"{name}_data"
    data.mkdir(parents=True, exist_ok=True)
    with (data / "test.jsonl").open("w", encoding="utf-8") as handle:
        for i in range(n_rows):
            row = {"sentence1": " ".join(rng.choices(WORDS, k=rng.randint(2, 6))),
                   "sentence2": " ".join(rng.choices(WORDS, k=rng.randint(2, 6))),
                   "score": float(i % 6)}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    card = folder / f"{name}.toml"
    card.write_text(f'name = "{name}"\ntype = "STS"\nlanguages = ["eng-Latn"]\neval_splits = ["test"]\n'
                    f'[dataset]\nhub_id = "cmteb-eval/tests"\nrevision = "bundled"\nlocal_dir = "{name}_data"\n',
                    encoding="utf-8")
    return card


class HashEmbedder:
    """A deterministic embedder (vectors from a hash of the text): fast, no model files."""

    def __init__(self, dtype: str = "float32", dim: int = 16, poison: str | None = None) -> None:
        self.dtype = dtype
        self.dim = dim
        self.poison = poison  # a text that yields a NaN vector
        self.calls = 0

    def encode(self, texts, *, role="text", task=None):
        self.calls += 1
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            row = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            if self.poison is not None and self.poison in text:
                row[0] = np.nan
            rows.append(row)
        return np.stack(rows) if rows else np.zeros((0, self.dim), np.float32)

    def describe(self, task=None):
        return {"model": "hash-embedder", "revision": None, "weights_fingerprint": None, "kind": "embedder",
                "pooling": "none", "normalize": False, "max_length": 0, "query_instruction": "",
                "instructions_enabled": True, "dtype": self.dtype, "device": "cpu", "batch_size": 1,
                "trust_remote_code": False}
