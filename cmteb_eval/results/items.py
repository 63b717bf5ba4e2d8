"""Per-item files: ``<model-name>/items/<Task>.json`` beside each result, ``{"task_name", "config_fingerprint",
"splits": {SPLIT: ITEMS}}`` with ITEMS in the format the task's type declares (``tasks/items.py``).

A result and its per-item file are one unit: the result's sealed ``harness.items`` holds the
file's SHA-256, and a reader uses the items only when they match (``items_problem``, ``read_items``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..files import file_sha256, read_bytes


def items_reference(task_name: str) -> str:
    """The per-item file of a task's result, relative to the result's folder."""
    return f"items/{task_name}.json"


def items_problem(path: Path, payload: dict[str, Any]) -> str | None:
    """Why the per-item file of the result at ``path`` cannot be used with it (None: it matches,
    or the result has none). ``payload`` is the result's content, its checksum verified."""
    harness = payload.get("harness") if isinstance(payload.get("harness"), dict) else {}
    reference = harness.get("items")
    if reference is None:
        return None
    task = payload.get("task_name")
    if not isinstance(task, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", task) \
            or not isinstance(reference, dict) or reference.get("file") != items_reference(task) \
            or not isinstance(reference.get("sha256"), str):
        return "its reference to its per-item file is malformed"
    items = path.parent / reference["file"]
    try:
        if not stat.S_ISREG(os.stat(items).st_mode):
            return f"its per-item file {items} is not a regular file"
        actual = file_sha256(items, remember=False)
    except FileNotFoundError:
        return f"its per-item file {items} is missing"
    except OSError as exc:
        return f"its per-item file {items} cannot be read ({exc.strerror or exc})"
    if actual != reference["sha256"]:
        return (f"its per-item file {items} does not match it (changed, truncated or replaced after the result "
                f"was written)")
    return None


def read_items(path: Path, sha256: str | None, result: str) -> dict[str, Any]:
    """The ``splits`` of a per-item file whose bytes still have the SHA-256 its result recorded;
    a file changed since, unreadable or malformed is a UserError (``result``: the result file's name)."""
    try:
        raw = read_bytes(path)  # a regular file only: a FIFO never blocks
        if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
            raise UserError(f"Result file {result}: its per-item file does not match it.",
                            "Rerun the task: 'cmteb-eval run' sets the pair aside and recomputes both.")
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"Per-item file {path} cannot be read: {exc}.",
                        "Delete it and rerun the task to write it again.") from None
    splits = data.get("splits") if isinstance(data, dict) else None
    if not isinstance(splits, dict):
        raise UserError(f"Per-item file {path} has no 'splits' object.",
                        "Delete it and rerun the task to write it again.")
    return splits
