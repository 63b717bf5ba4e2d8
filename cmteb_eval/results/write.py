"""Result files: one strict-JSON file per model and task, written atomically.

``OUTPUT_DIR/<model-name>/<Task>.json`` follows mteb's result format (so mteb's
loader reads it) plus a ``harness`` block saying how the number was made.
Per-item values for significance tests go to ``OUTPUT_DIR/<model-name>/items/<Task>.json``;
a result and its items file are one unit: the result's sealed ``harness.items`` holds the
items file's SHA-256, and a reader uses the items only when they match (``items_problem``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import tempfile
import unicodedata
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from . import integrity
from ..errors import UserError
from ..files import read_bytes
from ..evaluators.base import SplitResult
from .owner import model_identity
from ..tasks.card import TaskSpec

RESULT_FORMAT = 2  # 2: harness.items binds the per-item file to the result
PACKAGES = ("cmteb-eval", "torch", "transformers", "numpy", "scipy", "scikit-learn", "mteb")


MAX_NAME = 120  # bytes of UTF-8: a folder name must fit the file system's 255-byte limit with room to spare
_UNSAFE = re.compile(r"[^\w.-]+")  # \w: letters and digits of every script, and '_'


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def safe_name(name: str) -> str:
    """A folder or file name derived from a model id, path or task name that cannot escape
    the output folder: no separators, never '.', '..', hidden, empty or absolute, at most
    120 bytes. Letters of every script stay readable (a Chinese name stays Chinese); a hub
    id ``org/name`` becomes mteb's ``org__name``. When characters had to be replaced or
    dropped (``my model``) or the name was shortened, a hash of the whole name is appended,
    so two names that differ only there get two folders (``my_model`` and ``my_model-<hash>``)."""
    name = unicodedata.normalize("NFC", str(name)).strip().rstrip("/\\")
    if "/" in name or "\\" in name:
        parts = [p for p in re.split(r"[\\/]+", name) if p]
        # a path: its last one or two parts; a hub id org/name: mteb's org__name
        name = "__".join(parts[-2:]) if len(parts) == 2 else (parts[-1] if parts else "")
    cleaned = _UNSAFE.sub("_", name).strip("._")
    if cleaned and cleaned == name and len(cleaned.encode("utf-8", "surrogatepass")) <= MAX_NAME:
        return cleaned
    tag = "-" + _digest(name)
    stem = cleaned or "model"
    while len((stem + tag).encode("utf-8", "surrogatepass")) > MAX_NAME:
        stem = stem[:-1]
    return stem.rstrip("._-") + tag


def result_path(output_dir: Path, model_name: str, task_name: str, *parts: str) -> Path:
    """``OUTPUT_DIR/<safe model name>/[parts/]<safe task name>.json``, checked to stay inside OUTPUT_DIR."""
    for name in (task_name, *parts):
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            raise UserError(f"Refusing to write a result file named {name!r}: task names must be plain ASCII names.",
                            "Rename the task in its card (letters, digits, '-', '_', '.').")
    root = Path(os.path.abspath(output_dir))  # not resolve(): a symlink the user made is theirs to make
    path = root.joinpath(safe_name(model_name), *parts, task_name + ".json")
    if root not in Path(os.path.normpath(path)).parents:
        raise UserError(f"Refusing to write {path}: it is outside the output folder {root}.",
                        "Use a plain --model-name without path separators.")
    return path


def _finite(value: Any, where: str) -> Any:
    """Convert numpy scalars and refuse NaN or infinity anywhere in the payload."""
    if isinstance(value, dict):
        return {str(k): _finite(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v, where) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"non-finite number at {where}")
    return value


class ResultWriteError(UserError):
    """A result file cannot be written (full disk, read-only folder): the run stops, finished results are kept."""


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write strict JSON via a temp file, fsync and rename: the file is absent or complete."""
    text = json.dumps(_finite(payload, path.name), ensure_ascii=False, indent=2, allow_nan=False)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        tmp = None
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise ResultWriteError(f"Result file {path} cannot be written: {exc.strerror or exc}.",
                               "Free space on that disk or make the folder writable (or pass another "
                               "--output-dir), then rerun: results written before this one are kept.") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@lru_cache(maxsize=1)
def project_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def result_payload(spec: TaskSpec, splits: dict[str, SplitResult], model_info: dict[str, Any],
                   evaluation_time: float) -> dict[str, Any]:
    scores = {}
    for split, result in splits.items():
        entry = {"hf_subset": result.hf_subset, "languages": list(spec.languages),
                 "main_score": result.scores[spec.main_metric]}
        entry.update(result.scores)
        scores[split] = [entry]
    first = next(iter(splits.values()))
    return {
        "dataset_revision": spec.dataset.revision,
        "task_name": spec.name,
        "mteb_version": package_versions().get("mteb") or "0.0.0",
        "scores": scores,
        "evaluation_time": evaluation_time,
        "kg_co2_emissions": None,
        "harness": {
            "name": "cmteb-eval",
            "result_format": RESULT_FORMAT,
            "task_type": spec.type,
            "main_metric": spec.main_metric,
            "protocol": first.protocol,
            "data_sources": {split: result.source for split, result in splits.items()},
            "dataset": {"hub_id": spec.dataset.hub_id, "revision": spec.dataset.revision,
                        "subset": spec.dataset.subset},
            "model": model_info,
            "versions": package_versions(),
            "project_commit": project_commit(),
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    }


def write_result(output_dir: Path, model_name: str, spec: TaskSpec, splits: dict[str, SplitResult],
                 model_info: dict[str, Any], evaluation_time: float,
                 config: dict[str, Any] | None = None) -> Path:
    """Write the items file, then the result file (sealed with a checksum); ``config`` is
    the run configuration that resuming compares (see resume.py)."""
    items = {split: r.items for split, r in splits.items() if r.items}
    fingerprint = (config or {}).get("fingerprint")
    items_path = result_path(output_dir, model_name, spec.name, "items")
    reference = None
    if items:
        write_json_atomic(items_path, {"task_name": spec.name, "config_fingerprint": fingerprint, "splits": items})
        reference = {"file": items_reference(spec.name), "sha256": file_sha256(items_path)}
    path = result_path(output_dir, model_name, spec.name)
    payload = result_payload(spec, splits, model_info, evaluation_time)
    payload["harness"]["model_name"] = model_name  # the name tables and comparisons show
    payload["harness"]["items"] = reference  # the items file's hash, sealed with the result
    payload["harness"]["model_identity"] = model_identity(model_info)  # whose folder this is (model_folder.py)
    if config is not None:
        payload["harness"]["config"] = config
    write_json_atomic(path, integrity.seal(payload))
    if reference is None and items_path.is_file():  # the items of the result just replaced
        try:
            items_path.unlink()
        except OSError:
            pass  # harmless: the new result names no items file, so none is read
    return path


def items_reference(task_name: str) -> str:
    return f"items/{task_name}.json"


def file_sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def items_problem(path: Path, payload: dict[str, Any]) -> str | None:
    """Why the per-item file of the result at ``path`` cannot be used with it (None: it matches,
    or the result has none). ``payload`` is the result's content, its checksum verified."""
    import stat

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
        actual = file_sha256(items)
    except FileNotFoundError:
        return f"its per-item file {items} is missing"
    except OSError as exc:
        return f"its per-item file {items} cannot be read ({exc.strerror or exc})"
    if actual != reference["sha256"]:
        return (f"its per-item file {items} does not match it (changed, truncated or replaced after the result "
                f"was written)")
    return None


def read_result(path: Path) -> dict[str, Any]:
    """A result file's payload: a cmteb-eval result whose checksum matches, or a foreign (mteb)
    file, which callers must label as such (``integrity.provenance``); damaged files are refused."""
    try:
        data = json.loads(read_bytes(path).decode("utf-8"),
                          parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except (OSError, ValueError, RecursionError) as exc:
        raise UserError(f"Result file {path} cannot be read: {exc}.",
                        "Delete it and rerun the task, or pass another file.") from None
    if not isinstance(data, dict) or not {"task_name", "scores"} <= set(data):
        raise UserError(f"Result file {path} is not a cmteb-eval or mteb result file.",
                        "Pass a file written by 'cmteb-eval run' or by mteb.")
    _, problem = integrity.provenance(data)
    if problem:
        raise UserError(f"Result file {path} is damaged: {problem}.",
                        "Delete it and rerun the task (a rerun recomputes it).")
    return data
