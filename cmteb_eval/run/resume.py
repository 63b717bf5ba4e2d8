"""Resuming a run: which tasks already have a complete result made with this configuration.

Before a task is evaluated, the run builds its *configuration* (``config.py``: everything that
can change the numbers: the model and its weights, how it is run, the task card, the evaluation
protocol, the data actually read, the harness version) and hashes it. The result file
records both. A task is skipped only when its result file (read by the one reader,
``results/read.py``)

- parses as strict JSON and its checksum matches its content (results/integrity.py),
- was written by cmteb-eval for this task, with a finite main score for every eval split,
- holds the same configuration fingerprint,
- and its per-item file is there with the SHA-256 the result's sealed content records.

A file with another configuration is recomputed and overwritten; a damaged or unreadable
file, or one whose per-item file is missing or changed, is set aside with its
per-item file (renamed ``<Task>.json.bad-<time>``) and recomputed. A foreign result (an mteb
file where ours must go) is never moved: the run stops with an error naming it. Device
and batch size are not part of the configuration: they do not change what is measured.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import UserError
from ..evaluators.base import SplitResult
from ..results.items import items_problem
from ..results.naming import file_task_name
from ..results.mteb_tasks import main_value
from ..results.read import read_result_file
from ..tasks.card import TaskSpec

TEMP_MAX_AGE_S = 3600


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
    damaged (unreadable or corrupt) or foreign (another program's result file)."""

    state: str
    reason: str = ""
    payload: dict[str, Any] | None = None

    def main_scores(self) -> dict[str, float]:
        scores = (self.payload or {}).get("scores", {})
        harness = (self.payload or {}).get("harness")
        return {split: main_value(entries[0], harness) for split, entries in scores.items()}

    def splits(self, source: Path, protocol: str) -> dict[str, SplitResult]:
        """A complete result's scores per split, as a run returns them (the per-item values stay in their file)."""
        return {split: SplitResult(scores={k: v for k, v in entries[0].items()
                                           if isinstance(v, float) and k != "main_score"},
                                   source=str(source), protocol=protocol)
                for split, entries in (self.payload or {}).get("scores", {}).items()}


def inspect_result(path: Path, spec: TaskSpec, config: dict[str, Any]) -> Existing:
    """Classify the result file at ``path`` for this task and configuration. Never raises on content."""
    found = read_result_file(path)
    if found.state == "missing":
        return Existing("missing")
    if found.state == "foreign":
        return Existing("foreign", "it was not written by cmteb-eval (no cmteb-eval harness block)")
    if found.state == "damaged":
        return Existing("damaged", found.problem)
    payload = found.payload
    harness = payload["harness"]
    task = harness.get("task", spec.name) if payload.get("task_name") in (spec.name, file_task_name(spec)) \
        else payload.get("task_name")
    if task != spec.name:
        return Existing("damaged", f"it is the result of task {task!r}, not {spec.name!r}")
    stored = harness.get("config")
    if not isinstance(stored, dict) or stored.get("fingerprint") != config["fingerprint"]:
        changes = config_difference(stored if isinstance(stored, dict) else {}, config)
        return Existing("stale", "the configuration changed: " + ("; ".join(changes[:4]) or "unknown differences")
                        + (f" (and {len(changes) - 4} more)" if len(changes) > 4 else ""), payload)
    scores = payload.get("scores")
    for split in spec.eval_splits:
        entries = scores.get(split) if isinstance(scores, dict) else None
        main = main_value(entries[0], harness) if isinstance(entries, list) and entries and \
            isinstance(entries[0], dict) else None
        if isinstance(main, bool) or not isinstance(main, (int, float)) or not math.isfinite(main):
            return Existing("damaged", f"it has no finite main score for split {split!r}")
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
    if found.state == "foreign":
        raise UserError(f"{path} is a result file cmteb-eval did not write (no cmteb-eval harness block: an mteb "
                        f"file, say), where this run must write its result of {spec.name}; it is left as it is.",
                        "Pass another --output-dir (or --model-name), or move that file away yourself.")
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
