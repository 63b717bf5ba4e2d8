"""The retrieval methods of a bge-m3 model and the hybrid's weights, as FlagEmbedding 1.4.2 names them.

``hybrid`` is ``BGEM3FlagModel.compute_score``'s ``colbert+sparse+dense``:
``(w_dense * dense + w_sparse * sparse + w_colbert * colbert) / (w_dense + w_sparse + w_colbert)``,
with FlagEmbedding 1.4's default weights ``[1.0, 1.0, 1.0]`` (``M3Embedder.compute_score_single_device``)
unless others are given; the model card's example is ``[0.4, 0.2, 0.4]``.
"""

from __future__ import annotations

import math
from typing import Sequence

from ...errors import UserError

METHODS = ("dense", "sparse", "colbert", "hybrid")
DEFAULT_WEIGHTS = (1.0, 1.0, 1.0)  # FlagEmbedding 1.4: weights_for_different_modes=None -> [1., 1., 1.]
WEIGHT_SOURCE = "FlagEmbedding 1.4.2 M3Embedder.compute_score default [1.0, 1.0, 1.0]"
HEAD_FILES = ("sparse_linear.pt", "colbert_linear.pt")
DEFAULT_TOKEN_BUDGET_MB = 4096  # ColBERT/hybrid exact over the corpus while its token vectors fit this


def check_method(method: str | None) -> str:
    method = "dense" if method is None else str(method)
    if method not in METHODS:
        raise UserError(f"Unknown retrieval method {method!r}.", f"Use one of: {', '.join(METHODS)}.")
    return method


def parse_weights(text: str | Sequence[float] | None) -> tuple[float, float, float] | None:
    """``DENSE,SPARSE,COLBERT`` (``"0.4,0.2,0.4"``) or three numbers; None: the default."""
    if text is None:
        return None
    parts = text.split(",") if isinstance(text, str) else list(text)
    try:
        weights = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        weights = ()
    if len(weights) != 3 or not all(math.isfinite(w) and w >= 0 for w in weights) or sum(weights) <= 0:
        raise UserError(f"--hybrid-weights {text!r} is not three non-negative numbers DENSE,SPARSE,COLBERT with a "
                        f"positive sum.", "Pass e.g. --hybrid-weights 0.4,0.2,0.4 (the bge-m3 model card's example).")
    return weights  # type: ignore[return-value]


def weights_record(weights: tuple[float, float, float] | None) -> dict:
    """How a result file records the hybrid's weights (and where the default came from)."""
    dense, sparse, colbert = weights or DEFAULT_WEIGHTS
    record = {"dense": dense, "sparse": sparse, "colbert": colbert}
    if weights is None:
        record["source"] = WEIGHT_SOURCE
    return record


def refuse_without_heads(model: str, method: str, missing: Sequence[str]) -> None:
    """A method other than dense on a model without bge-m3's heads, refused by name."""
    raise UserError(f"--retrieval-method {method} needs bge-m3's sparse and ColBERT heads, but model {model} has no "
                    f"{' or '.join(missing)} beside its weights: it computes dense embeddings only.",
                    "Use --retrieval-method dense (the default) for this model, or a bge-m3 folder (BAAI/bge-m3 "
                    "ships sparse_linear.pt and colbert_linear.pt).")


def results_suffix(method: str, weights: tuple[float, float, float] | None) -> str:
    """What a method adds to the results folder's name, so each method keeps its own result:
    ``__sparse``, ``__hybrid``, ``__hybrid_0.4_0.2_0.4`` (dense: nothing)."""
    if method == "dense":
        return ""
    if method == "hybrid" and weights is not None and tuple(weights) != DEFAULT_WEIGHTS:
        return "__hybrid_" + "_".join(f"{w:g}" for w in weights)
    return f"__{method}"
