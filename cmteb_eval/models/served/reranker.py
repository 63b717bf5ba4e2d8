"""A served reranker as a ``PairScorer``: the (query, passage) pairs are grouped by query and sent
to the server's rerank route (``{query, documents}``; at most ``batch_size`` documents and
``batch_chars`` characters a request, ``concurrency`` at once); each answer must score every
document once (``answers.py``). Scores are what the server returns: with ``--api infinity`` or
``tei`` the raw logits (as the local cross-encoder), with ``openai`` the server's own score."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ...tasks.card import TaskSpec
from .. import progress
from ..vectors import distinct
from .apis import api_for
from .client import ClientOptions, HttpClient, batches, run_concurrently


class ServedReranker:
    """Scores (query, passage) pairs through a reranking server."""

    def __init__(self, url: str, *, api: str = "openai", model_name: str | None = None, revision: str | None = None,
                 api_key_env: str | None = None, options: ClientOptions = ClientOptions(), warn=None) -> None:
        self.api = api_for(api)
        self.client = HttpClient(self.api.base(url), options, api_key_env, warn)
        self.endpoint = self.client.url(self.api.rerank_route)
        self.model_id = self.endpoint
        self.revision = revision
        self.options = options
        self.served_model_id, self.server_details = self.api.served_model(self.client, model_name, "rerank")
        self.request_model = model_name or self.served_model_id
        self.usage_tokens = 0

    def score_pairs(self, pairs: Sequence[tuple[str, str]], *, task: TaskSpec | None = None) -> np.ndarray:
        """One float32 score per pair, in input order (each distinct pair sent once)."""
        unique, positions = distinct((str(q), str(p)) for q, p in pairs)
        scores = self._score_unique(unique)
        return scores[np.asarray(positions, dtype=np.int64)] if positions else scores

    def describe(self, task: TaskSpec | None = None) -> dict[str, Any]:
        return {
            "model": self.endpoint,
            "revision": self.revision,
            "weights_fingerprint": None,
            "kind": "cross-encoder",
            "served": {"api": self.api.name, "endpoint": self.endpoint, "served_model_id": self.served_model_id,
                       "request_model": self.request_model, "model_revision": self.revision, **self.server_details},
            "score": self.api.score,
            **self.options.recorded(),
        }

    def _score_unique(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        out = np.empty(len(pairs), dtype=np.float32)
        by_query: dict[str, list[int]] = {}
        for i, (query, _) in enumerate(pairs):
            by_query.setdefault(query, []).append(i)
        requests = []  # (query, positions of its documents in this request)
        for query, members in by_query.items():
            for part in batches([pairs[i][1] for i in members], self.options.batch_size,
                                max(1, self.options.batch_chars - len(query))):
                requests.append((query, [members[j] for j in part]))
        before, retried = self.client.requests, self.client.retried

        def send(request: tuple[str, list[int]]) -> tuple[np.ndarray, int]:
            query, members = request
            body = self.api.rerank_body(self.request_model, query, [pairs[i][1] for i in members])
            return self.api.rerank_scores(self.client.post_json(self.api.rerank_route, body), len(members),
                                          self.endpoint)

        def finished(request: tuple[str, list[int]], answer: tuple[np.ndarray, int]) -> None:
            scores, tokens = answer
            out[request[1]] = scores
            self.usage_tokens += tokens
            bar.update(len(request[1]), tokens)

        try:
            with progress.progress("scoring pairs", len(pairs), "pairs") as bar, progress.timed("scoring_seconds"):
                run_concurrently(send, requests, self.options.concurrency, finished)
        finally:
            progress.METER.requests += self.client.requests - before
            progress.METER.retries += self.client.retried - retried
        progress.METER.pairs_scored += len(pairs)
        return out


def load_served_reranker(url: str, **kwargs) -> ServedReranker:
    return ServedReranker(url, **kwargs)
