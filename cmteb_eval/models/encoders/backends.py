"""Which forward pass runs an encoder (``--backend``), and building it.

- ``lean`` (``lean_encoder.py``): our fused forward for BERT-family models, CPU float32;
- ``torch``: transformers' own forward;
- ``onnx`` (``onnx_backend.py``): onnxruntime on the exported weights, CPU float32.

``auto`` is lean where it applies, else torch; onnx stays available with ``--backend onnx``: on a
quiet 2-core CPU it ran at 53% of the matmul limit against torch's 65% (BENCHMARKS.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import EmbeddingError, UserError
from .lean_encoder import config_unsupported_reason

BACKENDS = ("auto", "lean", "torch", "onnx")


def check_name(backend: str) -> None:
    if backend not in BACKENDS:
        raise UserError(f"Unknown backend {backend!r}.", f"Use one of: {', '.join(BACKENDS)}.")


def resolve_backend(backend: str, device: str, dtype: str, config: Any, trust_remote_code: bool = False) -> str:
    """The backend to run: 'auto' is the lean forward on CPU in float32 for a BERT-family model,
    else transformers' own forward ('torch'); a backend that cannot run here is a UserError."""
    if backend == "auto":
        lean = device == "cpu" and dtype == "float32" and not trust_remote_code \
            and config_unsupported_reason(config) is None
        return "lean" if lean else "torch"
    if backend == "lean":
        reason = config_unsupported_reason(config)
        if device != "cpu" or dtype != "float32" or trust_remote_code or reason is not None:
            why = reason or ("remote code" if trust_remote_code else f"{device}/{dtype}")
            raise UserError(f"The lean backend runs BERT-family models on CPU in float32 (here: {why}).",
                            "Use --backend torch (or auto).")
    if backend == "onnx" and (device != "cpu" or dtype != "float32"):
        raise UserError(f"The onnx backend runs on CPU in float32 (asked: {device}/{dtype}).",
                        "Use --backend torch on GPU or with --dtype float16/bfloat16.")
    return backend


def onnx_only(backend: str, folder: Path, onnx_file: Path) -> str:
    """The backend for a folder whose only weights are an ONNX export: onnx (auto picks it); another
    backend is a UserError with the fix."""
    if backend in ("auto", "onnx"):
        return "onnx"
    raise UserError(f"Model folder {folder} holds its weights only as ONNX ({onnx_file.relative_to(folder)}), which "
                    f"the {backend} backend cannot run.", "Pass --backend onnx (or auto).")


def lean_engine(model, model_id: str):
    """The lean forward of a loaded transformers model (its modules checked first)."""
    from .lean_encoder import LeanEncoder, unsupported_reason

    reason = unsupported_reason(model)
    if reason is not None:
        raise EmbeddingError(f"Model {model_id!r} cannot run on the lean backend: {reason}.", "Use --backend torch.")
    return LeanEncoder(model)


def onnx_engine(model, identity: dict[str, Any], cache_root: Path | None, threads: int, onnx_file: Path | None = None):
    """The onnxruntime forward: of the folder's own export ``onnx_file``, else of the loaded ``model``
    (exported once, under the cache root when there is one)."""
    from .onnx_backend import OnnxEncoder

    return OnnxEncoder(model, identity, cache_root, threads, onnx_file)
