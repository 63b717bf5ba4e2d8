"""bge-m3's sparse and ColBERT heads, and what they make of the encoder's last hidden state, as
FlagEmbedding 1.4.2 computes it (``finetune/embedder/encoder_only/m3/modeling.py`` and
``inference/embedder/encoder_only/m3.py``, ``encode_single_device``):

- lexical weights: ``relu(sparse_linear(h))`` per token; per token id the largest weight; the
  tokenizer's cls, eos, pad and unk ids dropped, and weights that are not > 0;
- ColBERT vectors: ``normalize(colbert_linear(h))`` of every token after the first (CLS), the
  closing ``</s>`` included, padding excluded.

The heads are ``torch.nn.Linear(hidden, 1)`` and ``Linear(hidden, colbert_dim)`` whose state dicts
FlagEmbedding saves as ``sparse_linear.pt`` and ``colbert_linear.pt`` beside the weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import ModelLoadError
from .methods import HEAD_FILES


def missing_heads(folder: Path | None) -> list[str]:
    """Which of bge-m3's head files the folder lacks (all when there is no local folder)."""
    if folder is None:
        return list(HEAD_FILES)
    return [name for name in HEAD_FILES if not (folder / name).is_file()]


def unused_token_ids(tokenizer) -> list[int]:
    """The ids FlagEmbedding drops from the lexical weights: cls, eos, pad and unk, where the tokenizer has them."""
    ids = []
    for name in ("cls_token", "eos_token", "pad_token", "unk_token"):
        if getattr(tokenizer, name, None) is not None:
            ids.append(int(tokenizer.convert_tokens_to_ids(getattr(tokenizer, name))))
    return sorted(set(ids))


@dataclass
class M3Heads:
    sparse: object  # torch.nn.Linear(hidden, 1)
    colbert: object  # torch.nn.Linear(hidden, colbert_dim)

    @property
    def colbert_dim(self) -> int:
        return int(self.colbert.out_features)


def load_heads(folder: Path, hidden_size: int, device: str, dtype) -> M3Heads:
    """The two heads from their files, on ``device`` in the encoder's dtype."""
    import torch

    linears = []
    for name in HEAD_FILES:
        try:
            state = torch.load(folder / name, map_location="cpu", weights_only=True)
            weight = state["weight"]
            linear = torch.nn.Linear(int(weight.shape[1]), int(weight.shape[0]), dtype=weight.dtype)
            linear.load_state_dict(state)
        except Exception as exc:  # noqa: BLE001 -- a damaged or foreign file: say which
            raise ModelLoadError(f"bge-m3 head {folder / name} cannot be read ({type(exc).__name__}: {exc}).",
                                 "Download the model folder again (it must hold FlagEmbedding's sparse_linear.pt "
                                 "and colbert_linear.pt).") from None
        if linear.in_features != hidden_size:
            raise ModelLoadError(f"bge-m3 head {folder / name} takes {linear.in_features} inputs, but the encoder's "
                                 f"hidden size is {hidden_size}.", "The head files belong to another model.")
        linears.append(linear.to(device=device, dtype=dtype).eval())
    if linears[0].out_features != 1:
        raise ModelLoadError(f"bge-m3 head {folder / HEAD_FILES[0]} has {linears[0].out_features} outputs, not 1.",
                             "The head files belong to another model.")
    return M3Heads(*linears)


def token_outputs(heads: M3Heads, hidden, input_ids, mask, unused: list[int]):
    """Per text of one padded batch: (token ids, lexical weights) and its ColBERT vectors (float32 numpy)."""
    import torch

    weights = torch.relu(heads.sparse(hidden)).squeeze(-1).float().cpu().numpy()
    colbert = torch.nn.functional.normalize(heads.colbert(hidden[:, 1:]).float(), dim=-1).cpu().numpy()
    ids = input_ids.cpu().numpy()
    lengths = mask.sum(dim=1).cpu().numpy()
    lexical, vectors = [], []
    for row, length in enumerate(lengths):
        lexical.append(max_weight_per_id(ids[row, :length], weights[row, :length], unused))
        vectors.append(np.ascontiguousarray(colbert[row, :length - 1], dtype=np.float32))
    return lexical, vectors


def max_weight_per_id(ids: np.ndarray, weights: np.ndarray, unused: list[int]) -> np.ndarray:
    """[n, 2] float32 rows (token id, weight): each id once with its largest weight, ascending ids;
    unused ids and weights that are not > 0 dropped (FlagEmbedding's ``_process_token_weights``).
    Token ids are exact in float32 (below 2**24; bge-m3's vocabulary has 250,002)."""
    keep = (weights > 0) & ~np.isin(ids, unused)
    ids, weights = ids[keep], weights[keep]
    if not len(ids):
        return np.zeros((0, 2), dtype=np.float32)
    order = np.lexsort((-weights, ids))
    ids, weights = ids[order], weights[order]
    first = np.ones(len(ids), dtype=bool)
    first[1:] = ids[1:] != ids[:-1]
    return np.stack([ids[first].astype(np.float32), weights[first].astype(np.float32)], axis=1)
