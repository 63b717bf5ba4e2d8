"""The embedding adapter: a transformers encoder run the way the model's authors run it.

For BGE this is the model card's plain-transformers recipe (CLS token of the last
hidden state, L2-normalised); for sentence-transformers models it is what their
Pooling and Normalize modules do. Texts are deduplicated, tokenised up front and
batched by length so that padding stays small; output rows follow input order.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import EmbeddingError
from ..taskspec import TaskSpec
from . import loading
from .protocol import QUERY, TEXT
from .settings import EncoderSettings, resolve_settings


def pick_device(device: str | None) -> str:
    import torch

    if device and device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(dtype: str | None, device: str) -> str:
    if dtype and dtype != "auto":
        if dtype not in ("float32", "float16", "bfloat16"):
            from ..errors import UserError

            raise UserError(f"Unknown dtype {dtype!r}.", "Use float32, float16, bfloat16 or auto.")
        return dtype
    return "float16" if device.startswith("cuda") else "float32"


class TransformerEmbedder:
    """Embeds texts with a transformers ``AutoModel`` and the model's pooling."""

    def __init__(self, model: str, *, model_name: str | None = None, revision: str | None = None,
                 device: str | None = None, dtype: str | None = None, batch_size: int = 32,
                 use_instruction: bool = True, query_instruction: str | None = None,
                 pooling: str | None = None, normalize: bool | None = None, max_length: int | None = None,
                 trust_remote_code: bool = False) -> None:
        import torch
        from transformers import AutoModel

        self.model_id = model
        self.revision = revision
        self.folder = loading.local_folder(model)
        if self.folder is not None:
            loading.check_folder(self.folder)
        config = loading.read_config(model, self.folder, revision, trust_remote_code)
        loading.refuse_cross_encoder(model, config)
        self.settings: EncoderSettings = resolve_settings(
            model, self.folder, model_name,
            {"pooling": pooling, "normalize": normalize, "max_length": max_length,
             "query_instruction": query_instruction})
        self.use_instruction = use_instruction
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        self.batch_size = batch_size
        self.trust_remote_code = trust_remote_code
        self.tokenizer = loading.load_tokenizer(model, self.folder, revision, trust_remote_code)
        self.model = loading.load_weights(AutoModel, model, self.folder, revision,
                                          getattr(torch, self.dtype), trust_remote_code)
        self.model.to(self.device).eval()
        self.fingerprint = loading.weights_fingerprint(self.folder) if self.folder else None

    # ------------------------------------------------------------ public API

    def instruction_for(self, role: str, task: TaskSpec | None) -> str:
        if role != QUERY or not self.use_instruction:
            return ""
        if task is not None and not task.query_instruction:
            return ""
        return self.settings.query_instruction

    def encode(self, texts: Sequence[str], *, role: str = TEXT, task: TaskSpec | None = None) -> np.ndarray:
        instruction = self.instruction_for(role, task)
        unique: dict[str, int] = {}
        positions = [unique.setdefault(instruction + text, len(unique)) for text in texts]
        vectors = self._encode_unique(list(unique))
        if not np.isfinite(vectors).all():
            bad = int((~np.isfinite(vectors).all(axis=1)).sum())
            raise EmbeddingError(
                f"Model {self.model_id!r} produced NaN or infinite embeddings for {bad} of {len(vectors)} "
                f"texts (dtype {self.dtype}).",
                "Rerun with --dtype float32 or --retry-fp32 (fp16 overflow is the usual cause) "
                "or check the model weights.")
        return vectors[np.asarray(positions, dtype=np.int64)] if positions else vectors

    def describe(self, task: TaskSpec | None = None) -> dict[str, Any]:
        return {
            "model": str(self.folder or self.model_id),
            "revision": self.revision,
            "weights_fingerprint": self.fingerprint,
            "kind": "embedder",
            "pooling": self.settings.pooling,
            "normalize": self.settings.normalize,
            "max_length": self.settings.max_length,
            "settings_source": self.settings.settings_source,
            "query_instruction": self.instruction_for(QUERY, task) if task is not None else self.settings.query_instruction,
            "instructions_enabled": self.use_instruction,
            "dtype": self.dtype,
            "device": self.device,
            "batch_size": self.batch_size,
            "trust_remote_code": self.trust_remote_code,
        }

    @property
    def dimension(self) -> int:
        return int(self.model.config.hidden_size)

    # ------------------------------------------------------------ internals

    def _encode_unique(self, texts: list[str]) -> np.ndarray:
        import torch

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encoded = self.tokenizer(texts, truncation=True, max_length=self.settings.max_length,
                                 padding=False, return_attention_mask=False)["input_ids"]
        order = np.argsort([-len(ids) for ids in encoded], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch_index = order[start:start + self.batch_size]
                batch = self.tokenizer.pad({"input_ids": [encoded[i] for i in batch_index]},
                                           padding=True, return_tensors="pt")
                batch = {k: v.to(self.device) for k, v in batch.items()}
                hidden = self.model(**batch).last_hidden_state
                pooled = pool(hidden, batch["attention_mask"], self.settings.pooling).float()
                if self.settings.normalize:
                    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[batch_index] = pooled.cpu().numpy()
        return out

    def settings_dict(self) -> dict[str, Any]:
        return asdict(self.settings)


def pool(hidden, attention_mask, mode: str):
    """Sentence vector from token vectors: 'cls', 'mean' (mask-weighted) or 'lasttoken'."""
    import torch

    if mode == "cls":
        return hidden[:, 0]
    if mode == "mean":
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / torch.clamp(mask.sum(dim=1), min=1e-9)
    if mode == "lasttoken":
        last = attention_mask.sum(dim=1) - 1
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    raise ValueError(f"unknown pooling {mode!r}")


def load_embedder(model: str | Path, **kwargs) -> TransformerEmbedder:
    return TransformerEmbedder(str(model), **kwargs)
