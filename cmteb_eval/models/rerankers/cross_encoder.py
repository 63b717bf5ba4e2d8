"""The cross-encoder adapter: an ``AutoModelForSequenceClassification`` reranker (bge-reranker-base/-large).

It runs the model card's plain-transformers recipe::

    inputs = tokenizer(pairs, padding=True, truncation=True, return_tensors='pt', max_length=512)
    scores = model(**inputs, return_dict=True).logits.view(-1, ).float()

with pairs batched by length (padding is masked, so the scores do not depend on
the batch), identical pairs scored once, fp16 on GPU by default, scores returned
as float32 raw logits (``sigmoid=True`` maps them to 0..1, which changes no
ranking).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ...errors import NotYetSupportedError, WrongModelKindError
from ...tasks.card import TaskSpec
from ..identity import loading
from .. import progress
from ..identity.fingerprint import local_fingerprints
from ..identity.llm_cards import is_causal_lm, is_decoder_classifier, known_names
from ..encoders.runtime import pick_device, pick_dtype
from ..identity.settings import check_room_for_text, find_known_model, fit_max_length
from ..identity.st_folder import tokenizer_max_length
from ..vectors import distinct, refuse_non_finite


def refuse_non_cross_encoder(model: str, config: Any) -> None:
    """A reranker must be a sequence-classification model with one output, on an encoder (a
    decoder LM's classification head scores a prompt this adapter does not build)."""
    if is_decoder_classifier(config):
        raise WrongModelKindError(
            f"Model {model!r} is a sequence-classification conversion of a decoder LM "
            f"({', '.join(config.architectures)}): its score is only meaningful on the prompt template it was "
            f"converted with, and cmteb-eval does not run such conversions (scoring the raw pair gives other "
            f"numbers, with no message).",
            f"Pass the original causal LM with --reranker (known LLM rerankers: {known_names()}).")
    if is_causal_lm(config):
        raise WrongModelKindError(
            f"Model {model!r} is a causal language model ({', '.join(config.architectures)}), not a cross-encoder: "
            f"an LLM reranker is scored from the next-token logits of its card's prompt.",
            f"Pass it with --reranker (the run picks the LLM reranker; known cards: {known_names()}).")
    if not loading.is_cross_encoder(config):
        architectures = ", ".join(getattr(config, "architectures", None) or []) or "no architecture listed"
        raise WrongModelKindError(
            f"Model {model!r} is not a cross-encoder ({architectures}): it has no sequence-classification head "
            f"to score (query, passage) pairs.",
            "Pass it with --model to evaluate it as a bi-encoder (embedder); --reranker takes models such as "
            "BAAI/bge-reranker-base.")
    labels = int(getattr(config, "num_labels", 1) or 1)
    if labels != 1:
        raise WrongModelKindError(
            f"Model {model!r} is a sequence classifier with {labels} outputs, not a reranker with one relevance score.",
            "Pass a reranker cross-encoder (one output logit), such as BAAI/bge-reranker-base.")


class CrossEncoderReranker:
    """Scores (query, passage) pairs with a sequence-classification model."""

    def __init__(self, model: str, *, model_name: str | None = None, revision: str | None = None,
                 device: str | None = None, dtype: str | None = None, batch_size: int = 32,
                 max_length: int | None = None, sigmoid: bool = False, trust_remote_code: bool = False,
                 cache=None, ignore_remote_code: bool = False) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification

        self.model_id = model
        self.revision = revision
        self.folder = loading.local_folder(model)
        if self.folder is not None:
            loading.check_folder(self.folder)
        config = loading.read_config(model, self.folder, revision, trust_remote_code)
        refuse_non_cross_encoder(model, config)
        self.remote_code_skipped = loading.refuse_remote_code(model, config, trust_remote_code, ignore_remote_code)
        # hashed before the weights load: the files read are the files fingerprinted
        self.fingerprint, self.tokenizer_fingerprint = local_fingerprints(self.folder, getattr(cache, "root", None))
        self.commit_hash = getattr(config, "_commit_hash", None)
        known = find_known_model(model_name, model, self.folder.name if self.folder else None)
        # as sentence-transformers' CrossEncoder: the tokenizer's model_max_length, capped at the positions
        saved, saved_source = tokenizer_max_length(self.folder, config) if self.folder is not None and not known \
            else (None, "")
        self.max_length, note = fit_max_length(int(max_length or (known[1].get("max_length") if known else None)
                                                    or saved or 512), config, model,
                                               from_command_line=max_length is not None)
        self.settings_source = (f"known card {known[0]}" if known else saved_source or "defaults") \
            + (f" ({note})" if note else "")
        # said in the run's output and the result when neither a card nor --max-length set the length
        self.max_length_note = "" if known or max_length is not None else (
            f"max_length {self.max_length} came from {saved_source or 'cmteb-eval default'}, not from a known card: "
            f"its authors may run it at another length (pass --max-length, or --model-name HUB_ID of a known card)")
        # FlagReranker's limits (the card says so): the query alone to 3/4 of max_length, then the passage
        self.truncation = (known[1].get("truncation") if known else None) or "longest_first"
        self.query_max_length = self.max_length * 3 // 4 if self.truncation == "FlagReranker" else None
        self.sigmoid = sigmoid
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        self.batch_size = batch_size
        self.trust_remote_code = trust_remote_code
        self.tokenizer = loading.load_tokenizer(model, self.folder, revision, trust_remote_code)
        check_room_for_text(self.max_length, self.tokenizer.num_special_tokens_to_add(pair=True), model)
        self.model = loading.load_weights(AutoModelForSequenceClassification, model, self.folder, revision,
                                          getattr(torch, self.dtype), trust_remote_code, kind="cross-encoder")
        self.model.to(self.device).eval()

    @classmethod
    def from_loaded(cls, model, tokenizer, *, name: str, max_length: int, fingerprint: str | None,
                    batch_size: int = 32, sigmoid: bool = False, in_memory: str = "") -> "CrossEncoderReranker":
        """A reranker on a model and tokenizer already in memory (a sentence-transformers CrossEncoder's)."""
        self = cls.__new__(cls)
        parameter = next(model.parameters(), None)
        self.model_id, self.revision, self.folder = name, None, None
        self.fingerprint, self.tokenizer_fingerprint, self.commit_hash = fingerprint, None, None
        self.max_length, self.settings_source = max_length, f"in memory ({in_memory})"
        self.truncation, self.query_max_length, self.max_length_note = "longest_first", None, ""
        self.in_memory = in_memory or "object"  # a name, not a path: results/owner.py compares the identity
        self.sigmoid, self.batch_size, self.trust_remote_code = sigmoid, batch_size, False
        self.remote_code_skipped = None
        self.device = str(parameter.device) if parameter is not None else "cpu"
        self.dtype = str(parameter.dtype).removeprefix("torch.") if parameter is not None else "float32"
        self.tokenizer, self.model = tokenizer, model
        self.stable = fingerprint is not None  # an identity: results of it may be reused (the Python API)
        model.eval()
        return self

    def score_pairs(self, pairs: Sequence[tuple[str, str]], *, task: TaskSpec | None = None) -> np.ndarray:
        """One float32 relevance score per (query, passage) pair, in input order."""
        unique, positions = distinct((str(q), str(p)) for q, p in pairs)
        scores = self._score_unique(unique)
        refuse_non_finite(scores, who=f"Reranker {self.model_id!r}", what="scores", units="pairs", dtype=self.dtype,
                          hint="Rerun with --dtype float32 or check the model weights.")
        return scores[np.asarray(positions, dtype=np.int64)] if positions else scores

    def describe(self, task: TaskSpec | None = None) -> dict[str, Any]:
        return {
            "model": str(self.folder or self.model_id),
            "revision": self.revision,
            "weights_fingerprint": self.fingerprint,
            "tokenizer_fingerprint": self.tokenizer_fingerprint,
            "commit": self.commit_hash,
            "kind": "cross-encoder",
            "max_length": self.max_length,
            **({"query_max_length": self.query_max_length} if self.query_max_length else {}),
            "truncation": self.truncation,
            "score": "sigmoid(logit)" if self.sigmoid else "raw logit",
            "sigmoid": self.sigmoid,
            "settings_source": self.settings_source,
            **({"max_length_note": self.max_length_note} if self.max_length_note else {}),
            "dtype": self.dtype,
            "device": self.device,
            "batch_size": self.batch_size,
            "trust_remote_code": self.trust_remote_code,
            **({"remote_code_skipped": self.remote_code_skipped} if self.remote_code_skipped else {}),
            **({"in_memory": self.in_memory} if getattr(self, "in_memory", None) else {}),
        }

    def _score_unique(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        import torch

        if not pairs:
            return np.zeros(0, dtype=np.float32)
        encoded = self._flag_reranker_inputs(pairs) if self.truncation == "FlagReranker" else \
            self.tokenizer([q for q, _ in pairs], [p for _, p in pairs], truncation=True,
                           max_length=self.max_length, padding=False)
        loading.check_token_ids(self.model_id, encoded["input_ids"], self.model.config)
        lengths = [len(ids) for ids in encoded["input_ids"]]
        order = np.argsort([-n for n in lengths], kind="stable")
        keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in encoded]
        out = np.empty(len(pairs), dtype=np.float32)
        with torch.inference_mode(), progress.progress("scoring pairs", len(order), "pairs", sum(lengths)) as bar, \
                progress.timed("scoring_seconds"):
            for start in range(0, len(order), self.batch_size):
                batch_index = order[start:start + self.batch_size]
                features = {k: [encoded[k][i] for i in batch_index] for k in keys}
                batch = self.tokenizer.pad(features, padding=True, return_tensors="pt")
                batch = {k: v.to(self.device) for k, v in batch.items()}
                logits = self.model(**batch, return_dict=True).logits.view(-1).float()
                if self.sigmoid:
                    logits = torch.sigmoid(logits)
                out[batch_index] = logits.cpu().numpy()
                bar.update(len(batch_index), sum(lengths[i] for i in batch_index))
        progress.METER.pairs_scored += len(pairs)
        return out


    def _flag_reranker_inputs(self, pairs: list[tuple[str, str]]) -> dict[str, list]:
        """FlagReranker's inputs: query and passage tokenised alone (the query to query_max_length, the
        passage to max_length), then joined with the special tokens, the passage cut so the pair fits
        (only_second; a passage that would vanish is left whole, as transformers' prepare_for_model did).
        On the token ids, through the fast tokenizer's own post-processor."""
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise NotYetSupportedError(
                f"Reranker {self.model_id!r} has no fast tokenizer (tokenizer.json): FlagReranker's query and passage "
                f"limits are applied on the fast tokenizer's token ids.",
                "Save the model's fast tokenizer into the folder (AutoTokenizer.from_pretrained(..., use_fast=True)"
                ".save_pretrained).")
        special = self.tokenizer.num_special_tokens_to_add(pair=True)
        out: dict[str, list] = {"input_ids": [], "attention_mask": []}
        with_types = "token_type_ids" in self.tokenizer.model_input_names
        if with_types:
            out["token_type_ids"] = []
        for query_text, passage_text in pairs:
            query = backend.encode(query_text, add_special_tokens=False)
            query.truncate(self.query_max_length)
            passage = backend.encode(passage_text, add_special_tokens=False)
            passage.truncate(self.max_length)
            extra = len(query.ids) + len(passage.ids) + special - self.max_length
            if 0 < extra < len(passage.ids):
                passage.truncate(len(passage.ids) - extra)
            joined = backend.post_process(query, passage, add_special_tokens=True)
            out["input_ids"].append(joined.ids)
            out["attention_mask"].append([1] * len(joined.ids))
            if with_types:
                out["token_type_ids"].append(joined.type_ids)
        return out


def load_reranker(model: str, **kwargs) -> CrossEncoderReranker:
    return CrossEncoderReranker(str(model), **kwargs)
