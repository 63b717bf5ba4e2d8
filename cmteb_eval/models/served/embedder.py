"""A served embedding model as an ``Embedder``: texts go to the server in batches (by count and by
characters, ``concurrency`` requests at once), each answer is checked (``answers.py``) and handed to
the embedding cache as it arrives, so an interrupted run keeps every batch received and a rerun
resumes where it stopped.

Instructions are applied here, client-side, as for a local model: the model card known by
``--model-name`` or the served id (or ``--query-instruction``) decides what goes before queries
and passages; the result records that the texts were sent with the prompt already applied.

Identity (the cache key and the result's configuration): the endpoint URL, the API, the model id
the server reports (``/models``, TEI ``/info``), ``--model-revision`` when given, the dimensions
asked for and the prompts. A server that now reports another model id is another key: a miss,
never a stale hit.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ...tasks.card import TaskSpec
from .. import progress
from ..cache.fill import cached_encode, current_sink
from ..identity.prompts import NO_PROMPT, Prompt, resolve_prompts
from ..identity.settings import find_known_model
from ..protocol import QUERY, TEXT
from ..vectors import distinct
from .apis import api_for
from .client import ClientOptions, HttpClient, batches, run_concurrently

PROBE_TEXT = "dimension probe"


class ServedEmbedder:
    """Embeds texts through an embedding server (``api``: openai, infinity or tei)."""

    kind = "served embedder"

    def __init__(self, url: str, *, api: str = "openai", model_name: str | None = None, revision: str | None = None,
                 api_key_env: str | None = None, options: ClientOptions = ClientOptions(),
                 use_instruction: bool = True, query_instruction: str | None = None,
                 document_instruction: str | None = None, prompts=None, prompts_source: str = "command line",
                 prompt_variant: str | None = None, dimensions: int | None = None, cache=None, warn=None) -> None:
        self.api = api_for(api)
        self.client = HttpClient(self.api.base(url), options, api_key_env, warn)
        self.endpoint = self.client.url(self.api.embed_route)
        self.model_id = self.endpoint  # what the cache and the progress lines call it
        self.revision = revision
        self.options = options
        self.dimensions = dimensions
        self.cache = cache
        self.served_model_id, self.server_details = self.api.served_model(self.client, model_name, "embed")
        self.request_model = model_name or self.served_model_id
        known = find_known_model(model_name, self.served_model_id)
        # the prompts of each side of each task, from the same sources as a local model's (identity/prompts.py):
        # what the user gave, the known card of the model id, none else (a server has no folder to read)
        self.prompts = resolve_prompts(self.served_model_id or "", None, model_name, None, prompts, prompts_source,
                                       query_instruction, document_instruction, prompt_variant, known)
        self.query_instruction = self.prompts.prompt(None, QUERY).prefix
        self.use_instruction = use_instruction
        self.usage_tokens = 0
        self.dimension = int(self._post([PROBE_TEXT], None)[0].shape[1])  # also checks the endpoint answers

    # ------------------------------------------------------------ the Embedder protocol

    def prompt_for(self, role: str, task: TaskSpec | None) -> Prompt:
        return self.prompts.prompt(task, role) if self.use_instruction else NO_PROMPT

    def instruction_for(self, role: str, task: TaskSpec | None) -> str:
        return self.prompt_for(role, task).prefix

    def encode(self, texts: Sequence[str], *, role: str = TEXT, task: TaskSpec | None = None) -> np.ndarray:
        prompt = self.prompt_for(role, task)
        unique, positions = distinct(prompt.apply(str(text)) for text in texts)
        namespace = self.cache.namespace(self.cache_identity(role, prompt.prefix, prompt.suffix),
                                         label=self.endpoint) if self.cache is not None else None
        vectors = cached_encode(unique, namespace, None, self.dimension, self._encode_unique)
        return vectors[np.asarray(positions, dtype=np.int64)] if positions else vectors

    def describe(self, task: TaskSpec | None = None) -> dict[str, Any]:
        return {
            "model": self.endpoint,
            "revision": self.revision,
            "weights_fingerprint": None,
            "kind": "embedder",
            "served": self.served_identity(),
            "query_instruction": self.instruction_for(QUERY, task),
            "instructions_enabled": self.use_instruction,
            "prompt_sources": self.prompts.describe(),
            **({"prompts": {side: (prompt if self.use_instruction else NO_PROMPT).recorded()
                            for side, prompt in self.prompts.sides(task).items()}} if task is not None else {}),
            "prompts_applied": "client-side: the texts were sent with the prompts already applied",
            "embedding_dimension": self.dimension,
            **self.options.recorded(),
        }

    def served_identity(self) -> dict[str, Any]:
        """What identifies the served model: the endpoint, its API, the id the server reports."""
        return {"api": self.api.name, "endpoint": self.endpoint, "served_model_id": self.served_model_id,
                "request_model": self.request_model, "model_revision": self.revision,
                "dimensions": self.dimensions, **self.server_details}

    def cache_identity(self, role: str, instruction: str, suffix: str = "") -> dict[str, Any]:
        return {"served": self.served_identity(), "instruction": instruction, "role": role,
                **({"suffix": suffix} if suffix else {})}

    # ------------------------------------------------------------ requests

    def _post(self, texts: Sequence[str], dimension: int | None) -> tuple[np.ndarray, int]:
        body = self.api.embed_body(self.request_model, texts, self.dimensions)
        payload = self.client.post_json(self.api.embed_route, body)
        return self.api.embeddings(payload, len(texts), self.endpoint, dimension)

    def _encode_unique(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        parts = batches(texts, self.options.batch_size, self.options.batch_chars)
        sink = current_sink()
        requests_before, retries_before = self.client.requests, self.client.retried
        if len(texts) >= 100:
            progress.note(f"    sending {len(texts)} text(s) to {self.endpoint} in {len(parts)} request(s), "
                          f"{self.options.concurrency} at a time")

        def finished(part: range, answer: tuple[np.ndarray, int]) -> None:
            vectors, tokens = answer
            out[part.start:part.stop] = vectors
            self.usage_tokens += tokens
            progress.METER.tokens_encoded += tokens
            bar.update(len(part), tokens)
            if sink is not None:
                sink.add(np.arange(part.start, part.stop), vectors)
            progress.batch_done()

        try:
            with progress.progress("encoding", len(texts), "texts") as bar, progress.timed("encode_seconds"):
                run_concurrently(lambda part: self._post(texts[part.start:part.stop], self.dimension), parts,
                                 self.options.concurrency, finished)
        finally:
            progress.METER.requests += self.client.requests - requests_before
            progress.METER.retries += self.client.retried - retries_before
        return out


def load_served_embedder(url: str, **kwargs) -> ServedEmbedder:
    return ServedEmbedder(url, **kwargs)
