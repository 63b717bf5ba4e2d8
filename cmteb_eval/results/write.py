"""The one writer of result files: one strict-JSON file per model and task, written atomically.

``OUTPUT_DIR/<model-name>/<revision>/<Task>.json`` (``naming.py``) is an mteb 2 TaskResult (so
``mteb.cache.ResultCache`` loads the folder, with the ``model_meta.json`` of ``mteb_meta.py``) plus
a ``harness`` block saying how the numbers were made. ``main_score`` holds the value of the metric
mteb 2 reads it as (Ocnli: ``max_accuracy``) when we computed that metric, else our main metric's;
``harness.main_metric`` names ours, ``harness.main_score_metric`` the one in ``main_score``.
``mteb_version`` is null: mteb did not make these numbers (``harness.protocol`` says what did).
Per-item values for significance tests go to ``<revision>/items/<Task>.json`` (``items.py``); a
result and its items file are one unit: the result's sealed ``harness.items`` holds the items
file's SHA-256. Files are created with the user's umask. Reading is ``read.py``'s.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..evaluators.base import SplitResult
from ..files import file_sha256
from ..tasks.aliases import mteb_main_metric
from ..tasks.card import TaskSpec
from . import integrity
from .integrity import RESULT_FORMAT
from .items import items_reference
from .mteb_meta import write_model_meta
from .naming import file_task_name, model_folder
from .owner import model_identity

PACKAGES = ("cmteb-eval", "torch", "transformers", "numpy", "scipy", "scikit-learn", "mteb")


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
    write_text_atomic(path, json.dumps(_finite(payload, path.name), ensure_ascii=False, indent=2,
                                       allow_nan=False) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` via a temp file, fsync and rename: the file is absent or complete."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600: the file gets the mode open() would give
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
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
def _umask() -> int:
    old = os.umask(0o022)  # the only way to read it; set back at once
    os.umask(old)
    return old


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
def machine_record() -> dict[str, Any]:
    """Which machine a run's timings come from: an id (a hash, not the host name) that is the same for
    every run on one machine, and what the machine is. Speed reports compare runs of one machine only."""
    import hashlib
    import platform

    what = {"system": platform.system(), "machine": platform.machine(), "processor": platform.processor() or None,
            "cpus": os.cpu_count(), "python": platform.python_version()}
    key = "|".join(str(v) for v in (platform.node(), what["system"], what["machine"], what["cpus"]))
    return {"id": hashlib.sha256(key.encode("utf-8")).hexdigest()[:12], **what}


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
    mteb_main = mteb_main_metric(spec)
    in_main = mteb_main if all(mteb_main in r.scores for r in splits.values()) else spec.main_metric
    scores = {}
    for split, result in splits.items():
        entry = {"hf_subset": result.hf_subset, "languages": list(spec.languages),
                 "main_score": result.scores[in_main]}
        entry.update(result.scores)
        scores[split] = [entry]
    first = next(iter(splits.values()))
    return {
        "dataset_revision": spec.dataset.revision,
        "task_name": file_task_name(spec),
        "mteb_version": None,  # mteb did not make these numbers: harness.protocol did
        "scores": scores,
        "evaluation_time": evaluation_time,
        "kg_co2_emissions": None,
        "harness": {
            "name": "cmteb-eval",
            "result_format": RESULT_FORMAT,
            "task": spec.name,
            "task_type": spec.type,
            "main_metric": spec.main_metric,
            "main_score_metric": in_main,
            "mteb_main_metric": mteb_main,
            "mteb_format": package_versions().get("mteb"),  # the mteb whose TaskResult shape this follows
            "protocol": first.protocol,
            "data_sources": {split: result.source for split, result in splits.items()},
            "dataset": {"hub_id": spec.dataset.hub_id, "revision": spec.dataset.revision,
                        "subset": spec.dataset.subset},
            "model": model_info,
            "versions": package_versions(),
            "project_commit": project_commit(),
            "machine": machine_record(),
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    }


RUN_SETTINGS = "run_settings.jsonl"
ENCODE_OPTIONS = ("pooling", "normalize", "max_length", "dtype", "device", "batch_size", "max_batch_tokens", "backend",
                  "query_instruction", "prompts", "truncate_dim")


def write_run_settings(folder: Path, task_name: str, splits: dict[str, SplitResult], model_info: dict[str, Any]) -> Path:
    """``folder/run_settings.jsonl`` as mteb writes it beside its results (``mteb/cache/result_cache.py``):
    one row per task with its ``splits``, ``subsets``, the library ``version``s and the ``encode_kwargs``
    (here the model's encode options); a task run again replaces its row (mteb keys rows by task,
    split and subset, the last run winning)."""
    path = folder / RUN_SETTINGS
    rows = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a damaged line is dropped, as mteb's reader skips it
            if isinstance(row, dict) and row.get("task") != task_name:
                rows.append(row)
    rows.append({"task": task_name, "splits": sorted(splits),
                 "version": {k: v for k, v in package_versions().items() if v},
                 "encode_kwargs": {k: model_info[k] for k in ENCODE_OPTIONS if model_info.get(k) is not None},
                 "subsets": sorted({r.hf_subset for r in splits.values()}),
                 "harness": "cmteb-eval", "machine": machine_record()})
    text = "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def save_predictions(folder: str | Path, spec: TaskSpec, splits: dict[str, SplitResult], model_name: str,
                     model_info: dict[str, Any]) -> str:
    """``folder/<mteb task name>_predictions.json`` as mteb's ``prediction_folder`` holds it
    (``AbsTask._save_task_predictions``): ``{"mteb_model_meta": {model_name, revision}, subset: {split:
    predictions}}``; for Retrieval and Reranking the ranked results ``{query_id: {doc_id: score}}``.
    Other types save none yet: the line says so."""
    kept = {split: r for split, r in splits.items() if r.predictions is not None}
    if not kept:
        return f"none saved ({spec.type} tasks save no predictions yet)"
    path = Path(folder) / f"{file_task_name(spec)}_predictions.json"
    payload: dict[str, Any] = {"mteb_model_meta": {"model_name": model_name,
                                                   "revision": model_info.get("commit") or model_info.get("revision")}}
    if path.is_file():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
            payload = previous if isinstance(previous, dict) else payload
        except ValueError:
            pass  # a damaged file is replaced
    for split, result in kept.items():
        payload.setdefault(result.hf_subset, {})[split] = result.predictions
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, payload)
    except OSError as exc:
        raise ResultWriteError(f"Cannot write the predictions {path}: {exc.strerror or exc}.",
                               "Pass a writable --save-predictions folder; results written before this one are kept.") \
            from None
    return str(path)


def write_result(output_dir: Path, model_name: str, spec: TaskSpec, splits: dict[str, SplitResult],
                 model_info: dict[str, Any], evaluation_time: float,
                 config: dict[str, Any] | None = None, timing: dict[str, Any] | None = None) -> Path:
    """Write the items file, then the result file (sealed with a checksum); ``config`` is
    the run configuration that resuming compares (run/config.py, run/resume.py); ``timing`` the
    task's encode time, scoring time and cache hits apart (``models/progress.Meter``)."""
    items = {split: r.items for split, r in splits.items() if r.items}
    fingerprint = (config or {}).get("fingerprint")
    folder, name = model_folder(output_dir, model_name, model_info), file_task_name(spec)
    items_path = folder / items_reference(name)
    reference = None
    if items:
        write_json_atomic(items_path, {"task_name": name, "config_fingerprint": fingerprint, "splits": items})
        reference = {"file": items_reference(name), "sha256": file_sha256(items_path, remember=False)}
    path = folder / f"{name}.json"
    payload = result_payload(spec, splits, model_info, evaluation_time)
    payload["harness"]["model_name"] = model_name  # the name tables and comparisons show
    payload["harness"]["items"] = reference  # the items file's hash, sealed with the result
    payload["harness"]["model_identity"] = model_identity(model_info)  # whose folder this is (owner.py)
    if config is not None:
        payload["harness"]["config"] = config
    if timing is not None:
        payload["harness"]["timing"] = timing
    write_json_atomic(path, integrity.seal(payload))
    write_model_meta(folder, model_name, model_info, spec, write_json_atomic)
    write_run_settings(folder, name, splits, model_info)
    if reference is None and items_path.is_file():  # the items of the result just replaced
        try:
            items_path.unlink()
        except OSError:
            pass  # harmless: the new result names no items file, so none is read
    return path




def copy_result(source: Path, output_dir: Path, model_name: str, spec: TaskSpec, model_info: dict[str, Any]) -> Path:
    """Save a result read back from ``source`` (a reused result) into ``output_dir`` as it is: the same
    bytes, its per-item file with it (so timing, provenance and the per-item values are kept). When
    the target is ``source`` itself there is nothing to write."""
    folder, name = model_folder(output_dir, model_name, model_info), file_task_name(spec)
    path = folder / f"{name}.json"
    if path.exists() and path.resolve() == source.resolve():
        return path
    items_source = source.parent / items_reference(name)
    try:
        text = source.read_text(encoding="utf-8")
        items = items_source.read_text(encoding="utf-8") if items_source.is_file() else None
    except OSError as exc:
        raise UserError(f"The result {source} this one was read from cannot be read any more: "
                        f"{exc.strerror or exc}.", "Evaluate again (overwrite=True) and save that result.") from None
    if items is not None:
        write_text_atomic(folder / items_reference(name), items)
    write_text_atomic(path, text)
    write_model_meta(folder, model_name, model_info, spec, write_json_atomic)
    return path
