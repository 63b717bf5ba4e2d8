"""From token sequences to sentence vectors: length-sorted batches within a token budget
(``runtime.BatchPlan``), padded, run through the forward pass, pooled and normalised in float32.

Padding is masked, so a vector does not depend on its batch's other texts (beyond float noise).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import EmbeddingError
from .runtime import BatchPlan


def pad_batch(sequences: list[list[int]], pad_id: int, left: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Token ids padded to the longest sequence, and the attention mask (int64, as the tokenizer pads)."""
    longest = max(len(ids) for ids in sequences)
    ids = np.full((len(sequences), longest), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), longest), dtype=np.int64)
    for row, sequence in enumerate(sequences):
        start = longest - len(sequence) if left else 0
        ids[row, start:start + len(sequence)] = sequence
        mask[row, start:start + len(sequence)] = 1
    return ids, mask


def pool(hidden, attention_mask, mode: str):
    """Sentence vector from token vectors: 'cls', 'mean' (mask-weighted) or 'lasttoken'."""
    import torch

    if mode == "cls":
        return hidden[:, 0]
    if mode == "mean":
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / torch.clamp(mask.sum(dim=1), min=1e-9)
    if mode == "lasttoken":
        # the last real token, whichever side the padding is on
        last = attention_mask.shape[1] - 1 - attention_mask.flip(dims=[1]).argmax(dim=1)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    raise ValueError(f"unknown pooling {mode!r}")


def encode_tokens(encoded: list[list[int]], lengths: np.ndarray, *, forward: Callable, plan: BatchPlan,
                  pooling: str, normalize: bool, pad_id: int, left: bool, device: str, dimension: int,
                  model_id: str, on_batch: Callable[[np.ndarray, np.ndarray], None] | None = None) -> np.ndarray:
    """One float32 vector per token sequence, in input order; ``on_batch(indices, vectors)`` is told
    of each finished batch (progress, the cache's chunked writes)."""
    import torch

    out = np.empty((len(encoded), dimension), dtype=np.float32)

    def run(batch_index: np.ndarray) -> None:
        ids, mask = pad_batch([encoded[i] for i in batch_index], pad_id, left)
        ids, mask = torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)
        hidden = forward(ids, mask)
        # Pool and normalise in float32 whatever the model's dtype (fp16 sums overflow).
        pooled = pool(hidden.float(), mask, pooling)
        if normalize:
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        out[batch_index] = pooled.cpu().numpy()
        if on_batch is not None:
            on_batch(batch_index, out[batch_index])

    with torch.inference_mode():
        try:
            plan.run(lengths, run)
        except MemoryError as exc:
            raise EmbeddingError(
                f"Model {model_id!r} ran out of memory on {device} even with a batch of one text ({exc}).",
                "Lower --max-length, use --dtype float16, or run on a device with more memory.") from None
    return out
