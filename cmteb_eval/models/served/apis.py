"""Each served API's requests and answers; ``api_for(name)`` picks one (``--api``).

OpenAI-compatible (``OpenAIApi``; vLLM, infinity, LocalAI, OpenAI itself): ``POST {base}/embeddings``
(``{"model", "input", "dimensions"?, "encoding_format"}`` -> ``data[].{index, embedding}``),
``POST {base}/rerank`` in the shape Cohere, Jina, vLLM and infinity share (``{"model", "query",
"documents", "top_n"}`` -> ``results[].{index, relevance_score}``), and ``GET {base}/models`` for
the ids the server reports. ``base`` is what the user passes: ``http://host:8000/v1`` for vLLM,
``http://host:7997`` for infinity (no /v1 unless it runs with --url-prefix /v1).

``InfinityApi`` is the same API with infinity's ``raw_scores``: its reranker then returns the
cross-encoder's logits, as the local cross-encoder does, not their sigmoid.

TEI (``TeiApi``): Hugging Face text-embeddings-inference: ``POST {base}/embed`` (``{"inputs": [...]}`` -> one
vector per input), ``POST {base}/rerank`` (``{"query", "texts"}`` -> ``[{index, score}]``) and
``GET {base}/info`` (``model_id``, ``model_sha``) for the model it serves. ``base`` is the server's
root, e.g. ``http://host:8080``. Requests ask TEI to truncate long inputs (as the local path does)
and, for reranking, for raw scores (the logits the local cross-encoder returns).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ...errors import ServedModelError, UserError
from . import answers

HttpClient = Any  # client.HttpClient (not imported: the API shapes sit below the client's layer)

OPENAI_ROUTES = ("/embeddings", "/rerank", "/models")
TEI_ROUTES = ("/embed", "/rerank", "/info", "/v1")


def api_base(url: str, routes: tuple[str, ...]) -> str:
    """The API base of ``url`` (a URL ending in one of the API's routes is cut back to its base)."""
    url = url.rstrip("/")
    for route in routes:
        if url.endswith(route):
            return url[: -len(route)]
    return url


class OpenAIApi:
    name = "openai"
    embed_route = "/embeddings"
    rerank_route = "/rerank"
    score = "as the server returns it"

    @staticmethod
    def base(url: str) -> str:
        return api_base(url, OPENAI_ROUTES)

    def served_model(self, client: HttpClient, requested: str | None, capability: str) -> tuple[str | None, dict]:
        """The model id the server reports for this endpoint (``GET /models``) and what else it says of it.
        A ``requested`` id the server does not list is refused; without one, the server must list one
        model (or one with ``capability``, 'embed' or 'rerank', where it says)."""
        listing = client.get_json("/models", missing_ok=True)
        if listing is None:  # a server without /models: the requested id is all there is
            if not requested:
                raise ServedModelError(f"{client.url('/models')} does not exist, so the served model id is unknown.",
                                       "Pass --model-name with the model id the server serves.")
            return None, {"models_route": "absent"}
        entries = listing.get("data") if isinstance(listing, dict) else None
        if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("id"), str)
                                                    for e in entries):
            raise ServedModelError(f"{client.url('/models')} answered {answers._quote(listing)}, not a model list "
                                   f"(data[].id).", answers.HINT)
        ids = [e["id"] for e in entries]
        if requested:
            if requested not in ids:
                raise ServedModelError(f"The server at {client.base_url} does not serve {requested!r}; it lists "
                                       f"{', '.join(map(repr, ids)) or 'no model'}.",
                                       "Pass one of these with --model-name.")
            return requested, {}
        able = [e["id"] for e in entries if capability in (e.get("capabilities") or [capability])]
        if len(able) != 1:
            raise ServedModelError(f"The server at {client.base_url} lists {len(able)} model(s) that can {capability}"
                                   f" ({', '.join(map(repr, able)) or 'none'}), so which one to use is not clear.",
                                   "Pass the served model id with --model-name.")
        return able[0], {}

    def embed_body(self, model: str | None, texts: Sequence[str], dimensions: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model, "input": list(texts), "encoding_format": "float"}
        if dimensions is not None:
            body["dimensions"] = dimensions
        return body

    def embeddings(self, payload: Any, count: int, url: str, dimension: int | None) -> tuple[np.ndarray, int]:
        if not isinstance(payload, dict) or "data" not in payload:
            raise ServedModelError(f"{url} answered {answers._quote(payload)}, not an embeddings answer "
                                   f"(data[].embedding).", answers.HINT)
        rows = answers.indexed_rows(payload["data"], count, "index", "embedding", url, "embeddings")
        return answers.vectors(rows, count, url, dimension), answers.usage_tokens(payload)

    def rerank_body(self, model: str | None, query: str, documents: Sequence[str]) -> dict[str, Any]:
        return {"model": model, "query": query, "documents": list(documents), "top_n": len(documents),
                "return_documents": False}

    def rerank_scores(self, payload: Any, count: int, url: str) -> tuple[np.ndarray, int]:
        if not isinstance(payload, dict) or "results" not in payload:
            raise ServedModelError(f"{url} answered {answers._quote(payload)}, not a rerank answer "
                                   f"(results[].relevance_score).", answers.HINT)
        values = answers.indexed_rows(payload["results"], count, "index", "relevance_score", url, "results")
        return answers.scores(values, url), answers.usage_tokens(payload)


class InfinityApi(OpenAIApi):
    name = "infinity"
    score = "raw logit (infinity's raw_scores)"

    def rerank_body(self, model: str | None, query: str, documents: Sequence[str]) -> dict[str, Any]:
        return {**super().rerank_body(model, query, documents), "raw_scores": True}


class TeiApi:
    name = "tei"
    embed_route = "/embed"
    rerank_route = "/rerank"
    score = "raw logit (TEI's raw_scores)"

    @staticmethod
    def base(url: str) -> str:
        return api_base(url, TEI_ROUTES)

    def served_model(self, client: HttpClient, requested: str | None, capability: str) -> tuple[str | None, dict]:
        """TEI serves one model; ``/info`` says which (its id and, from the hub, its commit)."""
        info = client.get_json("/info")
        if not isinstance(info, dict) or not isinstance(info.get("model_id"), str):
            raise ServedModelError(f"{client.url('/info')} answered {answers._quote(info)}, not TEI's model info "
                                   f"(model_id).", answers.HINT)
        details = {k: info[k] for k in ("model_sha", "model_dtype", "max_input_length", "version") if k in info}
        return info["model_id"], details

    def embed_body(self, model: str | None, texts: Sequence[str], dimensions: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {"inputs": list(texts), "truncate": True}
        if dimensions is not None:
            body["dimensions"] = dimensions
        return body

    def embeddings(self, payload: Any, count: int, url: str, dimension: int | None) -> tuple[np.ndarray, int]:
        return answers.vectors(payload, count, url, dimension), 0

    def rerank_body(self, model: str | None, query: str, documents: Sequence[str]) -> dict[str, Any]:
        return {"query": query, "texts": list(documents), "raw_scores": True, "truncate": True}

    def rerank_scores(self, payload: Any, count: int, url: str) -> tuple[np.ndarray, int]:
        values = answers.indexed_rows(payload, count, "index", "score", url, "scores")
        return answers.scores(values, url), 0


APIS = {"openai": OpenAIApi, "infinity": InfinityApi, "tei": TeiApi}


def api_for(name: str):
    if name not in APIS:
        raise UserError(f"Unknown --api {name!r}.", f"Pass one of {', '.join(APIS)}.")
    return APIS[name]()
