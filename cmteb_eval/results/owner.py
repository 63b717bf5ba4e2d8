"""A result folder belongs to one model: a second, different model never overwrites its results.

Folder names are derived from ``--model-name`` (else from ``--model``), and two models can
map to one name: the checkpoints ``/runs/exp1/final`` and ``/runs/exp2/final`` both give
``final``, ``org/name`` and ``org__name`` both give mteb's ``org__name``. So every result
file records the *identity* of the model that made it (``harness.model_identity``): the
embedder's and the reranker's local folder or hub id, with the local weights fingerprint.
Before a run writes, the folder's results are read; one made by another model stops the run
with an error naming both models and ``--model-name``.

Two identities are the same model when each part (embedder, reranker) has the same path or
hub id, or the same weights fingerprint: a checkpoint retrained in place (same path, new
weights) is the same model with a new configuration (resume recomputes it), a model folder
that moved (same weights) is the same model; only a different path *and* different weights
is another model.

A model held in memory (the Python API: ``in_memory`` in its description) has no path: its name is
only a name, so it is the same model only as the same identity (``weights_fingerprint``: the weights
and the settings of every module, ``models/adapters/memory_identity.py``). An explicit name already
owned by another model in memory is refused like a folder name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import UserError
from .read import read_result_file


def _part(info: dict[str, Any] | None) -> dict[str, Any] | None:
    if not isinstance(info, dict):
        return None
    part = {"model": info.get("model"), "weights": info.get("weights_fingerprint"), "kind": info.get("kind")}
    if info.get("in_memory"):
        part["in_memory"] = str(info["in_memory"])
    return part


def model_identity(model_info: dict[str, Any]) -> dict[str, Any]:
    """The identity of the model behind ``model_info`` (a model's ``describe()``)."""
    return {"model": _part(model_info), "reranker": _part(model_info.get("reranker"))}


def stored_identity(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The identity a result file records (derived from its model block for files written before
    ``model_identity`` was recorded)."""
    harness = payload.get("harness") if isinstance(payload.get("harness"), dict) else {}
    identity = harness.get("model_identity")
    if isinstance(identity, dict):
        return identity
    info = harness.get("model")
    return model_identity(info) if isinstance(info, dict) else None


def _same_part(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if not isinstance(a, dict) or not isinstance(b, dict) or a.get("kind") != b.get("kind"):
        return False
    same_weights = a.get("weights") is not None and a.get("weights") == b.get("weights")
    if a.get("in_memory") or b.get("in_memory"):  # a name, not a path: only the identity tells
        no_identity = a.get("weights") is None and b.get("weights") is None  # never reused: the name rules
        return same_weights or (no_identity and a.get("model") == b.get("model"))
    return a.get("model") == b.get("model") or same_weights


def same_model(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return _same_part(a.get("model"), b.get("model")) and _same_part(a.get("reranker"), b.get("reranker"))


def describe(identity: dict[str, Any]) -> str:
    def one(part):
        where = f"the {part['in_memory'].rsplit('.', 1)[-1]} in memory named " if part.get("in_memory") else ""
        return where + f"{part.get('model')}" + (f" (identity {part['weights']})" if part.get("weights") else "")

    text = one(identity["model"]) if isinstance(identity.get("model"), dict) else "an unknown model"
    if isinstance(identity.get("reranker"), dict):
        text += f" reranked by {one(identity['reranker'])}"
    return text


def check_owner(folder: Path, identity: dict[str, Any], model_name: str) -> None:
    """Raise a UserError when ``folder`` holds a valid cmteb-eval result of another model.

    Damaged and foreign files are left to resume (they are set aside, never trusted)."""
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".json") and not n.startswith("."))
    except OSError:
        return  # no folder yet (or not one): nothing to overwrite
    for name in names:
        found = read_result_file(folder / name)
        if found.state != "ours":
            continue
        payload = found.payload
        other = stored_identity(payload)
        if other is None or same_model(other, identity):
            continue
        other_name = (payload.get("harness") or {}).get("model_name")
        raise UserError(
            f"The results folder {folder} belongs to another model: {name} holds the result of "
            f"{describe(other)}" + (f" (model name {other_name!r})" if other_name else "") + f", and this run "
            f"evaluates {describe(identity)} (model name {model_name!r}). Both map to the same folder name, and "
            f"this run would overwrite the other model's results.",
            "Pass --model-name (model_name= in the Python API) with a name of its own for this model (it names "
            "the results folder), or "
            "another --output-dir; move the folder away if its results are no longer wanted.")
