"""A task's configuration in a run, and its fingerprint: everything that can change the numbers.

The model and its weights, how it is run (the model's description and the run options its type
records), the task card, the evaluation protocol (the type table's protocol id), the data actually
read (the SHA-256 of each file the loader reads, ``data/locate.py``, or the hub source at its
pinned revision) and the harness version. Result files record the configuration; resume
(``resume.py``) keeps a result only when its fingerprint is this run's. Device and batch size are
not part of it: they do not change what is measured.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any, Sequence

from ..data.locate import fingerprint
from ..evaluators.base import RunOptions
from ..models.pair import ModelPair
from ..results import integrity
from ..results.integrity import RESULT_FORMAT
from ..tasks.card import TaskSpec
from ..tasks.types import TYPES
from ..version import VERSION

# model_info keys that do not change the numbers (kept in the result, not compared)
NOT_CONFIG = frozenset({"device", "batch_size", "max_batch_tokens", "settings_source", "retried_in_fp32",
                        "requested_dtype", "prompt_sources", "prompt_key", "prompt_source",
                        "batch_chars", "concurrency", "request_timeout", "max_retries"})
# TaskSpec fields that do not change the numbers (local_dir is replaced by the data fingerprint)
SPEC_NOT_CONFIG = frozenset({"description", "card_path", "reference", "table_split"})


def model_info(models: ModelPair, options: RunOptions, task: TaskSpec | None) -> dict[str, Any]:
    """What the result file records about the models and how the run used them on ``task``:
    the models' descriptions, the cross-encoder's depth when it reranks an embedder's results,
    and the run options the task's type records (``RunOptions.recorded``)."""
    info = models.describe(task)
    if models.embedder is not None and (models.reranker is not None or info.get("retrieval_method") in
                                        ("colbert", "hybrid")):  # bge-m3 over budget rescores the dense top k
        info["rerank_top_k"] = options.rerank_top_k
    if task is not None:
        info.update(options.recorded(task))
    return info


def protocol_id(spec: TaskSpec) -> str:
    """The protocol of the task's evaluator, as the type table declares it."""
    return TYPES[spec.type].protocol


def data_fingerprint(spec: TaskSpec, data_dirs: Sequence[str | Path]) -> dict[str, Any]:
    """What data the task reads: per split, the SHA-256 of exactly the files its loader reads
    (found by the loaders' own search, ``data/locate.py``), or the hub source at its pinned revision."""
    return fingerprint(spec, data_dirs)


def run_config(spec: TaskSpec, model_info: dict[str, Any], data_dirs: Sequence[str | Path]) -> dict[str, Any]:
    """The configuration of one task in this run, with its ``fingerprint``."""
    task = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.name not in SPEC_NOT_CONFIG}
    task["dataset"] = {k: v for k, v in dataclasses.asdict(spec.dataset).items() if k != "local_dir"}
    config = {
        "harness": {"name": "cmteb-eval", "version": VERSION, "result_format": RESULT_FORMAT},
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
