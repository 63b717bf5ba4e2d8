"""Resuming a run: which tasks already have a complete result made with this configuration.

Before a task is evaluated, the run builds its *configuration* (everything that can change
the numbers: the model and its weights, how it is run, the task card, the evaluation
protocol, the data actually read, the harness version) and hashes it. The result file
records both. A task is skipped only when its result file

- parses as strict JSON and its checksum matches its content (integrity.py),
- was written by cmteb-eval for this task, with a finite main score for every eval split,
- holds the same configuration fingerprint,
- and its per-item file is there with the SHA-256 the result's sealed content records.

A file with another configuration is recomputed and overwritten; a damaged, unreadable
or foreign file, or one whose per-item file is missing or changed, is set aside with its
per-item file (renamed ``<Task>.json.bad-<time>``) and recomputed. Device
and batch size are not part of the configuration: they do not change what is measured.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from .. import __version__
from ..results import integrity
from ..errors import UserError
from ..files import read_bytes
from ..tasks.card import TaskSpec

# model_info keys that do not change the numbers (kept in the result, not compared)
NOT_CONFIG = frozenset({"device", "batch_size", "max_batch_tokens", "settings_source", "retried_in_fp32",
                        "requested_dtype"})
# TaskSpec fields that do not change the numbers (local_dir is replaced by the data fingerprint)
SPEC_NOT_CONFIG = frozenset({"description", "card_path", "reference", "table_split"})
TEMP_MAX_AGE_S = 3600


# ------------------------------------------------------------------ configuration


def protocol_id(spec: TaskSpec) -> str:
    """The evaluator's protocol: its module's PROTOCOL constant, else the evaluator's name."""
    from ..evaluators import evaluator_for

    evaluate = evaluator_for(spec)
    module = sys.modules.get(evaluate.__module__)
    return str(getattr(module, "PROTOCOL", None) or f"{evaluate.__module__}.{evaluate.__qualname__}")


def file_sha256(path: Path) -> str:
    from ..files import file_sha256 as sha256

    return sha256(path)


def data_fingerprint(spec: TaskSpec, data_dirs: Sequence[str | Path]) -> dict[str, Any]:
    """What data the task reads: per split, the SHA-256 of exactly the files its loader reads
    (found by the loaders' own search, ``data_files``), or the hub source at its pinned revision."""
    from ..data.locate import fingerprint

    return fingerprint(spec, data_dirs)


def run_config(spec: TaskSpec, model_info: dict[str, Any], data_dirs: Sequence[str | Path]) -> dict[str, Any]:
    """The configuration of one task in this run, with its ``fingerprint``."""
    task = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.name not in SPEC_NOT_CONFIG}
    task["dataset"] = {k: v for k, v in dataclasses.asdict(spec.dataset).items() if k != "local_dir"}
    config = {
        "harness": {"name": "cmteb-eval", "version": __version__, "result_format": _result_format()},
        "task": json.loads(integrity.canonical_json(task)),
        "protocol": protocol_id(spec),
        "data": data_fingerprint(spec, data_dirs),
        "model": _numbers_only(model_info),
    }
    config = json.loads(integrity.canonical_json(config))
    config["fingerprint"] = hashlib.sha256(integrity.canonical_json(config).encode()).hexdigest()[:16]
    return config


def _numbers_only(info: dict[str, Any]) -> dict[str, Any]:
    """``info`` without the keys that do not change the numbers (also in a nested reranker's block)."""
    return {k: _numbers_only(v) if isinstance(v, dict) else v for k, v in info.items() if k not in NOT_CONFIG}


def _result_format() -> int:
    from ..results.write import RESULT_FORMAT

    return RESULT_FORMAT


def config_difference(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Human-readable differences between two configurations ('model.dtype: float16 -> float32')."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            if key == "fingerprint":
                continue
            out.extend(config_difference(old.get(key), new.get(key), f"{prefix}{key}."))
        return out
    if old != new:
        show = lambda v: (json.dumps(v, ensure_ascii=False)[:60] if v is not None else "(none)")  # noqa: E731
        return [f"{prefix.rstrip('.')}: {show(old)} -> {show(new)}"]
    return []


# ------------------------------------------------------------------ existing results


@dataclass
class Existing:
    """What is on disk for one task: state is missing, complete, stale (other configuration),
    damaged (unreadable, corrupt or foreign)."""

    state: str
    reason: str = ""
    payload: dict[str, Any] | None = None

    def main_scores(self) -> dict[str, float]:
        scores = (self.payload or {}).get("scores", {})
        return {split: entries[0]["main_score"] for split, entries in scores.items()}


def _reject_constant(name: str):
    raise ValueError(f"{name} is not strict JSON")


def inspect_result(path: Path, spec: TaskSpec, config: dict[str, Any]) -> Existing:
    """Classify the result file at ``path`` for this task and configuration. Never raises on content."""
    if not os.path.lexists(path):
        return Existing("missing")
    try:
        payload = json.loads(read_bytes(path).decode("utf-8"), parse_constant=_reject_constant)
    except (OSError, ValueError, RecursionError) as exc:
        return Existing("damaged", f"it cannot be read as strict JSON ({type(exc).__name__}: {str(exc)[:120]})")
    if not isinstance(payload, dict):
        return Existing("damaged", "it is not a JSON object")
    kind, problem = integrity.provenance(payload)
    if kind == "foreign":
        return Existing("damaged", "it was not written by cmteb-eval (no cmteb-eval harness block)")
    if problem:
        return Existing("damaged", problem)
    harness = payload["harness"]
    if payload.get("task_name") != spec.name:
        return Existing("damaged", f"it is the result of task {payload.get('task_name')!r}, not {spec.name!r}")
    stored = harness.get("config")
    if not isinstance(stored, dict) or stored.get("fingerprint") != config["fingerprint"]:
        changes = config_difference(stored if isinstance(stored, dict) else {}, config)
        return Existing("stale", "the configuration changed: " + ("; ".join(changes[:4]) or "unknown differences")
                        + (f" (and {len(changes) - 4} more)" if len(changes) > 4 else ""), payload)
    scores = payload.get("scores")
    for split in spec.eval_splits:
        entries = scores.get(split) if isinstance(scores, dict) else None
        main = entries[0].get("main_score") if isinstance(entries, list) and entries and \
            isinstance(entries[0], dict) else None
        if isinstance(main, bool) or not isinstance(main, (int, float)) or not math.isfinite(main):
            return Existing("damaged", f"it has no finite main score for split {split!r}")
    from ..results.write import items_problem

    problem = items_problem(path, payload)  # a result and its per-item file are one unit
    if problem:
        return Existing("damaged", problem)
    return Existing("complete", payload=payload)


def set_aside(path: Path) -> Path:
    """Rename a damaged result file out of the way (kept for inspection, never read as a result)."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.bad-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.bad-{stamp}-{n}")
        n += 1
    os.replace(path, target)
    return target


def remove_stale_temp_files(folder: Path, max_age_s: float = TEMP_MAX_AGE_S) -> int:
    """Delete temp files left by a killed run (``.<name>.json.*.tmp`` older than ``max_age_s``)."""
    removed = 0
    if not folder.is_dir():
        return 0
    now = time.time()
    for tmp in list(folder.glob(".*.json.*.tmp")) + list(folder.glob("items/.*.json.*.tmp")):
        try:
            if now - tmp.stat().st_mtime > max_age_s:
                tmp.unlink()
                removed += 1
        except OSError:
            pass
    return removed


def check_output_dir(folder: Path) -> None:
    """Fail before the model loads, not after the first task, when results cannot be written."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UserError(f"Result files cannot be written to {folder}: {exc.strerror or exc}.",
                        "Pass a writable --output-dir.") from None


def previous_result(path: Path, spec: TaskSpec, config: dict[str, Any], overwrite: bool,
                    log: Callable[[str], None]) -> Existing | None:
    """The complete result to keep for this task, or None when it must be (re)computed.

    Logs why a file on disk is not used; damaged files are set aside first.
    """
    if overwrite:
        return None
    found = inspect_result(path, spec, config)
    if found.state == "complete":
        return found
    if found.state == "stale":
        log(f"    recomputing: {path.name} was made with another configuration ({found.reason})")
    elif found.state == "damaged":
        items = path.parent / "items" / path.name  # the per-item file goes with its result
        try:
            moved = set_aside(path)
            moved_items = set_aside(items) if items.is_file() else None
        except OSError as exc:
            raise UserError(f"Result file {path} is damaged ({found.reason}) and cannot be moved aside: {exc}.",
                            "Delete it (and items/" + path.name + ") by hand and rerun.") from None
        log(f"    recomputing: {path.name} is not a usable result ({found.reason}); moved it to {moved.name}"
            + (f" and its per-item file to items/{moved_items.name}" if moved_items else ""))
    return None
