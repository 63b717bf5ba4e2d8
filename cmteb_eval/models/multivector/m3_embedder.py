"""bge-m3 as FlagEmbedding's ``BGEM3FlagModel`` runs it: the dense embedding (the encoder's CLS,
normalised: our ``TransformerEmbedder``, unchanged), and from the same encoder with the two heads
(``m3_heads.py``) each text's lexical weights and ColBERT vectors, through the embedding cache under
keys of their own (``models/cache/ragged.py``). Which of them a run scores by is its retrieval method
(``methods.py``), recorded in ``describe()`` and so in the result file and the resume key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...errors import UserError
from .. import progress
from ..cache.ragged import RaggedNamespace, cached_arrays
from ..encoders.pooling import pad_batch
from ..encoders.runtime import BatchPlan
from ..identity import loading
from ..identity.fingerprint import files_fingerprint
from ..protocol import TEXT
from ..vectors import distinct, refuse_non_finite
from .m3_heads import load_heads, missing_heads, token_outputs, unused_token_ids
from .methods import (DEFAULT_TOKEN_BUDGET_MB, HEAD_FILES, check_method, refuse_without_heads, weights_record)

RANKING_TYPES = ("Retrieval", "Reranking")
OUTPUTS = {"lexical": "m3_lexical_weights", "colbert": "m3_colbert_vecs"}


def heads_folder(base) -> Path | None:
    """Where the head files are: the model folder, or the hub snapshot of a hub id (from the local hub cache
    when the hub is off); None when they cannot be found."""
    if base.folder is not None:
        return base.folder
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(base.model_id, HEAD_FILES[0], revision=base.revision)).parent
    except Exception:  # noqa: BLE001 -- no such file or no copy: refused by name below
        return None


class M3Embedder:
    """A bge-m3 embedder: dense vectors (``encode``), lexical weights and ColBERT vectors; every other
    attribute (settings, tokenizer, cache, device) is the dense embedder's."""

    def __init__(self, base, method: str | None = "dense", hybrid_weights=None,
                 token_budget_mb: int | None = None) -> None:
        self.base = base
        self.method = check_method(method)
        self.hybrid_weights = tuple(hybrid_weights) if hybrid_weights is not None else None
        if self.hybrid_weights is not None and self.method != "hybrid":
            raise UserError(f"--hybrid-weights applies to --retrieval-method hybrid, not {self.method}.",
                            "Drop --hybrid-weights or pass --retrieval-method hybrid.")
        if token_budget_mb is not None and self.method not in ("colbert", "hybrid"):
            raise UserError(f"--token-vectors-budget-mb applies to --retrieval-method colbert or hybrid, not "
                            f"{self.method}.",
                            "Drop --token-vectors-budget-mb or pass a method that uses token vectors.")
        self.token_budget_mb = DEFAULT_TOKEN_BUDGET_MB if token_budget_mb is None else int(token_budget_mb)
        self.folder = heads_folder(base)
        missing = missing_heads(self.folder)
        if missing:
            refuse_without_heads(base.model_id, self.method, missing)
        cache_root = getattr(base.cache, "root", None)
        self.heads_fingerprint = files_fingerprint(self.folder, [self.folder / n for n in HEAD_FILES], cache_root)
        self._heads = None

    def __getattr__(self, name: str) -> Any:  # the dense embedder's settings, tokenizer, cache, device ...
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    def with_base(self, base) -> "M3Embedder":
        """The same method and heads over another dense embedder (the float32 twin of ``--retry-fp32``)."""
        twin = M3Embedder.__new__(M3Embedder)
        twin.__dict__.update(self.__dict__)
        twin.base, twin._heads = base, None  # the heads load again, in the new embedder's dtype
        return twin

    # ------------------------------------------------------------ what a run reads

    def encode(self, texts: Sequence[str], *, role: str = TEXT, task=None) -> np.ndarray:
        """Dense embeddings. A run by another method scores only Retrieval and Reranking tasks: any
        other type is refused, never given dense numbers under the other method's name."""
        kind = getattr(task, "type", None)
        if self.method != "dense" and kind is not None and kind not in RANKING_TYPES:
            raise UserError(f"Task {getattr(task, 'name', '?')} ({kind}): --retrieval-method {self.method} scores "
                            f"Retrieval and Reranking tasks only.",
                            "Run the other task types with --retrieval-method dense (the default).")
        return self.base.encode(texts, role=role, task=task)

    def dense(self, texts: Sequence[str], *, role: str, task=None) -> np.ndarray:
        return self.base.encode(texts, role=role, task=task)

    def lexical_weights(self, texts: Sequence[str], *, role: str, task=None) -> list[np.ndarray]:
        """Per text, [n, 2] float32 rows (token id, weight): its ``lexical_weights`` in FlagEmbedding."""
        return self.token_outputs(texts, role=role, task=task, want=("lexical",))["lexical"]

    def colbert_vectors(self, texts: Sequence[str], *, role: str, task=None) -> list[np.ndarray]:
        """Per text, [tokens - 1, dim] float32 normalised rows: its ``colbert_vecs`` in FlagEmbedding."""
        return self.token_outputs(texts, role=role, task=task, want=("colbert",))["colbert"]

    def describe(self, task=None) -> dict[str, Any]:
        info = {**self.base.describe(task), "retrieval_method": self.method, "m3_heads_fingerprint":
                self.heads_fingerprint}
        if self.method == "hybrid":
            info["hybrid_weights"] = weights_record(self.hybrid_weights)
        if self.method in ("colbert", "hybrid"):
            info["token_vectors_budget_mb"] = self.token_budget_mb
        return info

    @property
    def retrieval_method(self) -> str:
        return self.method

    @property
    def colbert_dim(self) -> int:
        return int(self.heads.colbert_dim)

    # ------------------------------------------------------------ the forward pass with the heads

    @property
    def heads(self):
        if self._heads is None:
            import torch

            self._heads = load_heads(self.folder, int(self.base.model.config.hidden_size), self.base.device,
                                     getattr(torch, self.base.dtype))
        return self._heads

    def token_outputs(self, texts: Sequence[str], *, role: str, task=None, want=("lexical", "colbert")
                      ) -> dict[str, list[np.ndarray]]:
        """The wanted outputs per text (each distinct text computed once, through the cache)."""
        instruction = self.base.instruction_for(role, task)
        unique, positions = distinct(instruction + t for t in texts)
        cache = self.base.cache if self.base.shard is None or self.base.shard.is_main else None
        out = {}
        pending: dict[str, dict[str, np.ndarray]] = {}

        def compute(name):
            def run(todo: list[str]) -> list[np.ndarray]:
                if not all(t in pending.get(name, {}) for t in todo):  # one forward for every wanted output
                    computed = self._compute(todo, want)
                    for key in want:
                        pending.setdefault(key, {}).update(zip(todo, computed[key]))
                return [pending[name][t] for t in todo]
            return run

        for name in want:
            namespace = RaggedNamespace(cache.root, {**self.base.cache_identity(role, instruction),
                                                     "output": OUTPUTS[name], "heads": self.heads_fingerprint},
                                        owner=cache) if cache is not None and cache.unusable is None else None
            arrays = cached_arrays(unique, namespace, compute(name))
            out[name] = [arrays[p] for p in positions]
        return out

    def _compute(self, texts: list[str], want) -> dict[str, list[np.ndarray]]:
        import torch

        tokenized = self.base.tokenizer(texts, truncation=True, max_length=self.base.settings.max_length,
                                        padding=False, return_attention_mask=False)["input_ids"]
        loading.check_token_ids(self.base.model_id, tokenized, self.base.config)
        lengths = np.array([len(ids) for ids in tokenized], dtype=np.int64)
        unused = unused_token_ids(self.base.tokenizer)
        result: dict[str, list] = {name: [None] * len(texts) for name in want}
        heads, pad_id = self.heads, self.base.tokenizer.pad_token_id or 0

        def run(batch: np.ndarray) -> None:
            ids, mask = pad_batch([tokenized[i] for i in batch], pad_id, left=False)
            ids, mask = torch.from_numpy(ids).to(self.base.device), torch.from_numpy(mask).to(self.base.device)
            hidden = self.base._forward(ids, mask).to(heads.sparse.weight.dtype)
            lexical, vectors = token_outputs(heads, hidden, ids, mask, unused)
            for row, index in enumerate(batch):
                if "lexical" in result:
                    result["lexical"][index] = lexical[row]
                if "colbert" in result:
                    result["colbert"][index] = vectors[row]
            bar.update(len(batch), int(lengths[batch].sum()))

        with progress.progress("encoding (bge-m3 heads)", len(texts), "texts", int(lengths.sum())) as bar, \
                progress.timed("encode_seconds"), torch.inference_mode():
            BatchPlan(self.base.plan.max_tokens, self.base.plan.max_texts).run(lengths, run)
        for name, arrays in result.items():
            if arrays:
                refuse_non_finite(np.concatenate([a.reshape(-1) for a in arrays])[None], who=f"Model "
                                  f"{self.base.model_id!r}", what=OUTPUTS[name], units="outputs",
                                  dtype=self.base.dtype, hint="Rerun with --dtype float32.")
        return result


def wrap_m3(embedder, method: str | None, hybrid_weights=None, token_budget_mb: int | None = None):
    """The embedder a run uses: ``M3Embedder`` over a folder that has bge-m3's heads (and for any method but
    dense), else the dense embedder as it is (a method but dense on it is refused by name)."""
    method = check_method(method)
    if method == "dense" and hybrid_weights is None and token_budget_mb is None and missing_heads(embedder.folder):
        return embedder  # a hub id is not looked up for heads a dense run does not use
    return M3Embedder(embedder, method, hybrid_weights, token_budget_mb)
