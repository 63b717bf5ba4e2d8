"""The LLM reranker adapter: a causal language model that scores a (query, passage) pair from the
next-token logits after a prompt, as its card's recipe does (``llm_prompts.py``; the cards, each
naming its source, in ``identity/llm_reranker_cards.toml``).

Pairs are tokenised as the recipe tokenises them, each distinct pair once, and run in
length-sorted batches within a token budget (``--max-batch-tokens``; halved on out-of-memory).
Batches are padded on the right, so under the causal mask every real token sees exactly what it
would see alone and the scores do not depend on the batch; only the hidden state of each pair's
last token goes through the LM head, and only the rows of the tokens the score reads. bf16 on a
GPU by default, float32 on CPU.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ...errors import NotYetSupportedError, UserError, WrongModelKindError
from ...tasks.card import TaskSpec
from .. import progress
from ..encoders import runtime
from ..identity import loading
from ..identity.fingerprint import local_fingerprints
from ..identity.llm_cards import architectures, find_llm_card, known_names
from ..identity.settings import fit_max_length
from ..vectors import distinct, refuse_non_finite
from . import minicpm_layerwise
from .llm_prompts import RECIPES_RUN, build_inputs, score_tokens


def llm_card_for(model: str, names: Sequence[str | None], config: Any) -> tuple[str, dict[str, Any]]:
    """The card of a causal LM given as a reranker; a model without one, or one whose recipe is not run,
    is refused by name (its score hangs on a prompt and a token we would otherwise guess)."""
    found = find_llm_card(*names)
    if found is None:
        raise WrongModelKindError(
            f"Model {model!r} is a causal language model ({', '.join(architectures(config))}) that matches no known "
            f"LLM reranker card: its score depends on a prompt and on the token whose logit is read, which "
            f"cmteb-eval will not guess.",
            f"If it is one of the known LLM rerankers ({known_names()}), name it with --model-name HUB_ID.")
    hub_id, card = found
    if card["recipe"] not in RECIPES_RUN or card.get("refused"):
        raise NotYetSupportedError(
            f"LLM reranker {hub_id} ({card['recipe']}, {card['source']}) is refused: {card.get('refused')}.",
            "Evaluate one of the LLM rerankers cmteb-eval runs: "
            + ", ".join(h for h, c in find_runnable().items()) + ".")
    return hub_id, card


def find_runnable() -> dict[str, dict[str, Any]]:
    from ..identity.llm_cards import llm_reranker_cards

    return {h: c for h, c in llm_reranker_cards().items() if c["recipe"] in RECIPES_RUN and not c.get("refused")}


class LLMReranker:
    """Scores (query, passage) pairs with a causal LM and its card's prompt."""

    def __init__(self, model: str, *, model_name: str | None = None, revision: str | None = None,
                 device: str | None = None, dtype: str | None = None, batch_size: int | None = None,
                 max_length: int | None = None, max_batch_tokens: int | None = None, sigmoid: bool = False,
                 query_instruction: str | None = None, cutoff_layers: int | None = None,
                 trust_remote_code: bool = False, cache=None, config: Any = None) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        self.model_id = model
        self.revision = revision
        self.folder = loading.local_folder(model)
        if self.folder is not None:
            loading.check_folder(self.folder)
        config = config if config is not None else loading.read_config_fields(model, self.folder, revision,
                                                                              trust_remote_code)
        self.config = config
        self.card_id, self.card = llm_card_for(model, (model_name, model, self.folder.name if self.folder else None),
                                               config)
        self.recipe = self.card["recipe"]
        if query_instruction is not None and self.recipe != "qwen3-yes-no":
            raise UserError(f"--query-instruction does not apply to {self.card_id}: its recipe puts "
                            f"{self.card['query_prefix']!r} before the query and takes no instruction.",
                            "Leave --query-instruction out.")
        if sigmoid and self.recipe == "qwen3-yes-no":
            raise UserError(f"--sigmoid does not apply to {self.card_id}: its score is already P(yes), in 0..1.",
                            "Leave --sigmoid out.")
        self.fingerprint, self.tokenizer_fingerprint = local_fingerprints(self.folder, getattr(cache, "root", None))
        self.commit_hash = getattr(config, "_commit_hash", None)
        self.max_length, note = fit_max_length(int(max_length or self.card["max_length"]), config, model,
                                               from_command_line=max_length is not None)
        self.settings_source = f"known card {self.card_id}" + (" + command line" if max_length else "") \
            + (f" ({note})" if note else "")
        self.query_max_length = self.max_length * 3 // 4 if self.recipe.startswith("flag-llm") else None
        self.query_instruction = query_instruction
        self.sigmoid = sigmoid
        self.device = runtime.pick_device(device)
        self.dtype = dtype if dtype and dtype != "auto" else \
            ("bfloat16" if self.device.startswith("cuda") else "float32")
        runtime.pick_dtype(self.dtype, self.device)  # checks the name
        self.batch_size = batch_size
        self.plan = runtime.BatchPlan(max_batch_tokens or runtime.default_max_tokens(self.device),
                                      batch_size or runtime.UNCAPPED)
        self.trust_remote_code = trust_remote_code
        self.tokenizer = self._load_tokenizer(model, revision, trust_remote_code)
        self.token_ids = score_tokens(self.recipe, self.card, self.tokenizer, model)
        self.cutoff_layer = None
        if self.recipe == "flag-llm-layerwise":
            if self.folder is None:
                raise NotYetSupportedError(f"LLM reranker {self.card_id} runs from a local folder only (its weights "
                                           f"are read without its remote code).", "Pass the path of a local copy.")
            self.cutoff_layer = int(cutoff_layers if cutoff_layers is not None else self.card["cutoff_layers"])
            base, head = minicpm_layerwise.build(model, self.folder, config, self.cutoff_layer,
                                                 getattr(torch, self.dtype))
            self.base, self.rows = base.to(self.device), (head.to(self.device), None)
        else:
            if cutoff_layers is not None:
                raise UserError(f"--cutoff-layers applies to layer-wise rerankers; {self.card_id} has one score head.",
                                "Leave --cutoff-layers out.")
            model_object = loading.load_weights(AutoModelForCausalLM, model, self.folder, revision,
                                                getattr(torch, self.dtype), trust_remote_code, kind="llm-reranker")
            model_object.to(self.device).eval()
            self.base = getattr(model_object, model_object.base_model_prefix)
            self.rows = self._head_rows(model_object)

    def _load_tokenizer(self, model: str, revision: str | None, trust_remote_code: bool):
        """The tokenizer; for a model type transformers does not know (minicpm), without its warning that
        the config is read as a generic one (only the tokenizer files are used)."""
        import warnings

        from transformers.utils import logging as hf_logging

        verbosity = hf_logging.get_verbosity()
        if self.recipe == "flag-llm-layerwise":
            hf_logging.set_verbosity_error()
        try:
            with warnings.catch_warnings():
                if self.recipe == "flag-llm-layerwise":  # its config's rope_scaling: null, read as a generic config
                    warnings.simplefilter("ignore", FutureWarning)
                return loading.load_tokenizer(model, self.folder, revision, trust_remote_code)
        finally:
            hf_logging.set_verbosity(verbosity)

    # ------------------------------------------------------------ public API

    def instruction_for(self, task: TaskSpec | None) -> tuple[str | None, str]:
        """The instruction the template takes (Qwen3-Reranker), and where it came from."""
        if self.recipe != "qwen3-yes-no":
            return None, ""
        if self.query_instruction is not None:
            return self.query_instruction, "command line"
        per_task = self.card.get("instructions", {})
        name = getattr(task, "name", None)
        if name in per_task:
            return per_task[name], f"card {self.card_id}, task {name}"
        return self.card["default_instruction"], f"card {self.card_id} default (no per-task instruction known)"

    def score_pairs(self, pairs: Sequence[tuple[str, str]], *, task: TaskSpec | None = None) -> np.ndarray:
        """One float32 relevance score per (query, passage) pair, in input order."""
        unique, positions = distinct((str(q), str(p)) for q, p in pairs)
        scores = self._score_unique(unique, self.instruction_for(task)[0])
        refuse_non_finite(scores, who=f"Reranker {self.model_id!r}", what="scores", units="pairs", dtype=self.dtype,
                          hint="Rerun with --dtype float32 or check the model weights.")
        return scores[np.asarray(positions, dtype=np.int64)] if positions else scores

    def describe(self, task: TaskSpec | None = None) -> dict[str, Any]:
        instruction, instruction_source = self.instruction_for(task)
        score = {"flag-llm": lambda: f"logit of {self.card['yes_token']!r} after the prompt",
                 "flag-llm-layerwise": lambda: f"layer {self.cutoff_layer}'s score head after the prompt",
                 "qwen3-yes-no": lambda: f"P({self.card['yes_token']!r}) = softmax over the ({self.card['no_token']!r}, "
                                         f"{self.card['yes_token']!r}) logits"}[self.recipe]()
        info = {
            "model": str(self.folder or self.model_id),
            "revision": self.revision,
            "weights_fingerprint": self.fingerprint,
            "tokenizer_fingerprint": self.tokenizer_fingerprint,
            "commit": self.commit_hash,
            "kind": "llm-reranker",
            "card": self.card_id,
            "recipe": self.recipe,
            "recipe_source": self.card["source"],
            "max_length": self.max_length,
            "score": f"sigmoid({score})" if self.sigmoid else score,
            "score_token_ids": list(self.token_ids),
            "sigmoid": self.sigmoid,
            "settings_source": self.settings_source,
            "dtype": self.dtype,
            "device": self.device,
            "max_batch_tokens": self.plan.max_tokens,
            "batch_size": self.batch_size,
            "trust_remote_code": self.trust_remote_code,
        }
        if self.query_max_length:
            info["query_max_length"] = self.query_max_length
        if self.cutoff_layer is not None:
            info["cutoff_layers"] = self.cutoff_layer
        if self.recipe.startswith("flag-llm"):
            info["prompt"] = self.card["prompt"]
            info["query_prefix"], info["passage_prefix"] = self.card["query_prefix"], self.card["passage_prefix"]
        else:
            info["instruction"], info["instruction_source"] = instruction, instruction_source
            info["template"] = self.card["template"]
        return info

    # ------------------------------------------------------------ scoring

    def _score_unique(self, pairs: list[tuple[str, str]], instruction: str | None) -> np.ndarray:
        import torch

        if not pairs:
            return np.zeros(0, dtype=np.float32)
        sequences = build_inputs(self.recipe, self.tokenizer, self.card, pairs, self.max_length,
                                 self.query_max_length, instruction)
        loading.check_token_ids(self.model_id, sequences, self.config)
        lengths = [len(ids) for ids in sequences]
        out = np.empty(len(pairs), dtype=np.float32)

        def forward(batch: np.ndarray) -> None:
            longest = max(lengths[i] for i in batch)
            ids = torch.zeros((len(batch), longest), dtype=torch.long)
            mask = torch.zeros((len(batch), longest), dtype=torch.long)
            for row, i in enumerate(batch):
                ids[row, :lengths[i]] = torch.tensor(sequences[i])
                mask[row, :lengths[i]] = 1
            hidden = self._last_hidden(ids.to(self.device), mask.to(self.device))
            last = hidden[torch.arange(len(batch), device=hidden.device), mask.sum(dim=1).to(hidden.device) - 1]
            out[batch] = self._score(last).cpu().numpy()
            bar.update(len(batch), sum(lengths[i] for i in batch))

        with torch.inference_mode(), progress.progress("scoring pairs", len(pairs), "pairs", sum(lengths)) as bar, \
                progress.timed("scoring_seconds"):
            self.plan.run(lengths, forward)
        progress.METER.pairs_scored += len(pairs)
        return out

    def _head_rows(self, model):
        """The LM head's rows (and bias) for the tokens the score reads: the logits of the others are
        never computed."""
        head = model.get_output_embeddings()
        index = list(self.token_ids)
        bias = head.bias[index] if getattr(head, "bias", None) is not None else None
        return head.weight[index], bias

    def _last_hidden(self, ids, mask):
        return self.base(input_ids=ids, attention_mask=mask, return_dict=True).last_hidden_state

    def _score(self, last):
        import torch

        weight, bias = self.rows
        logits = last @ weight.T
        if bias is not None:
            logits = logits + bias
        cap = getattr(self.config, "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        logits = logits.float()
        if self.recipe == "qwen3-yes-no":
            return torch.nn.functional.log_softmax(logits, dim=1)[:, 1].exp()
        return torch.sigmoid(logits[:, 0]) if self.sigmoid else logits[:, 0]
