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
from ..results import mteb_tasks
from ..results.discover import find_models, result_files
from ..results.naming import safe_name
from ..results.read import read_result_file, read_result_noted


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
    prompts: str | None = None  # the prompt strings of each side the result records (None: none recorded)
    machine: str | None = None  # the id of the machine a cmteb-eval run was timed on (results/write.machine_record)

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
    # tasks whose table split is missing or NaN (another split is there): never shown with another split's number
    partial: dict[str, TaskScore] = field(default_factory=dict)

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


def table_split(task: str, registry=None) -> str | None:
    """The split the task's card says tables show; None for a task without a card."""
    return registry.tasks[task].table_split if registry is not None and task in registry.tasks else None


def task_scores_from_result(data: dict[str, Any], path: Path, registry=None, empty_ok: bool = False) -> list[TaskScore]:
    """The task scores a result file holds: ours (one task), or a foreign file's, mapped to our
    cards through mteb's task names (``results/mteb_tasks.py``). ``empty_ok``: a file left with no
    scores (every main score NaN, dropped) gives none instead of an error. A task whose card's table
    split is not in the file gets ``score`` NaN (``load_model_folder`` sets it apart)."""
    harness = data.get("harness") if isinstance(data.get("harness"), dict) else {}
    specs = registry.tasks if registry is not None else {}
    is_foreign = integrity.provenance(data)[0] == "foreign"
    try:
        found = mteb_tasks.foreign(data, specs) if is_foreign else [mteb_tasks.ours(data, specs)]
    except ValueError as exc:
        raise UserError(f"Result file {path}: {exc}.", "Pass a file written by 'cmteb-eval run' or by mteb.") from None
    found = [f for f in found if f.splits]
    if not found:
        if empty_ok:
            return []
        raise UserError(f"Result file {path} holds no scores.", "Rerun the task to write it again.")
    return [_task_score(f, data, harness, path, registry, is_foreign) for f in found]


def task_score_from_result(data: dict[str, Any], path: Path, registry=None) -> TaskScore:
    return task_scores_from_result(data, path, registry)[0]


def _task_score(found, data, harness, path: Path, registry, is_foreign: bool) -> TaskScore:
    task = found.task
    splits = {split: 100.0 * value for split, value in found.splits.items()}
    task_type = harness.get("task_type") or found.task_type
    split = table_split(task, registry) or main_split(task, list(splits), registry)
    items_path, items_sha256, problem, items_note = None, None, None, ""
    stem = str(data.get("task_name"))
    if "items" in harness:  # the result records its per-item file's hash (results/items.py)
        problem = items_problem(path, data)
        if harness["items"] is not None and not problem:
            items_path = path.parent / harness["items"]["file"]
            items_sha256 = harness["items"]["sha256"]
    elif harness.get("name") == "cmteb-eval" and (path.parent / "items" / f"{stem}.json").exists():
        items_note = "its per-item file cannot be checked against it (written by an older cmteb-eval); rerun the task"
    return TaskScore(
        task=task, task_type=task_type, split=split, score=splits.get(split, math.nan), metric=found.metric,
        splits=splits, origin="run", source=str(path), protocol=found.protocol,
        dataset_revision=data.get("dataset_revision"), subset=found.subset,
        versions={**(harness.get("versions") or {}), "project_commit": harness.get("project_commit"),
                  "harness": harness.get("name") or ("mteb " + str(data.get("mteb_version")))},
        evaluation_time=data.get("evaluation_time") if isinstance(data.get("evaluation_time"), (int, float)) else None,
        timing=harness.get("timing") if isinstance(harness.get("timing"), dict) else None,
        items_path=items_path, items_sha256=items_sha256, items_problem=problem, items_note=items_note,
        foreign=is_foreign, metrics={k: 100.0 * v for k, v in found.metrics.get(split, {}).items()},
        prompts=recorded_prompts(harness),
        machine=(harness.get("machine") or {}).get("id") if isinstance(harness.get("machine"), dict) else None,
    )


def recorded_prompts(harness: dict[str, Any]) -> str | None:
    """'side: prompt' of every side the result's model info records (the exact strings, a template's
    suffix too), or None when it records no prompts (an older or foreign file)."""
    found = (harness.get("model") or {}).get("prompts") if isinstance(harness.get("model"), dict) else None
    if not isinstance(found, dict):
        return None
    return "; ".join(f"{side}: {value.get('prompt', '')!r}" + (f" ... {value['suffix']!r}" if value.get("suffix") else "")
                     for side, value in sorted(found.items()) if isinstance(value, dict))


IGNORABLE = ("prompts",)


def ignore_differences(models: list["ModelScores"], ignored: list[str] | None) -> None:
    """``--ignore prompts``: scores made with different prompts are compared anyway (the user says
    the prompts do not matter for this comparison)."""
    for what in ignored or ():
        if what not in IGNORABLE:
            raise UserError(f"--ignore {what}: only {', '.join(IGNORABLE)} can be ignored.",
                            f"Pass --ignore {' or '.join(IGNORABLE)}.")
        for model in models:
            for entry in model.tasks.values():
                entry.prompts = None


def _model_name(name: str, results: list[dict[str, Any]]) -> str:
    for data in results:
        found = (data.get("harness") or {}).get("model_name") if isinstance(data.get("harness"), dict) else None
        if found:
            return str(found)
    return name


def load_model_folder(folder: Path, files: list[Path] | None = None, registry=None, name: str | None = None,
                      notes: list[str] | None = None) -> ModelScores:
    files = files if files is not None else result_files(folder)
    raw, failed = [], []
    for path in files:
        try:
            raw.append((path, *read_result_noted(path)))
        except UserError as exc:
            failed.append((path, exc))
    # a file that is not even JSON (an empty file) in a folder of foreign files only is left out with a
    # note (the public MiniLM folder has one); in a folder with our results it is an error
    skipped = [p.name for p, _ in failed if read_result_file(p).damage == "unreadable"]
    if failed and (len(skipped) < len(failed) or not raw
                   or any(integrity.provenance(d)[0] == "ours" for _, d, _ in raw)):
        raise failed[0][1]
    model = ModelScores(_model_name(name or folder.name.replace("__", "/"), [d for _, d, _ in raw]), "run",
                        str(folder), notes=list(notes or []))
    nan_metrics: list[str] = []
    for path, data, dropped in raw:
        foreign = integrity.provenance(data)[0] == "foreign"  # emptied by NaN, or a split removed by hand
        entries = task_scores_from_result(data, path, registry, empty_ok=bool(dropped) or foreign)
        if not entries:
            model.notes.append(f"{path.name}: no split has a finite main score (missing or NaN), left out")
        for entry in entries:
            if math.isnan(entry.score):  # the table split is missing or NaN: "-", never another split's number
                model.partial.setdefault(entry.task, entry)
                model.notes.append(f"{entry.task}: {path.name} has no {entry.split!r} score (missing or NaN; it has "
                                   f"{', '.join(entry.splits)}): shown as -, never another split's number")
                continue
            if table_split(entry.task, registry) is None and entry.split != "test":  # no card names the split
                model.notes.append(f"{entry.task}: no task card names the split to show; shown: {entry.split!r} "
                                   f"(the file has no 'test')")
            kept = model.tasks.get(entry.task)
            if kept is not None and (entry.foreign or not kept.foreign):  # two files of one task: the first
                model.notes.append(f"{entry.task}: {Path(kept.source).name} used, {path.name} holds it too")
                continue
            model.tasks[entry.task] = entry
        for note in dropped:  # a NaN main score changes what is shown: named; other NaN metrics: counted
            if "main_score" in note:
                model.notes.append(f"{path.name}: {note}")
            else:
                nan_metrics.append(path.name)
        info = (data.get("harness") or {}).get("model") or {} if isinstance(data.get("harness"), dict) else {}
        model.dimension = model.dimension or info.get("embedding_dimension")
        model.max_length = model.max_length or info.get("max_length")
    if nan_metrics:
        names = list(dict.fromkeys(nan_metrics))
        model.notes.append(f"{len(names)} foreign file(s) hold NaN in metrics other than the main score, dropped: "
                           f"{', '.join(names[:5])}{', ...' if len(names) > 5 else ''}")
    if skipped:
        model.notes.append(f"{len(skipped)} file(s) that are not JSON were left out: {', '.join(skipped[:5])}")
    foreign = list(dict.fromkeys(Path(t.source).stem for t in model.tasks.values() if t.foreign))
    if foreign:
        model.notes.append(f"{len(foreign)} result file(s) without a cmteb-eval checksum ({', '.join(foreign[:5])}"
                           f"{', ...' if len(foreign) > 5 else ''}) were read as foreign (mteb) files: "
                           f"their scores are not verified as cmteb-eval results")
    return model


def _name_note(found) -> list[str]:
    """A note when a folder's model_meta.json names another model than the folder does (a folder copied
    under another name): both names, so that nobody reads one model's scores as the other's."""
    other = found.folder_name
    if not other or safe_name(other) == safe_name(found.name):
        return []
    return [f"model_meta.json names the model {found.name!r}, but its folder is named {other!r}: shown as "
            f"{found.name!r}; check whose results these are"]


def load_path(path: str | Path, registry=None, revision: str | None = None) -> list[ModelScores]:
    """Every model found at PATH: an output folder, one model's folder (flat, or of revision folders),
    a single result file, mteb's cache or the results repository (``results/discover.py``).
    ``registry`` (the task cards) maps mteb's task names to our cards and gives each task its type
    and table split; without one, the type is what the result file records and the split the rule
    for unknown tasks (``main_split``). ``revision``: the revision folder to read."""
    models = [load_model_folder(m.folder, m.files, registry, m.name, m.notes + _name_note(m))
              for m in find_models(path, revision)]
    if not models:
        raise UserError(f"No result files found in {path}.",
                        "Pass an output folder written by 'cmteb-eval run', one model's folder in it, or a result file.")
    return models


def load_one_model(path: str | Path, role: str, registry=None, revision: str | None = None) -> ModelScores:
    """Exactly one model at PATH (the gate and comparisons need one baseline, one candidate)."""
    models = load_path(path, registry, revision)
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
    """Why two scores of one task cannot be compared (none: they can). The one rule, for ``compare``,
    ``check`` and ``table``'s marks alike: the same dataset revision, main metric, subset, protocol and
    prompts (unless ``--ignore prompts``, ``ignore_differences``) wherever both sides record one, whoever wrote the files (an mteb file records no protocol except
    the one its mteb version implies for reranking, ``results/mteb_tasks.py``; a published score records
    the mteb version that made it, not a protocol of ours, so protocols are compared between files only)."""
    problems = []
    for what, left, right, applies in (
            ("dataset revision", a.dataset_revision, b.dataset_revision, True),
            ("protocol", a.protocol, b.protocol, a.origin == b.origin == "run"),
            ("main metric", a.metric, b.metric, True),
            ("subset", a.subset, b.subset, True),
            ("prompts", a.prompts, b.prompts, True)):
        if applies and left and right and left != right:
            problems.append(f"different {what} (baseline {left!r}, candidate {right!r})")
    return problems


def comparability_notes(models: list[ModelScores]) -> dict[tuple[str, str], str]:
    """``(model label, task) -> why`` for every score that cannot be compared with the first score of
    the same task in ``models`` (``incomparable``): the cells ``table`` marks."""
    marks: dict[tuple[str, str], str] = {}
    first: dict[str, TaskScore] = {}
    for model in models:
        for task, entry in model.tasks.items():
            if task not in first:
                first[task] = entry
                continue
            problems = incomparable(first[task], entry)
            if entry.split and first[task].split and entry.split != first[task].split \
                    and "published" not in (entry.split, first[task].split):
                problems.append(f"different split ({first[task].split!r}, {entry.split!r})")
            if problems:
                marks[(model.label, task)] = "; ".join(problems).replace("baseline", "first column") \
                    .replace("candidate", "this one")
    return marks


def check_tolerance(value, what: str = "--tolerance") -> float:
    """The one rule for a tolerance in points, for ``check`` and ``reproduce`` alike: a finite,
    non-negative number (``inf`` or ``nan`` would pass every difference)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise UserError(f"{what} must be a finite, non-negative number of points, got {value!r}.",
                        "Use e.g. 0.5 for half a point.")
    return float(value)
