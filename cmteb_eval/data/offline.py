"""Whether the hub may be contacted: the one test, for datasets and models alike; and whether it can
be reached at all (one quick connection, remembered for the run), so that missing local data is
reported at once instead of after the hub client's retries."""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from urllib.parse import urlparse


def hub_offline(datasets: bool = True) -> bool:
    """Whether the hub is switched off (``--offline`` sets both): ``HF_HUB_OFFLINE``, and for datasets
    ``HF_DATASETS_OFFLINE`` too (it does not stop a model download, so models ask with ``datasets=False``)."""
    names = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE") if datasets else ("HF_HUB_OFFLINE",)
    return any(os.environ.get(name, "0") not in ("0", "", "false") for name in names)


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


@lru_cache(maxsize=4)
def _reachable(endpoint: str, timeout: float) -> str | None:
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return None
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__


PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def hub_unreachable(timeout: float = 3.0) -> str | None:
    """Why the hub (``$HF_ENDPOINT``, else huggingface.co) cannot be reached, or None when a
    connection to it opens; tried once per endpoint and run. Behind a proxy a direct connection
    says nothing, so it is not tried (None)."""
    if any(os.environ.get(name) for name in PROXY_VARIABLES):
        return None
    return _reachable(hub_endpoint(), timeout)
