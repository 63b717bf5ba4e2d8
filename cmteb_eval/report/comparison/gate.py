"""The regression gate behind ``cmteb-eval check``.

Exit codes: 0 when no task's main score fell by more than its tolerance (points, x100),
1 when one did (each regression is named), 2 on bad input. Without ``--tasks`` the
tasks both sides have are checked and the others are listed; results that cannot be
compared (a task named with ``--tasks`` or a split missing on either side, or two scores that ``scores.incomparable``
rules out: a different dataset revision, protocol or main metric) are bad input, never a pass.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd

from ...errors import UserError
from ...files import read_text
from ..scores import ModelScores, check_tolerance, incomparable  # noqa: F401  (check_tolerance: gate's rule too)

DEFAULT_TOLERANCE = 0.5


class IncomparableResultsError(UserError):
    """Baseline and candidate results cannot be compared (exit 2)."""


@dataclass
class GateRow:
    task: str
    split: str
    baseline: float
    candidate: float
    tolerance: float

    @property
    def delta(self) -> float:
        return self.candidate - self.baseline

    @property
    def regressed(self) -> bool:
        return self.delta < -self.tolerance - 1e-9


@dataclass
class GateResult:
    baseline: ModelScores
    candidate: ModelScores
    rows: list[GateRow] = field(default_factory=list)
    only_baseline: list[str] = field(default_factory=list)  # not checked: the candidate has no result
    only_candidate: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[GateRow]:
        return [r for r in self.rows if r.regressed]

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions else 0

    def report(self) -> str:
        from ..formats import frame_to_markdown

        frame = pd.DataFrame({
            "Task": [r.task for r in self.rows], "Split": [r.split for r in self.rows],
            "Baseline": [f"{r.baseline:.2f}" for r in self.rows], "Candidate": [f"{r.candidate:.2f}" for r in self.rows],
            "Delta": [f"{r.delta:+.2f}" for r in self.rows], "Tolerance": [f"{r.tolerance:.2f}" for r in self.rows],
            "Status": ["REGRESSION" if r.regressed else "ok" for r in self.rows]})
        lines = [f"Baseline:  {self.baseline.name} ({self.baseline.source})",
                 f"Candidate: {self.candidate.name} ({self.candidate.source})", "", frame_to_markdown(frame), ""]
        lines += [f"Note ({side}): {note}" for side, model in (("baseline", self.baseline),
                                                                ("candidate", self.candidate)) for note in model.notes]
        for side, other, tasks in (("candidate", "baseline", self.only_baseline),
                                   ("baseline", "candidate", self.only_candidate)):
            if tasks:
                lines.append(f"Not checked: the {side} has no result for {len(tasks)} task(s) of the {other}: "
                             f"{', '.join(tasks)} (name them with --tasks to require them).")
        if self.regressions:
            lines.append(f"FAIL: {len(self.regressions)} regression(s) beyond tolerance:")
            lines += [f"  {r.task} ({r.split}): {r.baseline:.2f} -> {r.candidate:.2f} "
                      f"({r.delta:+.2f} points, tolerance {r.tolerance:.2f})" for r in self.regressions]
        else:
            lines.append(f"PASS: no task fell by more than its tolerance ({len(self.rows)} task split(s) checked).")
        return "\n".join(lines)


def load_tolerances(path: str | Path | None, default: float) -> tuple[float, dict[str, float]]:
    """Per-task tolerances from a JSON or TOML file: ``{"default": 0.5, "STSB": 1.0, ...}``
    (or the same under a ``tasks`` key)."""
    if path is None:
        return check_tolerance(default), {}
    path = Path(path)
    try:
        text = read_text(path)
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:  # ValueError: also not UTF-8
        raise UserError(f"Tolerance file {path} cannot be read: {exc}.",
                        'Write JSON or TOML like {"default": 0.5, "STSB": 1.0} (points).') from None
    if not isinstance(data, dict):
        raise UserError(f"Tolerance file {path} must hold an object of task: points.",
                        'Write JSON or TOML like {"default": 0.5, "STSB": 1.0}.')
    tasks = dict(data.get("tasks", {})) if isinstance(data.get("tasks"), dict) else {}
    tasks.update({k: v for k, v in data.items() if k not in ("tasks", "default")})
    default = data.get("default", default)
    checked = {name: check_tolerance(value, f"Tolerance file {path}: {name!r}")
               for name, value in [("default", default), *tasks.items()]}
    return checked.pop("default"), checked


def check(baseline: ModelScores, candidate: ModelScores, tasks: Sequence[str] | None = None,
          tolerance: float = DEFAULT_TOLERANCE, per_task: dict[str, float] | None = None) -> GateResult:
    """Compare every split of every task; raises ``IncomparableResultsError`` listing every problem."""
    tolerance = check_tolerance(tolerance)
    per_task = {task: check_tolerance(value, f"the tolerance of {task}") for task, value in (per_task or {}).items()}
    # without --tasks: the tasks both sides have (the others are listed); named tasks are required
    names = list(dict.fromkeys(tasks)) if tasks else [t for t in baseline.tasks if t in candidate.tasks]
    problems: list[str] = []
    if not names:
        raise IncomparableResultsError(
            f"The baseline ({baseline.source}) and the candidate ({candidate.source}) have no task in common.",
            "Run both on the same tasks.")
    for side, model in (("baseline", baseline), ("candidate", candidate)):
        missing = [t for t in names if t not in model.tasks]
        if missing:
            problems.append(f"the {side} ({model.source}) has no result for: {', '.join(missing)}")
    for side, model, other in (("baseline", baseline, candidate), ("candidate", candidate, baseline)):
        for task, entry in getattr(model, "partial", {}).items():  # its table split missing or NaN
            if task in other.tasks and (not tasks or task in tasks):
                problems.append(f"{task}: the {side} has no {entry.split!r} score (missing or NaN in {entry.source})")
    result = GateResult(baseline, candidate)
    if not tasks:
        result.only_baseline = [t for t in baseline.tasks if t not in candidate.tasks]
        result.only_candidate = [t for t in candidate.tasks if t not in baseline.tasks]
    for task in names:
        a, b = baseline.tasks.get(task), candidate.tasks.get(task)
        if a is None or b is None:
            continue
        problems += [f"{task}: {problem}" for problem in incomparable(a, b)]  # the rule compare follows too
        missing_splits = [s for s in a.splits if s not in b.splits]
        if missing_splits:
            problems.append(f"{task}: the candidate lacks split(s) {', '.join(missing_splits)}")
        for split, score in a.splits.items():
            if split in b.splits:
                result.rows.append(GateRow(task, split, score, b.splits[split], per_task.get(task, tolerance)))
    if problems:
        raise IncomparableResultsError(
            "The results cannot be compared:\n  " + "\n  ".join(problems),
            "\nRun baseline and candidate on the same tasks, dataset revisions, protocol and prompts "
            "(or restrict the check with --tasks; --ignore prompts compares scores made with other prompts).")
    return result
