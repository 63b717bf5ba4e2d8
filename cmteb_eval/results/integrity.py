"""A checksum sealed into every result file, so that a file changed on disk is never used.

The checksum is the SHA-256 of the payload's canonical JSON (sorted keys, no spaces)
without the checksum itself. Python floats round-trip through JSON exactly, so a
file read back verifies; a flipped digit, a truncated list or an edited score does not.

One rule (``provenance``) says whose a file is, for every reader (``run``'s resume and
the report commands alike): a file with a cmteb-eval harness block is ours only with a
matching checksum (without one it is damaged); a file without that block is foreign
(an mteb file, say): never counted as a cmteb-eval result.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

CHECKSUM_KEY = "checksum"


def _item(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":"), default=_item)


def payload_checksum(payload: dict[str, Any]) -> str:
    body = copy.deepcopy(payload)
    harness = body.get("harness")
    if isinstance(harness, dict):
        harness.pop(CHECKSUM_KEY, None)
    return "sha256:" + hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def seal(payload: dict[str, Any]) -> dict[str, Any]:
    """Return the payload with ``harness.checksum`` set (the payload must have a harness block)."""
    payload["harness"][CHECKSUM_KEY] = payload_checksum(payload)
    return payload


def verify(payload: dict[str, Any]) -> str | None:
    """None when the payload's checksum matches (or it has none: an mteb file); else the problem."""
    harness = payload.get("harness")
    if not isinstance(harness, dict) or CHECKSUM_KEY not in harness:
        return None
    stored = harness[CHECKSUM_KEY]
    try:
        actual = payload_checksum(payload)
    except (TypeError, ValueError, RecursionError) as exc:
        return f"its content cannot be checksummed ({exc})"
    if stored != actual:
        return "its checksum does not match its content (the file was changed or damaged after it was written)"
    return None


HARNESS_NAME = "cmteb-eval"
RESULT_FORMAT = 3  # the harness block's layout; 2: harness.items binds the per-item file to the result;
# 3: main_score holds mteb 2's metric (harness.main_score_metric), ours is harness.main_metric (issue 13)


def provenance(payload: dict[str, Any]) -> tuple[str, str | None]:
    """``("ours", None)`` for a cmteb-eval result whose checksum matches; ``("ours", problem)``
    for one that is damaged (checksum missing or wrong); ``("foreign", None)`` for a file
    without a cmteb-eval harness block; a checksum that does not match is a problem whoever
    claims the file."""
    harness = payload.get("harness")
    ours = isinstance(harness, dict) and harness.get("name") == HARNESS_NAME
    if isinstance(harness, dict) and CHECKSUM_KEY in harness:
        problem = verify(payload)
        if problem:
            return "ours", problem
        return ("ours", None) if ours else ("ours", "its checksum matches but its harness block does not name "
                                                     "cmteb-eval")
    if ours:
        return "ours", "it has a cmteb-eval harness block but no checksum, so its content cannot be trusted"
    return "foreign", None
