"""The one reader of result files: parse strict JSON, verify the checksum, say whose the file is.

``read_result_file`` never raises on content: it returns the file's state, which every reader
acts on: ``run``'s resume decision (``run/resume.py``), the folder-ownership check
(``owner.py``) and the report commands (``read_result``). The states, by ``integrity.provenance``:

- ``missing``: no file;
- ``ours``: a cmteb-eval result whose checksum matches its content;
- ``foreign``: a result file without a cmteb-eval harness block (an mteb file, also in mteb 1.x's
  legacy format, converted, and with NaN metrics dropped: ``foreign.py``, ``notes``): read, never
  counted as ours;
- ``damaged``: not strict JSON, not a result file, or a cmteb-eval file whose checksum is
  missing or does not match (``problem`` says which).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..files import read_bytes
from . import foreign, integrity


@dataclass
class ResultFile:
    path: Path
    state: str  # "missing", "ours", "foreign" or "damaged"
    payload: dict[str, Any] | None = None
    problem: str = ""  # why it is damaged
    damage: str = ""  # "unreadable" (not strict JSON), "shape" (not a result file) or "integrity" (checksum)
    notes: list[str] = field(default_factory=list)  # what was dropped from a foreign file (NaN metrics)



def _reject_constant(name: str):
    raise ValueError(f"{name} is not strict JSON")


def read_result_file(path: str | Path) -> ResultFile:
    """The result file at ``path``, parsed, verified and classified (see the module docstring)."""
    path = Path(path)
    if not os.path.lexists(path):
        return ResultFile(path, "missing")
    try:
        raw = read_bytes(path).decode("utf-8")
        try:
            payload = json.loads(raw, parse_constant=_reject_constant)
        except ValueError as strict:
            try:  # NaN: allowed in a foreign file only (dropped below); ours never hold one
                payload = json.loads(raw)
            except ValueError:
                raise strict from None
            if not isinstance(payload, dict) or isinstance(payload.get("harness"), dict):
                raise strict from None
    except (OSError, ValueError, RecursionError) as exc:
        return ResultFile(path, "damaged", problem=f"it cannot be read as strict JSON ({type(exc).__name__}: "
                                                   f"{str(exc)[:120]})", damage="unreadable")
    if not isinstance(payload, dict):
        return ResultFile(path, "damaged", problem="it is not a JSON object", damage="shape")
    kind, problem = integrity.provenance(payload)
    if problem:
        return ResultFile(path, "damaged", payload, problem, damage="integrity")
    if kind == "foreign" and foreign.is_legacy(payload):
        payload = foreign.convert_legacy(payload)
    if not {"task_name", "scores"} <= set(payload) or (kind == "foreign" and not isinstance(payload["scores"], dict)):
        return ResultFile(path, "damaged", payload, "it is not a result file (no task_name and scores)", damage="shape")
    notes = foreign.drop_nan(payload) if kind == "foreign" else []
    return ResultFile(path, kind, payload, notes=notes)


def read_result(path: str | Path) -> dict[str, Any]:
    """A result file's payload for the report commands: ours (checksum verified) or foreign (an mteb
    file, which callers label as such, ``integrity.provenance``); a missing or damaged file is a UserError."""
    return read_result_noted(path)[0]


def read_result_noted(path: str | Path) -> tuple[dict[str, Any], list[str]]:
    """``read_result``'s payload and the notes on what was dropped from a foreign file (NaN metrics)."""
    found = read_result_file(path)
    if found.state == "missing" or found.damage == "unreadable":
        raise UserError(f"Result file {path} cannot be read: {found.problem or 'it does not exist'}.",
                        "Delete it and rerun the task, or pass another file.")
    if found.damage == "shape":
        raise UserError(f"Result file {path} is not a cmteb-eval or mteb result file.",
                        "Pass a file written by 'cmteb-eval run' or by mteb.")
    if found.damage == "integrity":
        raise UserError(f"Result file {path} is damaged: {found.problem}.",
                        "Delete it and rerun the task (a rerun recomputes it).")
    return found.payload, found.notes
