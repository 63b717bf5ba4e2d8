"""Main scores of models, from result files or from published references, in one shape.

Tables, reproduction reports, comparisons, the regression gate and plots all read
``ModelScores``: one model's main score per task (x100, as leaderboards print them),
with where each number came from and how it was made.

A path given by the user may be an output folder as ``run --output-dir`` writes it
(one sub-folder per model), one model's folder, or a single result file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..results import integrity
from ..results.items import items_problem, read_items
from ..results.read import read_result


@dataclass
class TaskScore:
    """One model's main score on one task; ``splits`` holds every split's main score (x100)."""

    task: str
    task_type: str | None
    split: str | None  # the split shown in tables
    score: float  # x100
    metric: str | None = None
    splits: dict[str, float] = field(default_factory=dict)
    origin: str = "run"  # "run" or "published"
    source: str = ""  # a file path or the name of a published source
    protocol: str | None = None
    dataset_revision: str | None = None
    subset: str | None = None
    versions: dict[str, Any] = field(default_factory=dict)
    evaluation_time: float | None = None
    timing: dict[str, Any] | None = None  # the harness block's encode/scoring seconds and cache hits
    items_path: Path | None = None
    items_sha256: str | None = None  # the per-item file's hash as its result records it
    items_problem: str | None = None  # why the per-item file cannot be used with this result
    items_note: str = ""  # why a result has no usable per-item values (no error: e.g. an older format)
    foreign: bool = False  # no cmteb-eval harness block: an mteb (or other) file, read but not verified
    metrics: dict[str, float] = field(default_factory=dict)  # every numeric metric of the shown split (x100)

    def items(self) -> dict[str, Any] | None:
        """Per-item values saved with the result: ``{split: {...}}`` in the format of the task's type
        (``tasks/items.py``), or None when there are none. A per-item file that does not match its
        result (missing, changed) is an error."""
        if self.items_problem:
            raise UserError(f"Result file {self.source}: {self.items_problem}.",
                            "Rerun the task: 'cmteb-eval run' sets the pair aside and recomputes both.")
        if self.items_path is None:
            return None
        return read_items(self.items_path, self.items_sha256, self.source)  # checked again: changed since?


@dataclass
class ModelScores:
    name: str
    origin: str  # "run" or "published"
    source: str  # folder path, or the published source's title
    tasks: dict[str, TaskScore] = field(default_factory=dict)
    dimension: int | None = None
    max_length: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.name if self.origin == "run" else f"{self.name} (published)"

    def score(self, task: str) -> float | None:
        entry = self.tasks.get(task)
        return None if entry is None else entry.score


def main_split(task: str, splits: list[str], registry=None) -> str:
    """The split tables show: the task card's ``table_split`` when present, else "test" when
    present, else the first split (the rule of TaskSpec.table_split for files of unknown tasks)."""
    if registry is not None and task in registry.tasks and registry.tasks[task].table_split in splits:
        return registry.tasks[task].table_split
    return "test" if "test" in splits else splits[0]


def task_score_from_result(data: dict[str, Any], path: Path, registry=None) -> TaskScore:
    task = str(data["task_name"])
    harness = data.get("harness") if isinstance(data.get("harness"), dict) else {}
    splits: dict[str, float] = {}
    metrics: dict[str, dict[str, float]] = {}
    subset = None
    for split, entries in (data.get("scores") or {}).items():
        if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict) \
                or not isinstance(entries[0].get("main_score"), (int, float)):
            raise UserError(f"Result file {path}: split {split!r} has no numeric main_score.",
                            "Pass a file written by 'cmteb-eval run' or by mteb.")
        splits[str(split)] = 100.0 * float(entries[0]["main_score"])
        metrics[str(split)] = {k: 100.0 * float(v) for k, v in entries[0].items()
                               if isinstance(v, (int, float)) and not isinstance(v, bool)}
        subset = entries[0].get("hf_subset", subset)
    if not splits:
        raise UserError(f"Result file {path} holds no scores.", "Rerun the task to write it again.")
    task_type = harness.get("task_type")
    if task_type is None and registry is not None and task in registry.tasks:
        task_type = registry.tasks[task].type
    split = main_split(task, list(splits), registry)
    items_path, items_sha256, problem, items_note = None, None, None, ""
    if "items" in harness:  # the result records its per-item file's hash (results/items.py)
        problem = items_problem(path, data)
        if harness["items"] is not None and not problem:
            items_path = path.parent / harness["items"]["file"]
            items_sha256 = harness["items"]["sha256"]
    elif harness.get("name") == "cmteb-eval" and (path.parent / "items" / f"{task}.json").exists():
        items_note = "its per-item file cannot be checked against it (written by an older cmteb-eval); rerun the task"
    return TaskScore(
        task=task, task_type=task_type, split=split, score=splits[split], metric=harness.get("main_metric"),
        splits=splits, origin="run", source=str(path), protocol=harness.get("protocol"),
        dataset_revision=data.get("dataset_revision"), subset=subset,
        versions={**(harness.get("versions") or {}), "project_commit": harness.get("project_commit"),
                  "harness": harness.get("name") or ("mteb " + str(data.get("mteb_version")))},
        evaluation_time=data.get("evaluation_time") if isinstance(data.get("evaluation_time"), (int, float)) else None,
        timing=harness.get("timing") if isinstance(harness.get("timing"), dict) else None,
        items_path=items_path, items_sha256=items_sha256, items_problem=problem, items_note=items_note,
        foreign=integrity.provenance(data)[0] == "foreign", metrics=metrics[split],
    )


def _is_result_file(path: Path) -> bool:
    return path.suffix == ".json" and not path.name.startswith(".")


def _model_name(folder: Path, results: list[dict[str, Any]]) -> str:
    for data in results:
        name = (data.get("harness") or {}).get("model_name") if isinstance(data.get("harness"), dict) else None
        if name:
            return str(name)
    return folder.name.replace("__", "/")


def load_model_folder(folder: Path, files: list[Path] | None = None, registry=None) -> ModelScores:
    files = files if files is not None else sorted(p for p in folder.glob("*.json") if _is_result_file(p))
    raw = [(path, read_result(path)) for path in files]
    model = ModelScores(_model_name(folder, [d for _, d in raw]), "run", str(folder))
    for path, data in raw:
        entry = task_score_from_result(data, path, registry)
        model.tasks[entry.task] = entry
        info = (data.get("harness") or {}).get("model") or {}
        model.dimension = model.dimension or info.get("embedding_dimension")
        model.max_length = model.max_length or info.get("max_length")
    foreign = [t.task for t in model.tasks.values() if t.foreign]
    if foreign:
        model.notes.append(f"{len(foreign)} result file(s) without a cmteb-eval checksum ({', '.join(foreign[:5])}"
                           f"{', ...' if len(foreign) > 5 else ''}) were read as foreign (mteb) files: "
                           f"their scores are not verified as cmteb-eval results")
    return model


def load_path(path: str | Path, registry=None) -> list[ModelScores]:
    """Every model found at PATH: an output folder, one model's folder, or a single result file.
    ``registry`` (the task cards) gives each task its type and table split; without one, the type is
    what the result file records and the split the rule for unknown tasks (``main_split``)."""
    path = Path(path)
    if path.is_file():
        return [load_model_folder(path.parent, [path], registry)]
    if not path.is_dir():
        raise UserError(f"Results path {path} does not exist.",
                        "Pass an output folder written by 'cmteb-eval run', one model's folder in it, or a result file.")
    files = sorted(p for p in path.glob("*.json") if _is_result_file(p))
    if files:
        return [load_model_folder(path, files, registry)]
    models = [load_model_folder(sub, None, registry) for sub in sorted(path.iterdir())
              if sub.is_dir() and sub.name != "items" and any(_is_result_file(p) for p in sub.glob("*.json"))]
    if not models:
        raise UserError(f"No result files found in {path}.",
                        "Pass an output folder written by 'cmteb-eval run', one model's folder in it, or a result file.")
    return models


def load_one_model(path: str | Path, role: str, registry=None) -> ModelScores:
    """Exactly one model at PATH (the gate and comparisons need one baseline, one candidate)."""
    models = load_path(path, registry)
    if len(models) != 1:
        names = ", ".join(m.name for m in models)
        raise UserError(f"The {role} path {path} holds results of {len(models)} models ({names}).",
                        "Pass one model's folder inside it, or a single result file.")
    return models[0]


def task_types(models: list[ModelScores], registry=None) -> dict[str, str]:
    """The type of every task: the registry's card, else what a result file records."""
    types = {name: spec.type for name, spec in registry.tasks.items()} if registry is not None else {}
    for model in models:
        for task, entry in model.tasks.items():
            if entry.task_type:
                types.setdefault(task, entry.task_type)
    return types


def incomparable(a: TaskScore, b: TaskScore) -> list[str]:
    """Why two scores of one task cannot be compared (none: they can). The rule, for ``compare`` and
    ``check`` alike: the same dataset revision, where both record one; the same protocol, when both
    are runs (a published score records the mteb version that made it, not a protocol of ours, and
    a run of ours never equals a foreign file that records none); the same main metric, where both
    record one."""
    problems = []
    for what, left, right, applies in (
            ("dataset revision", a.dataset_revision, b.dataset_revision, bool(a.dataset_revision and b.dataset_revision)),
            ("protocol", a.protocol, b.protocol, a.origin == b.origin == "run"),
            ("main metric", a.metric, b.metric, bool(a.metric and b.metric))):
        if applies and left != right:
            problems.append(f"different {what} (baseline {left!r}, candidate {right!r})")
    return problems


def check_tolerance(value, what: str = "--tolerance") -> float:
    """The one rule for a tolerance in points, for ``check`` and ``reproduce`` alike: a finite,
    non-negative number (``inf`` or ``nan`` would pass every difference)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise UserError(f"{what} must be a finite, non-negative number of points, got {value!r}.",
                        "Use e.g. 0.5 for half a point.")
    return float(value)
