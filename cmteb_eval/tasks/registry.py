"""The task registry: built-in cards under ``tasks/``, user cards, named benchmarks."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TaskCardError, UnknownNameError, UserError, close_matches
from .card import TaskSpec, load_card
from .types import TASK_TYPES


def builtin_tasks_dir() -> Path:
    """The folder of built-in cards: ``$CMTEB_EVAL_TASKS_DIR``, else the copy inside an installed
    package (a wheel or ``pip install .`` ships ``tasks/`` as ``cmteb_eval/task_cards``), else the
    checkout's ``tasks/`` (an editable install or a run from the source tree)."""
    override = os.environ.get("CMTEB_EVAL_TASKS_DIR")
    if override:
        return Path(override)
    package = Path(__file__).resolve().parent.parent  # cmteb_eval/
    packaged = package / "task_cards"
    return packaged if packaged.is_dir() else package.parent / "tasks"


@dataclass(frozen=True)
class Benchmark:
    """A named list of task cards. ``groups`` maps a task of the benchmark that is scored as the mean of
    several cards (MTEB's CQADupstackRetrieval: 12 sub-forums) to those cards; ``mteb_name`` is the
    benchmark's name in mteb (``MTEB(eng, v1)``), accepted wherever a benchmark is named."""

    name: str
    description: str
    tasks: tuple[str, ...]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    mteb_names: tuple[str, ...] = ()  # mteb's name and aliases of the same task list (``mteb.get_benchmark``)

    @property
    def mteb_name(self) -> str | None:
        """mteb's own name of the benchmark (the first of ``mteb_names``)."""
        return self.mteb_names[0] if self.mteb_names else None

    def entries(self) -> list[tuple[str, tuple[str, ...]]]:
        """The benchmark's tasks as its averages count them: (task, its cards), a group once, in order."""
        group_of = {card: group for group, cards in self.groups.items() for card in cards}
        out: dict[str, tuple[str, ...]] = {}
        for card in self.tasks:
            group = group_of.get(card)
            if group is None:
                out[card] = (card,)
            elif group not in out:
                out[group] = self.groups[group]
        return list(out.items())


class Registry:
    """All known tasks and benchmarks, looked up by name (case-insensitive)."""

    def __init__(self, tasks: dict[str, TaskSpec], benchmarks: dict[str, Benchmark]) -> None:
        self.tasks = tasks
        self.benchmarks = benchmarks

    @classmethod
    def load(cls, task_files: list[str | Path] = (), tasks_dir: Path | None = None) -> "Registry":
        tasks_dir = tasks_dir or builtin_tasks_dir()
        if not tasks_dir.is_dir():
            raise UserError(f"The task card folder {tasks_dir} does not exist.",
                            "The installation is incomplete: reinstall cmteb-eval (pip install .), run from a "
                            "checkout, or set CMTEB_EVAL_TASKS_DIR to a folder of task cards.")
        tasks: dict[str, TaskSpec] = {}
        for path in sorted(tasks_dir.rglob("*.toml")):
            if path.name == "benchmarks.toml":
                continue
            cls._add(tasks, load_card(path))
        user: dict[str, TaskSpec] = {}
        for path in task_files:
            spec = load_card(path)
            if spec.name in user and Path(user[spec.name].card_path).resolve() == Path(path).resolve():
                continue  # the same file passed twice
            if spec.name in user:  # two user cards of one name: which one is meant cannot be guessed
                raise TaskCardError(
                    f"Task name {spec.name!r} is defined by two --task-file cards: {user[spec.name].card_path} and "
                    f"{spec.card_path}.", "Pass only one of them, or give each card a unique 'name'.")
            user[spec.name] = spec
            tasks.pop(spec.name, None)  # a user card may replace a built-in one
            cls._add(tasks, spec)
        benchmarks = _load_benchmarks(tasks_dir / "benchmarks.toml", tasks)
        return cls(tasks, benchmarks)

    @staticmethod
    def _add(tasks: dict[str, TaskSpec], spec: TaskSpec) -> None:
        if spec.name in tasks:
            raise TaskCardError(
                f"Task name {spec.name!r} is defined twice: {tasks[spec.name].card_path} and {spec.card_path}.",
                "Give each card a unique 'name'.")
        tasks[spec.name] = spec

    def task(self, name: str) -> TaskSpec:
        if name in self.tasks:
            return self.tasks[name]
        by_lower = {n.lower(): n for n in self.tasks}
        if name.lower() in by_lower:
            return self.tasks[by_lower[name.lower()]]
        hint = close_matches(name, list(self.tasks))
        raise UnknownNameError(f"Unknown task {name!r}.",
                               (hint + " " if hint else "")
                               + "List tasks with 'cmteb-eval tasks', or add one with --task-file.")

    def benchmark(self, name: str) -> Benchmark:
        key = name.lower()
        if key in self.benchmarks:
            return self.benchmarks[key]
        for bench in self.benchmarks.values():  # mteb's names: "MTEB(cmn, v1)", "MTEB(Chinese)", ...
            if key in (n.lower() for n in bench.mteb_names):
                return bench
        hint = close_matches(name, list(self.benchmarks))
        raise UnknownNameError(f"Unknown benchmark {name!r}.",
                               (hint + " " if hint else "") + f"Known: {', '.join(sorted(self.benchmarks))}.")

    def select(self, task_names: list[str] = (), benchmarks: list[str] = (),
               task_type: str | None = None) -> list[TaskSpec]:
        """Tasks named directly or through benchmarks, in order, without repeats."""
        names: list[str] = []
        for bench in benchmarks:
            names.extend(self.benchmark(bench).tasks)
        names.extend(task_names)
        if not names and not benchmarks:
            names = sorted(self.tasks)
        selected: dict[str, TaskSpec] = {}
        for name in names:
            spec = self.task(name)
            selected.setdefault(spec.name, spec)
        if task_type is not None:
            by_lower = {t.lower(): t for t in TASK_TYPES}
            if task_type not in TASK_TYPES and task_type.lower() in by_lower:
                task_type = by_lower[task_type.lower()]  # as task names are: `--type sts` is STS
            if task_type not in TASK_TYPES:
                import difflib

                close = difflib.get_close_matches(task_type.lower(), list(by_lower), n=1, cutoff=0.6)
                raise UnknownNameError(f"Unknown task type {task_type!r}."
                                       + (f" Did you mean {by_lower[close[0]]!r}?" if close else ""),
                                       f"Known: {', '.join(TASK_TYPES)}.")
            selected = {n: s for n, s in selected.items() if s.type == task_type}
        return list(selected.values())


def _load_benchmarks(path: Path, tasks: dict[str, TaskSpec]) -> dict[str, Benchmark]:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TaskCardError(f"Benchmark file {path} is not valid TOML: {exc}.", "Fix its syntax.") from None
    benchmarks = {}
    for name, entry in data.items():
        members = entry.get("tasks") if isinstance(entry, dict) else None
        if not isinstance(members, list) or not members:
            raise TaskCardError(f"Benchmark file {path}: field '{name}.tasks' must be a non-empty list.",
                                "List task names.")
        unknown = [t for t in members if t not in tasks]
        if unknown:
            raise TaskCardError(f"Benchmark file {path}: '{name}' names unknown tasks {unknown}.",
                                "Add their cards or fix the names.")
        groups = entry.get("groups", {})
        if not isinstance(groups, dict) or any(not isinstance(cards, list) or not cards or not set(cards) <= set(members)
                                               for cards in groups.values()):
            raise TaskCardError(f"Benchmark file {path}: '{name}.groups' must map a task name to a non-empty list of "
                                f"the benchmark's own tasks.", "Fix the group, or list its cards under tasks.")
        mteb_names = entry.get("mteb_names", [])
        if not isinstance(mteb_names, list) or not all(isinstance(n, str) for n in mteb_names):
            raise TaskCardError(f"Benchmark file {path}: field '{name}.mteb_names' must be a list of names.",
                                "List mteb's names of the benchmark.")
        benchmarks[name.lower()] = Benchmark(name, str(entry.get("description", "")), tuple(members),
                                             {g: tuple(cards) for g, cards in groups.items()}, tuple(mteb_names))
    return benchmarks
