"""The embedding adapter: a transformers encoder run the way the model's authors run it.

For BGE this is the model card's plain-transformers recipe (CLS token of the last
hidden state, L2-normalised); for sentence-transformers models it is what their
Pooling and Normalize modules do. Texts are deduplicated, looked up in the embedding
cache (``cmteb_eval.cache``) when one is given, tokenised up front and batched by a
token budget over length-sorted texts so that padding stays small; output rows follow
input order. Under torchrun the encoding is sharded across processes
(``cmteb_eval.distributed``).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import EmbeddingError
from ..tasks.card import TaskSpec
from . import loading, runtime
from .lean_encoder import config_unsupported_reason
from .protocol import QUERY, TEXT
from .settings import EncoderSettings, check_room_for_text, fit_max_length, resolve_settings


BACKENDS = ("auto", "lean", "torch", "onnx")
SMALL_MAX_LENGTH = 8  # a --max-length this small is checked against the tokenizer's special tokens


def resolve_backend(backend: str, device: str, dtype: str, config: Any, trust_remote_code: bool = False) -> str:
    """'auto' is the lean forward (``lean_encoder``) on CPU in float32 for a BERT-family model,
    else transformers' own forward ('torch'). onnx stays available with --backend onnx; on a quiet
    2-core CPU it ran at 53% of the matmul limit against torch's 65% (BENCHMARKS.md)."""
    if backend == "auto":
        lean = device == "cpu" and dtype == "float32" and not trust_remote_code \
            and config_unsupported_reason(config) is None
        return "lean" if lean else "torch"
    if backend == "lean":
        reason = config_unsupported_reason(config)
        if device != "cpu" or dtype != "float32" or trust_remote_code or reason is not None:
            from ..errors import UserError

            why = reason or ("remote code" if trust_remote_code else f"{device}/{dtype}")
            raise UserError(f"The lean backend runs BERT-family models on CPU in float32 (here: {why}).",
                            "Use --backend torch (or auto).")
    return backend


def local_fingerprints(folder: Path | None, cache=None) -> tuple[str | None, str | None]:
    """(weights, tokenizer) fingerprints of a local model folder (``fingerprint.py``), None for a
    hub id; file hashes are remembered under the embedding cache's root when there is one."""
    if folder is None:
        return None, None
    from .fingerprint import HashStore

    store = HashStore.under(getattr(cache, "root", None))
    return loading.weights_fingerprint(folder, store), loading.tokenizer_fingerprint(folder, store)


def cuda_possible() -> bool:
    """Whether torch may see a GPU, without importing torch for a CPU-only build (a warm run
    served from the cache never needs torch)."""
    import sys

    if "torch" not in sys.modules:
        from importlib import metadata

        try:
            if "+cpu" in metadata.version("torch"):
                return False
        except metadata.PackageNotFoundError:
            return False
    import torch

    return torch.cuda.is_available()


def pick_device(device: str | None) -> str:
    """The device to run on: ``auto`` is CUDA when present; anything else is checked first."""
    if device and device != "auto":
        return runtime.check_device(device)
    return "cuda" if cuda_possible() else "cpu"


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
                 device: str | None = None, dtype: str | None = None, batch_size: int | None = None,
                 use_instruction: bool = True, query_instruction: str | None = None,
                 pooling: str | None = None, normalize: bool | None = None, max_length: int | None = None,
                 trust_remote_code: bool = False, backend: str = "torch", max_batch_tokens: int | None = None,
                 cache=None, shard=None) -> None:

        if backend not in BACKENDS:
            from ..errors import UserError

            raise UserError(f"Unknown backend {backend!r}.", f"Use one of: {', '.join(BACKENDS)}.")

        self.model_id = model
        self.revision = revision
        self.folder = loading.local_folder(model)
        if self.folder is not None:
            loading.check_folder(self.folder)
        self.trust_remote_code = trust_remote_code
        config = loading.read_config_fields(model, self.folder, revision, trust_remote_code)
        loading.refuse_cross_encoder(model, config)
        loading.refuse_remote_code(model, config, trust_remote_code)
        self.settings: EncoderSettings = resolve_settings(
            model, self.folder, model_name,
            {"pooling": pooling, "normalize": normalize, "max_length": max_length,
             "query_instruction": query_instruction})
        fitted, note = fit_max_length(self.settings.max_length, config, model, from_command_line=max_length is not None)
        if note:
            self.settings = replace(self.settings, max_length=fitted,
                                    settings_source=f"{self.settings.settings_source} ({note})")
        self.use_instruction = use_instruction
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        self.batch_size = batch_size
        self.cache = cache  # a cmteb_eval.cache.EmbeddingCache, or None
        self.shard = shard  # a cmteb_eval.distributed.Shard under torchrun, or None
        self.threads = runtime.cpu_thread_count(shard.world if shard else 1) \
            if not self.device.startswith("cuda") else None
        self.plan = runtime.BatchPlan(max_batch_tokens or runtime.default_max_tokens(self.device),
                                      batch_size or runtime.UNCAPPED)
        self.config = config
        # Tokenizer, weights and the forward engine load on first use: a run served wholly
        # from the cache imports neither torch nor transformers.
        self._tokenizer = None
        self._model = None
        self._engine = None
        self.fingerprint, self.tokenizer_fingerprint = local_fingerprints(self.folder, cache)
        self.commit_hash = getattr(config, "_commit_hash", None)
        self.backend = resolve_backend(backend, self.device, self.dtype, config, trust_remote_code)
        if self.backend == "onnx" and (self.device != "cpu" or self.dtype != "float32"):
            from ..errors import UserError

            raise UserError(f"The onnx backend runs on CPU in float32 (asked: {self.device}/{self.dtype}).",
                            "Use --backend torch on GPU or with --dtype float16/bfloat16.")
        self._forward = {"lean": self._lean_forward, "onnx": self._onnx_forward}.get(self.backend,
                                                                                   self._torch_forward)
        if max_length is not None and max_length <= SMALL_MAX_LENGTH:  # worth loading the tokenizer to check
            check_room_for_text(max_length, self.tokenizer.num_special_tokens_to_add(pair=False), model)

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
        vectors = self._encode_cached(list(unique), role, instruction)
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
            "tokenizer_fingerprint": self.tokenizer_fingerprint,
            "commit": self.commit_hash,
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
            "max_batch_tokens": self.plan.max_tokens,
            "backend": self.backend,
            "trust_remote_code": self.trust_remote_code,
        }

    def cache_identity(self, role: str, instruction: str) -> dict[str, Any]:
        """Everything besides the text that changes an embedding: the embedding cache's key."""
        if self.folder is not None:  # a local copy: the bytes, not the path, identify it
            model = {"weights": self.fingerprint, "tokenizer": self.tokenizer_fingerprint}
        else:
            model = {"id": self.model_id, "revision": self.revision, "commit": self.commit_hash}
        return {"model": model, "pooling": self.settings.pooling, "normalize": self.settings.normalize,
                "max_length": self.settings.max_length, "dtype": self.dtype, "backend": self.backend,
                "device_type": self.device.split(":")[0], "instruction": instruction, "role": role}

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            self._tokenizer = loading.load_tokenizer(self.model_id, self.folder, self.revision, self.trust_remote_code)
        return self._tokenizer

    @property
    def model(self):
        """The transformers model, loaded from its files on first use."""
        if self._model is None:
            import torch
            from transformers import AutoModel

            if self.threads is not None:
                runtime.configure_cpu_threads(threads=self.threads)
            self._model = loading.load_weights(AutoModel, self.model_id, self.folder, self.revision,
                                               getattr(torch, self.dtype), self.trust_remote_code)
            self._model.to(self.device).eval()
        return self._model

    @model.setter
    def model(self, value) -> None:
        self._model = value
        self._engine = None  # built again for the new weights

    @property
    def dimension(self) -> int:
        size = getattr(self.config, "hidden_size", None)
        return int(size if size is not None else self.model.config.hidden_size)

    # ------------------------------------------------------------ internals

    def _encode_cached(self, texts: list[str], role: str, instruction: str) -> np.ndarray:
        """Vectors of distinct ``texts``: cached rows read, the rest encoded (sharded) and stored.

        Under torchrun only rank 0 touches the cache: it names the texts to encode, every
        rank encodes its share, and rank 0's finished array is sent to all ranks.
        """
        main = self.shard is None or self.shard.is_main
        namespace = self.cache.namespace(self.cache_identity(role, instruction)) \
            if self.cache is not None and main else None
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        missing = list(range(len(texts)))
        if namespace is not None:
            found, missing = namespace.lookup(texts)
            for position, row in found.items():
                out[position] = row
        if self.shard is not None:
            missing = self.shard.share(missing)
        if missing:
            todo = [texts[i] for i in missing]
            vectors = self._encode_unique(todo)
            out[missing] = vectors
            if namespace is not None:
                namespace.store(todo, vectors)
        if self.shard is not None:
            out = self.shard.broadcast_array(out if main else None, out.shape)
        return out

    def _encode_unique(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        tokenized = self.tokenizer(texts, truncation=True, max_length=self.settings.max_length,
                                   padding=False, return_attention_mask=False)["input_ids"]
        loading.check_token_ids(self.model_id, tokenized, self.config)
        # The model sees token ids, not text: texts that tokenise alike (characters outside the
        # vocabulary, case or accents the tokenizer drops, truncation) are encoded once and get
        # bit-identical vectors, so their cosine is exactly 1, not 1 minus float noise that
        # batch shapes would decide (a 1.3e-4 Spearman swing on PAWSX, README).
        distinct: dict[tuple[int, ...], int] = {}
        positions = np.array([distinct.setdefault(tuple(ids), len(distinct)) for ids in tokenized], dtype=np.int64)
        encoded = [list(ids) for ids in distinct]
        lengths = np.array([len(ids) for ids in encoded], dtype=np.int64)
        if self.shard is not None:  # every world-th of the length-sorted sequences is ours
            sorted_positions = np.argsort(-lengths, kind="stable")
            mine = self.shard.mine(sorted_positions)
            local = self._encode_tokens([encoded[i] for i in mine], lengths[mine])
            return self.shard.gather(sorted_positions, local, self.dimension)[positions]
        return self._encode_tokens(encoded, lengths)[positions]

    def _encode_tokens(self, encoded: list[list[int]], lengths: np.ndarray) -> np.ndarray:
        import torch

        out = np.empty((len(encoded), self.dimension), dtype=np.float32)

        pad_id = self.tokenizer.pad_token_id or 0
        left = self.tokenizer.padding_side == "left"

        def forward(batch_index: np.ndarray) -> None:
            ids, mask = pad_batch([encoded[i] for i in batch_index], pad_id, left)
            ids, mask = torch.from_numpy(ids).to(self.device), torch.from_numpy(mask).to(self.device)
            hidden = self._forward(ids, mask)
            # Pool and normalise in float32 whatever the model's dtype (fp16 sums overflow).
            pooled = pool(hidden.float(), mask, self.settings.pooling)
            if self.settings.normalize:
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            out[batch_index] = pooled.cpu().numpy()

        with torch.inference_mode():
            try:
                self.plan.run(lengths, forward)
            except MemoryError as exc:
                raise EmbeddingError(
                    f"Model {self.model_id!r} ran out of memory on {self.device} even with a batch of one "
                    f"text ({exc}).",
                    "Lower --max-length, use --dtype float16, or run on a device with more memory.") from None
        return out

    def _torch_forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def _lean_forward(self, input_ids, attention_mask):
        if self._engine is None:
            from .lean_encoder import LeanEncoder, unsupported_reason

            reason = unsupported_reason(self.model)
            if reason is not None:
                raise EmbeddingError(f"Model {self.model_id!r} cannot run on the lean backend: {reason}.",
                                     "Use --backend torch.")
            self._engine = LeanEncoder(self.model)
        return self._engine(input_ids, attention_mask)

    def _onnx_forward(self, input_ids, attention_mask):
        if self._engine is None:
            from .onnx_backend import OnnxEncoder

            root = self.cache.root if self.cache is not None else None
            self._engine = OnnxEncoder(self.model, self.cache_identity(TEXT, ""), root, self.threads or 1)
        return self._engine(input_ids, attention_mask)

    def settings_dict(self) -> dict[str, Any]:
        return asdict(self.settings)


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


def load_embedder(model: str | Path, **kwargs) -> TransformerEmbedder:
    return TransformerEmbedder(str(model), **kwargs)
