"""From token sequences to sentence vectors: length-sorted batches within a token budget
(``runtime.BatchPlan``), padded, run through the forward pass, pooled and normalised in float32.

Padding is masked, so a vector does not depend on its batch's other texts (beyond float noise).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ...errors import EmbeddingError
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


def exclude_prompt(attention_mask, prompt_length: int):
    """The mask without the prompt's tokens (sentence-transformers' ``include_prompt=False``): the first
    ``prompt_length`` tokens after any left padding."""
    import torch

    mask = attention_mask.clone()
    start = mask.to(torch.int32).argmax(dim=1)
    positions = torch.arange(mask.shape[1], device=mask.device)[None]
    mask[positions < (start + prompt_length)[:, None]] = 0
    return mask


def pool_one(hidden, mask, original, mode: str):
    """One pooling mode, as sentence-transformers' Pooling computes it (float32)."""
    import torch

    rows = torch.arange(hidden.shape[0], device=hidden.device)
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    if mode == "cls":  # the first token the mask keeps (position 0 with right padding and no prompt excluded)
        return hidden[rows, mask.to(torch.int32).argmax(dim=1)]
    if mode in ("mean", "mean_sqrt_len_tokens"):
        count = torch.clamp(weights.sum(dim=1), min=1e-9)
        return (hidden * weights).sum(dim=1) / (count if mode == "mean" else torch.sqrt(count))
    if mode == "max":
        return hidden.masked_fill(weights == 0, float("-inf")).max(dim=1).values
    if mode == "weightedmean":  # position weights 1, 2, ... from the first real token
        position = torch.arange(1, hidden.shape[1] + 1, device=hidden.device, dtype=hidden.dtype).view(1, -1, 1)
        weighted = weights * (position - original.to(torch.int32).argmax(dim=1).view(-1, 1, 1))
        return (hidden * weighted).sum(dim=1) / torch.clamp(weighted.sum(dim=1), min=1e-9)
    if mode == "lasttoken":  # the last token the mask keeps, whichever side the padding is on
        values, index = mask.flip(dims=[1]).max(dim=1)
        index = torch.where(values == 0, mask.shape[1] - 1, index)
        return (hidden * weights)[rows, mask.shape[1] - 1 - index]
    raise ValueError(f"unknown pooling {mode!r}")


def pool(hidden, attention_mask, mode: str, prompt_length: int = 0):
    """Sentence vector from token vectors: one mode ('cls', 'mean', 'lasttoken', 'max',
    'mean_sqrt_len_tokens', 'weightedmean') or several joined by '+', concatenated in that order;
    ``prompt_length`` leading tokens left out (include_prompt=False)."""
    import torch

    mask = exclude_prompt(attention_mask, prompt_length) if prompt_length else attention_mask
    parts = [pool_one(hidden, mask, attention_mask, m) for m in mode.split("+")]
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)


def encode_tokens(encoded: list[list[int]], lengths: np.ndarray, *, forward: Callable, plan: BatchPlan,
                  pooling: str, normalize: bool, pad_id: int, left: bool, device: str, dimension: int,
                  model_id: str, prompt_length: int = 0, head: Callable | None = None,
                  truncate_dim: int | None = None,
                  on_batch: Callable[[np.ndarray, np.ndarray], None] | None = None) -> np.ndarray:
    """One float32 vector per token sequence, in input order (``head``: the steps after pooling);
    ``on_batch(indices, vectors)`` is told of each finished batch (progress, the cache's chunked writes)."""
    import torch

    out = np.empty((len(encoded), dimension), dtype=np.float32)

    def run(batch_index: np.ndarray) -> None:
        ids, mask = pad_batch([encoded[i] for i in batch_index], pad_id, left)
        ids, mask = torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)
        hidden = forward(ids, mask)
        # Pool and normalise in float32 whatever the model's dtype (fp16 sums overflow).
        pooled = pool(hidden.float(), mask, pooling, prompt_length)
        if head is not None:  # a sentence-transformers folder's Dense / LayerNorm / Normalize / truncate_dim
            pooled = head(pooled)
        if normalize:
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        if truncate_dim is not None:  # after every module, as sentence-transformers' truncate_dim
            pooled = pooled[:, :truncate_dim]
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
