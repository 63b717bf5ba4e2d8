"""Running a list of tasks with one model: evaluate each, write its result file at once.

A task that fails is reported and the run goes on; completed results are never
lost. The caller turns a summary with failures into a non-zero exit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from .errors import UserError
from .evaluators import evaluator_for
from .evaluators.base import SplitResult
from .models.protocol import Embedder
from .results import write_result
from .taskspec import TaskSpec


@dataclass
class TaskOutcome:
    task: TaskSpec
    path: Path | None = None
    main_scores: dict[str, float] = field(default_factory=dict)  # split -> main score
    error: str | None = None


@dataclass
class RunSummary:
    model_name: str
    outcomes: list[TaskOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[TaskOutcome]:
        return [o for o in self.outcomes if o.error]

    @property
    def completed(self) -> list[TaskOutcome]:
        return [o for o in self.outcomes if not o.error]


def evaluate_task(spec: TaskSpec, model: Embedder, data_dirs: Sequence[str | Path]) -> dict[str, SplitResult]:
    evaluate = evaluator_for(spec)
    return {split: evaluate(spec, split, data_dirs, model) for split in spec.eval_splits}


def run_tasks(model: Embedder, model_name: str, specs: Sequence[TaskSpec], data_dirs: Sequence[str | Path],
              output_dir: Path, log: Callable[[str], None] = print) -> RunSummary:
    summary = RunSummary(model_name)
    for number, spec in enumerate(specs, 1):
        log(f"[{number}/{len(specs)}] {spec.name} ({spec.type}) ...")
        outcome = TaskOutcome(spec)
        started = time.perf_counter()
        try:
            splits = evaluate_task(spec, model, data_dirs)
            elapsed = time.perf_counter() - started
            info = model.describe(spec)
            if isinstance(getattr(model, "dimension", None), int):
                info.setdefault("embedding_dimension", model.dimension)
            outcome.path = write_result(output_dir, model_name, spec, splits, info, elapsed)
            outcome.main_scores = {split: r.scores[spec.main_metric] for split, r in splits.items()}
            shown = ", ".join(f"{split} {100 * s:.2f}" for split, s in outcome.main_scores.items())
            log(f"    {spec.main_metric}: {shown}  ({elapsed:.1f}s) -> {outcome.path}")
        except UserError as exc:
            outcome.error = str(exc)
            log(f"    FAILED: {exc}")
        summary.outcomes.append(outcome)
    return summary
