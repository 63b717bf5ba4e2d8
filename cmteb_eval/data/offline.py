"""Whether the hub may be contacted: the one test, for datasets and models alike."""

from __future__ import annotations

import os


def hub_offline(datasets: bool = True) -> bool:
    """Whether the hub is switched off (``--offline`` sets both): ``HF_HUB_OFFLINE``, and for datasets
    ``HF_DATASETS_OFFLINE`` too (it does not stop a model download, so models ask with ``datasets=False``)."""
    names = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE") if datasets else ("HF_HUB_OFFLINE",)
    return any(os.environ.get(name, "0") not in ("0", "", "false") for name in names)
