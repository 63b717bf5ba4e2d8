"""Retrying a task in float32 when a half-precision model produced NaN or infinite embeddings.

fp16 overflows above 65504; some models' activations exceed that on some inputs. With
``--retry-fp32`` the runner evaluates such a task again with the same model reloaded in
float32 from its files (not up-cast from the half-precision weights), and the result
records that it did. The float32 copy is made once and reused for later tasks that need it.
"""

from __future__ import annotations

import copy
from typing import Any

HALF = ("float16", "bfloat16")


def can_retry(model: Any) -> bool:
    return getattr(model, "dtype", None) in HALF and hasattr(model, "model") and hasattr(model, "model_id")


class Fp32Fallback:
    """Makes (once) and holds a float32 twin of a TransformerEmbedder."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self._twin: Any = None

    def twin(self) -> Any:
        if self._twin is None:
            self._twin = fp32_twin(self.model)
        return self._twin


def fp32_twin(embedder: Any) -> Any:
    """A shallow copy of ``embedder`` whose weights are loaded again from its files in float32 (a wrapper
    around a dense embedder, bge-m3's, wraps the dense embedder's twin)."""
    if hasattr(embedder, "with_base"):
        return embedder.with_base(fp32_twin(embedder.base))
    import torch
    from transformers import AutoModel

    from ..identity import loading

    twin = copy.copy(embedder)
    twin.dtype = "float32"
    twin.model = loading.load_weights(AutoModel, embedder.model_id, embedder.folder, embedder.revision,
                                      torch.float32, embedder.trust_remote_code)
    twin.model.to(embedder.device).eval()
    forward = getattr(embedder, "_forward", None)
    if getattr(forward, "__self__", None) is embedder:  # a bound method would still run the half model
        twin._forward = getattr(twin, forward.__func__.__name__)
    return twin
