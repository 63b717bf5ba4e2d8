"""The embedding adapter: a transformers encoder run the way the model's authors run it.

For BGE this is the model card's plain-transformers recipe (CLS token of the last
hidden state, L2-normalised); for sentence-transformers models it is what their
Pooling and Normalize modules do. ``TransformerEmbedder`` holds the model and wires the
steps, each of which lives in a module of its own:

- settings (pooling, normalisation, max length, instruction): ``settings.py``;
- device and dtype: ``runtime.py``; the forward pass (lean, torch, onnx): ``backends.py``;
- each distinct text once, and no NaN leaving the model: ``vectors.py``;
- the embedding cache (``cache.py``) and, under torchrun, sharding (``distributed.py``);
- texts that tokenise alike encoded once; token-budget batches over length-sorted
  sequences, pooling and normalisation: ``pooling.py``.

Output rows follow input order.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...errors import ModelLoadError
from ...tasks.card import TaskSpec
from . import backends
from ..identity import loading
from .. import progress
from . import runtime
from ..cache.fill import cached_encode, current_sink
from ..identity.fingerprint import files_fingerprint, local_fingerprints, onnx_files, weight_files
from ..identity.llm_cards import refuse_llm_reranker_as_embedder
from .pooling import encode_tokens
from ..protocol import QUERY, TEXT
from ..identity.settings import (EncoderSettings, check_room_for_text, find_known_model, fit_max_length,
                                 resolve_settings)
from ..identity.families import find_family, refuse_api_only
from ..identity.st_folder import read_st_folder
from ..identity.prompts import NO_PROMPT, Prompt, resolve_prompts
from .st_head import build_head, output_dimension
from ..vectors import distinct, refuse_non_finite

PLAN_MIN_TEXTS = 100  # an encode call of this many texts or more says how many, and their tokens
SMALL_MAX_LENGTH = 8  # a --max-length this small is checked against the tokenizer's special tokens


class TransformerEmbedder:
    """Embeds texts with a transformers ``AutoModel`` and the model's pooling."""

    def __init__(self, model: str, *, model_name: str | None = None, revision: str | None = None,
                 device: str | None = None, dtype: str | None = None, batch_size: int | None = None,
                 use_instruction: bool = True, query_instruction: str | None = None,
                 document_instruction: str | None = None, prompts=None, prompts_source: str = "command line",
                 prompt_variant: str | None = None,
                 pooling: str | None = None, normalize: bool | None = None, max_length: int | None = None,
                 trust_remote_code: bool = False, backend: str = "torch", max_batch_tokens: int | None = None,
                 cache=None, shard=None, ignore_remote_code: bool = False) -> None:
        backends.check_name(backend)
        self.model_id = model
        self.revision = revision
        self.root = loading.local_folder(model)
        # a sentence-transformers folder: its modules, and the folder of its Transformer (the root, or 0_Transformer/)
        self.st = read_st_folder(self.root) if self.root is not None else None
        self.folder = self.st.transformer_dir if self.st is not None else self.root
        if self.folder is not None:
            loading.check_folder(self.folder)
        self.trust_remote_code = trust_remote_code
        config = loading.read_config_fields(model, self.folder, revision, trust_remote_code)
        loading.refuse_cross_encoder(model, config)
        names = (model_name, model, self.root.name if self.root else None)
        known = find_known_model(*names)
        refuse_llm_reranker_as_embedder(model, config, names, said_to_embed=pooling is not None or self.st is not None
                                        or known is not None)
        # a decoder-embedder family (families.toml): its mechanics, unless the folder's files or flags say otherwise
        self.family = find_family(names, config, self.st.pooling if self.st is not None else None)
        self.remote_code_skipped = loading.refuse_remote_code(model, config, trust_remote_code, ignore_remote_code,
                                                              self.family.remote_code if self.family else "")
        if self.family is not None:
            refuse_api_only(model, self.family)
        self.settings = self._settings(model, self.root, config, model_name,
                                       {"pooling": pooling, "normalize": normalize, "max_length": max_length,
                                        "query_instruction": query_instruction}, self.st, self.family)
        self.use_instruction = use_instruction
        self.prompts = resolve_prompts(model, self.root, model_name, self.st, prompts, prompts_source,
                                       query_instruction, document_instruction, prompt_variant, known,
                                       self.family.prompt_card if self.family is not None else None)
        self.device = runtime.pick_device(device)
        family_dtype = self.family.gpu_dtype if self.family is not None and self.device.startswith("cuda") else None
        self.dtype = runtime.pick_dtype(family_dtype if dtype in (None, "auto") and family_dtype else dtype,
                                        self.device)
        self.batch_size = batch_size
        self.cache = cache  # a models.cache.EmbeddingCache, or None
        self.shard = shard  # a models.distributed.Shard under torchrun, or None
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
        self.fingerprint, self.tokenizer_fingerprint = local_fingerprints(self.folder, getattr(cache, "root", None))
        self.modules_fingerprint = files_fingerprint(self.st.root, self.st.module_files, getattr(cache, "root", None)) \
            if self.st is not None else None
        self.commit_hash = getattr(config, "_commit_hash", None)
        self.onnx_file = onnx_files(self.folder)[0] if self.folder is not None and onnx_files(self.folder) else None
        if self.onnx_file is not None and not weight_files(self.folder):  # an ONNX-only folder
            backend = backends.onnx_only(backend, self.folder, self.onnx_file)
        elif backend != "onnx":
            self.onnx_file = None
        self.backend = backends.resolve_backend(backend, self.device, self.dtype, config, trust_remote_code)
        self._head = None
        self._forward = {"lean": self._lean_forward, "onnx": self._onnx_forward}.get(self.backend,
                                                                                   self._torch_forward)
        if max_length is not None and max_length <= SMALL_MAX_LENGTH:  # worth loading the tokenizer to check
            check_room_for_text(max_length, self.tokenizer.num_special_tokens_to_add(pair=False), model)

    @staticmethod
    def _settings(model: str, folder: Path | None, config: Any, model_name: str | None,
                  overrides: dict[str, Any], st=None, family=None) -> EncoderSettings:
        """The model's settings (known card, family, its sentence-transformers files, the command line), with
        a max length the position embeddings can take."""
        settings = resolve_settings(model, folder, model_name, overrides, st, config, family)
        fitted, note = fit_max_length(settings.max_length, config, model,
                                      from_command_line=overrides["max_length"] is not None)
        if note:
            settings = replace(settings, max_length=fitted, settings_source=f"{settings.settings_source} ({note})")
        return settings

    # ------------------------------------------------------------ public API

    def prompt_for(self, role: str, task: TaskSpec | None) -> Prompt:
        """The prompt of each text of ``role`` in ``task`` (``identity/prompts.py``: the first source whose
        table has a key for it, most specific key first); none under --no-instruction."""
        if not self.use_instruction:
            return NO_PROMPT
        return self.prompts.prompt(task, role)

    def instruction_for(self, role: str, task: TaskSpec | None) -> str:
        """The text put before each text of ``role`` (the prompt's prefix)."""
        return self.prompt_for(role, task).prefix

    def encode(self, texts: Sequence[str], *, role: str = TEXT, task: TaskSpec | None = None) -> np.ndarray:
        prompt = self.prompt_for(role, task)
        unique, positions = distinct(prompt.apply(text) for text in texts)
        vectors = self._encode_cached(unique, role, prompt.prefix, prompt.suffix)
        refuse_non_finite(vectors, who=f"Model {self.model_id!r}", what="embeddings", units="texts", dtype=self.dtype,
                          hint="Rerun with --dtype float32 or --retry-fp32 (fp16 overflow is the usual cause) "
                               "or check the model weights.")
        return vectors[np.asarray(positions, dtype=np.int64)] if positions else vectors

    def describe(self, task: TaskSpec | None = None) -> dict[str, Any]:
        st_info = {**self.settings.recorded(), "modules_fingerprint": self.modules_fingerprint} \
            if self.st is not None else {}
        if self.onnx_file is not None:
            st_info["onnx_file"] = self.onnx_file.relative_to(self.folder).as_posix()
        if self.family is not None:
            st_info.update(family=self.family.name, family_source=self.family.source,
                           family_matched_by=self.family.matched_by)
        if self.settings.eos:
            st_info["eos"] = f"{self.settings.eos} ends every text (the tokenizer's, else appended after truncation)"
        if self.settings.padding_side not in ("", "tokenizer"):
            st_info["padding_side"] = self.settings.padding_side
        if self.remote_code_skipped:
            st_info["remote_code_skipped"] = self.remote_code_skipped
        return {
            "model": str(self.root or self.model_id),
            "revision": self.revision,
            "weights_fingerprint": self.fingerprint,
            "tokenizer_fingerprint": self.tokenizer_fingerprint,
            "commit": self.commit_hash,
            "kind": "embedder",
            "pooling": self.settings.pooling,
            "normalize": self.settings.normalize,
            "max_length": self.settings.max_length,
            "settings_source": self.settings.settings_source,
            "query_instruction": self.task_instruction(task),
            "instructions_enabled": self.use_instruction,
            **self.recorded_prompts(task),
            "dtype": self.dtype,
            "device": self.device,
            "batch_size": self.batch_size,
            "max_batch_tokens": self.plan.max_tokens,
            "backend": self.backend,
            "trust_remote_code": self.trust_remote_code,
            **st_info,
        }

    def task_instruction(self, task: TaskSpec | None) -> str:
        """The instruction the task's queries take (of its texts, for a type without queries): what
        results have recorded as ``query_instruction`` since before prompts per side."""
        if task is None:
            return self.prompt_for(QUERY, None).prefix
        sides = self.prompts.sides(task)
        return (self.prompt_for(QUERY, task) if "query" in sides else self.prompt_for(TEXT, task)).prefix

    def recorded_prompts(self, task: TaskSpec | None) -> dict[str, Any]:
        """What the result file records of the prompts: per side of the task, the exact prompt (and
        suffix), the key that chose it and its source; and the sources in order."""
        out: dict[str, Any] = {"prompt_sources": self.prompts.describe()}
        if task is not None:
            out["prompts"] = {side: (prompt if self.use_instruction else NO_PROMPT).recorded()
                              for side, prompt in self.prompts.sides(task).items()}
        return out

    def cache_identity(self, role: str, instruction: str, suffix: str = "") -> dict[str, Any]:
        """Everything besides the text that changes an embedding: the embedding cache's key."""
        if self.folder is not None:  # a local copy: the bytes, not the path, identify it
            model = {"weights": self.fingerprint, "tokenizer": self.tokenizer_fingerprint}
        else:
            model = {"id": self.model_id, "revision": self.revision, "commit": self.commit_hash}
        identity = {"model": model, "pooling": self.settings.pooling, "normalize": self.settings.normalize,
                    "max_length": self.settings.max_length, "dtype": self.dtype, "backend": self.backend,
                    "device_type": self.device.split(":")[0], "instruction": instruction, "role": role}
        if suffix:  # a template's text after the text (absent otherwise: the same keys as before)
            identity["suffix"] = suffix
        if self.st is not None:  # the modules, their files and settings (absent for a plain folder: same keys as before)
            recorded = self.settings.recorded()
            recorded.pop("instruction_source", None)
            identity["sentence_transformers"] = {**recorded, "modules": self.modules_fingerprint}
        if self.onnx_file is not None:
            identity["onnx_file"] = self.onnx_file.relative_to(self.folder).as_posix()
        if self.settings.eos or self.settings.family:  # absent for other models: their keys stay as they were
            identity["decoder"] = {"family": self.settings.family, "eos": self.settings.eos,
                                   "padding_side": self.settings.padding_side}
        return identity

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            tokenizer = loading.load_tokenizer(self.model_id, self.folder, self.revision, self.trust_remote_code)
            if self.settings.lowercase:
                lowercase_first(tokenizer)
            self._tokenizer = tokenizer
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
        size = int(size if size is not None else self.model.config.hidden_size)
        return output_dimension(size, self.settings.pooling, self.settings.head, self.settings.truncate_dim)

    def settings_dict(self) -> dict[str, Any]:
        return asdict(self.settings)

    # ------------------------------------------------------------ the steps

    def _encode_cached(self, texts: list[str], role: str, instruction: str, suffix: str = "") -> np.ndarray:
        """Vectors of distinct ``texts`` through the embedding cache (``cache_fill.cached_encode``)."""
        main = self.shard is None or self.shard.is_main
        namespace = self.cache.namespace(self.cache_identity(role, instruction, suffix), label=self.model_id) \
            if self.cache is not None and main else None
        excluded = self.prompt_length(instruction)
        encode = partial(self._encode_unique, prompt_length=excluded) if excluded else self._encode_unique
        return cached_encode(texts, namespace, self.shard, self.dimension, encode)

    def prompt_length(self, instruction: str) -> int:
        """How many leading tokens the instruction takes, for a Pooling with include_prompt false (0 else):
        the prompt tokenised alone, less a trailing special token, as sentence-transformers counts it."""
        if self.settings.include_prompt or not instruction:
            return 0
        ids = self.tokenizer([instruction], truncation=True, max_length=self.settings.max_length)["input_ids"][0]
        return len(ids) - (1 if ids and ids[-1] in self.tokenizer.all_special_ids else 0)

    def _encode_unique(self, texts: list[str], prompt_length: int = 0) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        tokenized = self.tokenizer(texts, truncation=True, max_length=self.settings.max_length,
                                   padding=False, return_attention_mask=False)["input_ids"]
        if self.settings.eos:
            tokenized = self._ending_with_eos(tokenized)
        loading.check_token_ids(self.model_id, tokenized, self.config)
        # The model sees token ids, not text: texts that tokenise alike (characters outside the
        # vocabulary, case or accents the tokenizer drops, truncation) are encoded once and get
        # bit-identical vectors, so their cosine is exactly 1, not 1 minus float noise that
        # batch shapes would decide (a 1.3e-4 Spearman swing on PAWSX, README).
        sequences, positions = distinct(tuple(ids) for ids in tokenized)
        encoded = [list(ids) for ids in sequences]
        lengths = np.array([len(ids) for ids in encoded], dtype=np.int64)
        positions = np.array(positions, dtype=np.int64)
        encode = partial(self._encode_tokens, prompt_length=prompt_length) if prompt_length else self._encode_tokens
        if self.shard is not None:  # every world-th of the length-sorted sequences is ours
            return self.shard.encode_share(encoded, lengths, encode, self.dimension)[positions]
        tokens = int(lengths.sum())
        if len(texts) >= PLAN_MIN_TEXTS:
            progress.note(f"    encoding {len(texts)} text(s), {progress.count(tokens)} tokens")
        sink = current_sink()
        texts_of = np.split(np.argsort(positions, kind="stable"),
                            np.cumsum(np.bincount(positions, minlength=len(encoded)))[:-1])

        def finished(batch: np.ndarray, vectors: np.ndarray) -> None:
            rows = [texts_of[i] for i in batch]
            done = np.concatenate(rows)
            bar.update(len(done), int(lengths[batch].sum()))
            progress.METER.tokens_encoded += int(lengths[batch].sum())
            if sink is not None:
                sink.add(done, np.repeat(vectors, [len(r) for r in rows], axis=0))
            progress.batch_done()

        with progress.progress("encoding", len(texts), "texts", tokens) as bar, progress.timed("encode_seconds"):
            return self._encode_tokens(encoded, lengths, finished, prompt_length=prompt_length)[positions]

    def _encode_tokens(self, encoded: list[list[int]], lengths: np.ndarray, on_batch=None,
                       prompt_length: int = 0) -> np.ndarray:
        if self._head is None and self.settings.head:
            self._head = build_head(self.settings.head, self.device)
        return encode_tokens(encoded, lengths, forward=self._forward, plan=self.plan, pooling=self.settings.pooling,
                             normalize=self.settings.normalize, pad_id=self.tokenizer.pad_token_id or 0,
                             left=self.pads_left, device=self.device,
                             dimension=self.dimension, model_id=self.model_id, on_batch=on_batch,
                             prompt_length=prompt_length, head=self._head, truncate_dim=self.settings.truncate_dim)

    @property
    def pads_left(self) -> bool:
        """Left padding where the family's recipe says so, else as the tokenizer says."""
        side = self.settings.padding_side
        return side == "left" if side in ("left", "right") else self.tokenizer.padding_side == "left"

    def _ending_with_eos(self, sequences: list[list[int]]) -> list[list[int]]:
        """Every sequence ending with the family's EOS token: the tokenizer's own where it appends it (the hub's
        Qwen3-Embedding tokenizer does), else appended after the text is cut to max_length - 1 tokens."""
        eos_id = self.tokenizer.convert_tokens_to_ids(self.settings.eos)
        if not isinstance(eos_id, int) or self.tokenizer.convert_ids_to_tokens(eos_id) != self.settings.eos:
            raise ModelLoadError(
                f"Model {self.model_id!r} ({self.settings.family}) must end every text with {self.settings.eos!r}, "
                f"which its tokenizer does not have.", "Use the tokenizer the model was released with.")
        keep = self.settings.max_length - 1
        return [ids if ids and ids[-1] == eos_id else list(ids[:keep]) + [eos_id] for ids in sequences]

    def _torch_forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def _lean_forward(self, input_ids, attention_mask):
        if self._engine is None:
            self._engine = backends.lean_engine(self.model, self.model_id)
        return self._engine(input_ids, attention_mask)

    def _onnx_forward(self, input_ids, attention_mask):
        if self._engine is None:
            root = self.cache.root if self.cache is not None else None
            model = None if self.onnx_file is not None else self.model  # the folder's own export, or ours
            self._engine = backends.onnx_engine(model, self.cache_identity(TEXT, ""), root, self.threads or 1,
                                                self.onnx_file)
        return self._engine(input_ids, attention_mask)


def lowercase_first(tokenizer) -> None:
    """``do_lower_case``: a Lowercase normalizer in front of the tokenizer's, unless it has one (as
    sentence-transformers 6 does; a BertNormalizer's own lowercase does not count)."""
    from tokenizers.normalizers import Lowercase, Sequence

    backend = tokenizer.backend_tokenizer
    current = backend.normalizer
    parts = list(current) if isinstance(current, Sequence) else [current] if current is not None else []
    if not any(isinstance(part, Lowercase) for part in parts):
        backend.normalizer = Sequence([Lowercase(), *parts])


def load_embedder(model: str | Path, **kwargs) -> TransformerEmbedder:
    return TransformerEmbedder(str(model), **kwargs)
