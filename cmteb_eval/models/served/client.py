"""The HTTP client every served model uses: JSON over urllib, timeouts, retries with exponential
backoff (``Retry-After`` honoured) on 429, 5xx and connection errors, batches by count and by
characters, and N requests in flight at once.

It never hangs: every request has a timeout and every retry loop a bound. It never writes the
API key anywhere: the key is read from the environment variable the user names, sent in the
``Authorization`` header, and left out of every message. An answer that is not JSON (an HTML
error page, a proxy's banner) is a ``ServedModelError`` quoting what came back.
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ...errors import ServedModelError, UserError
from .answers import shown

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 120.0  # a Retry-After longer than this is waited this long (then the next attempt)

__all__ = ["ServedModelError", "ClientOptions", "HttpClient", "batches", "run_concurrently"]

@dataclass(frozen=True)
class ClientOptions:
    """How requests are sent. ``batch_size`` texts (or pairs) and at most ``batch_chars`` characters
    go in one request; ``concurrency`` requests are in flight at once; each waits ``timeout``
    seconds; a failed one is tried again ``retries`` times, ``backoff`` * 2**attempt seconds apart
    (or what the server's Retry-After says)."""

    batch_size: int = 32
    batch_chars: int = 60_000
    concurrency: int = 1
    timeout: float = 120.0
    retries: int = 4
    backoff: float = 0.5

    def recorded(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "batch_chars": self.batch_chars, "concurrency": self.concurrency,
                "request_timeout": self.timeout, "max_retries": self.retries}


def is_url(model: str | None) -> bool:
    return isinstance(model, str) and model.lower().startswith(("http://", "https://"))


def check_url(url: str) -> str:
    """``url`` without a trailing slash, refused when it has no host or another scheme."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"{url!r} is not an http:// or https:// URL with a host.",
                        "Pass the server's base URL, e.g. http://127.0.0.1:7997 or http://127.0.0.1:8000/v1.")
    if parts.query or parts.fragment:
        raise UserError(f"The endpoint URL {url!r} has a query or fragment.", "Pass the base URL only.")
    return url.rstrip("/")


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def leaves_machine_warning(url: str) -> str | None:
    """The warning for a plain-http URL to another host: the texts travel unencrypted, off this machine."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "http" and parts.hostname and not is_loopback(parts.hostname):
        return (f"Warning: {url} is plain http:// to another host ({parts.hostname}): the task's texts leave "
                f"this machine unencrypted. Use https:// or a server on 127.0.0.1 for private data.")
    return None


def read_api_key(variable: str | None) -> str | None:
    """The key in environment variable ``variable`` (the variable is named on the command line; the
    key itself never is)."""
    if not variable:
        return None
    key = os.environ.get(variable)
    if not key:
        raise UserError(f"--api-key-env names {variable}, but that environment variable is not set or empty.",
                        f"Export it first (export {variable}=...), or leave --api-key-env out for a server "
                        f"without authentication.")
    return key


class HttpClient:
    """JSON requests to one server, with retries; counts requests and retries (thread-safe)."""

    def __init__(self, base_url: str, options: ClientOptions = ClientOptions(), api_key_env: str | None = None,
                 warn: Callable[[str], Any] | None = None) -> None:
        self.base_url = check_url(base_url)
        self.options = options
        warning = leaves_machine_warning(self.base_url)
        if warning:
            (warn or (lambda line: print(line, file=sys.stderr)))(warning)
        self._key = read_api_key(api_key_env)
        self.api_key_env = api_key_env
        self.requests = 0
        self.retried = 0
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        return self.base_url + path

    def get_json(self, path: str, *, missing_ok: bool = False) -> Any:
        """The JSON at ``path``; None for a 404 when ``missing_ok`` (a route this server does not have)."""
        return self._request("GET", self.url(path), None, missing_ok=missing_ok)

    def post_json(self, path: str, payload: dict[str, Any]) -> Any:
        return self._request("POST", self.url(path), json.dumps(payload, ensure_ascii=False).encode("utf-8"))

    def _headers(self, body: bytes | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "cmteb-eval"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    def _request(self, method: str, url: str, body: bytes | None, missing_ok: bool = False) -> Any:
        attempts = self.options.retries + 1
        last = ""
        for attempt in range(attempts):
            with self._lock:
                self.requests += 1
                if attempt:
                    self.retried += 1
            wait_s = self.options.backoff * (2 ** attempt)
            try:
                request = urllib.request.Request(url, data=body, method=method, headers=self._headers(body))
                with urllib.request.urlopen(request, timeout=self.options.timeout) as response:
                    raw = response.read()
                    return parse_json(raw, response.headers.get("Content-Type", ""), method, url)
            except urllib.error.HTTPError as exc:
                text = _body_of(exc)
                if exc.code == 404 and missing_ok:
                    return None
                if exc.code not in RETRY_STATUSES:
                    raise ServedModelError(
                        f"{method} {url} answered HTTP {exc.code} {exc.reason}: {text}",
                        _hint_for(exc.code)) from None
                last = f"HTTP {exc.code} {exc.reason}: {text}"
                wait_s = retry_after(exc.headers.get("Retry-After"), wait_s)
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                last = f"{type(reason).__name__}: {reason}"
            if attempt + 1 < attempts:
                time.sleep(wait_s)
        raise ServedModelError(
            f"{method} {url} failed after {attempts} attempt(s); the last: {last}",
            "Check that the server is running and reachable (its log says why it failed); a rerun resumes "
            "where this one stopped, keeping every batch already received. --max-retries and "
            "--request-timeout set how long to keep trying.")


def parse_json(raw: bytes, content_type: str, method: str, url: str) -> Any:
    """The answer as JSON, or a ServedModelError quoting what came back instead (HTML, text)."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        kind = "an HTML page" if b"<html" in raw[:512].lower() or "html" in content_type else \
            f"{content_type or 'a body of unknown type'}"
        raise ServedModelError(
            f"{method} {url} answered with {kind}, not JSON: {shown(raw)}",
            "Check the URL and --api: the URL must be the server's API base (e.g. http://host:7997 for "
            "infinity, http://host:8000/v1 for an OpenAI-compatible server, http://host:8080 for TEI).") from None


def _body_of(exc: urllib.error.HTTPError) -> str:
    try:
        return shown(exc.read())
    except Exception:  # noqa: BLE001  (the status alone is the message then)
        return "(no body)"


def _hint_for(code: int) -> str:
    if code in (401, 403):
        return "The server wants an API key: pass --api-key-env NAME with the key in environment variable NAME."
    if code == 404:
        return "The route does not exist on this server: check the URL's path and --api (openai, infinity or tei)."
    if code in (400, 413, 422):
        return ("The server refused the request: check --model-name (the served model id) and, for long texts, "
                "lower --batch-size or --batch-chars.")
    return "Check the server's log."


def retry_after(header: str | None, default: float) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), capped; ``default`` without one."""
    if not header:
        return default
    try:
        seconds = float(header)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(header).timestamp() - time.time()
        except (TypeError, ValueError, IndexError):
            return default
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def batches(texts: Sequence[str], max_count: int, max_chars: int) -> list[range]:
    """Consecutive ranges of ``texts``: at most ``max_count`` texts and ``max_chars`` characters each
    (a single longer text goes alone)."""
    out: list[range] = []
    start, chars = 0, 0
    for i, text in enumerate(texts):
        size = len(text)
        if i > start and (i - start >= max_count or chars + size > max_chars):
            out.append(range(start, i))
            start, chars = i, 0
        chars += size
    if start < len(texts):
        out.append(range(start, len(texts)))
    return out


def run_concurrently(work: Callable[[Any], Any], items: Sequence[Any], concurrency: int,
                     done: Callable[[Any, Any], None]) -> None:
    """``work(item)`` for every item, ``concurrency`` at a time, ``done(item, result)`` in this thread
    as each finishes. The first failure stops the submitting and is raised once the requests in
    flight have ended (their finished results are still handed to ``done``)."""
    pending: dict = {}
    queue = iter(items)
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="served") as pool:
        def refill() -> None:
            while failure is None and len(pending) < max(1, concurrency):
                item = next(queue, _END)
                if item is _END:
                    return
                pending[pool.submit(work, item)] = item

        refill()
        while pending:
            finished, _ = wait(list(pending), return_when=FIRST_EXCEPTION)
            for future in finished:
                item = pending.pop(future)
                error = future.exception()
                if error is not None:
                    failure = failure or error
                else:  # kept even after a failure: every answer received is stored
                    done(item, future.result())
            refill()
    if failure is not None:
        raise failure


_END = object()
