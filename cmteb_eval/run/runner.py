"""Running a list of tasks with one model: evaluate each, write its result file at once.

A task that fails is reported and the run goes on; completed results are never
lost. The caller turns a summary with failures into a non-zero exit. A task whose
result file is complete and was made with the same configuration is skipped
(see resume.py), so rerunning an interrupted command continues where it stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

from ..results import owner as model_folder
from . import resume
from ..errors import EmbeddingError, TaskCardError, UserError
from ..evaluators import evaluator_for
from ..evaluators.base import SplitResult
from ..models.pair import EvaluatedModel
from ..models.precision import Fp32Fallback, can_retry
from ..models.protocol import Embedder
from ..results.write import ResultWriteError, result_path, write_result
from ..tasks.card import TaskSpec
from ..data.checks import check_finite_scores


@dataclass
class TaskOutcome:
    task: TaskSpec
    path: Path | None = None
    main_scores: dict[str, float] = field(default_factory=dict)  # split -> main score
    error: str | None = None
    skipped: bool = False  # a complete result with this configuration was already on disk


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
    splits = {split: evaluate(spec, split, data_dirs, model) for split in spec.eval_splits}
    for split, result in splits.items():
        if spec.main_metric not in result.scores:
            raise TaskCardError(
                f"Task {spec.name}: main_metric {spec.main_metric!r} (card {spec.card_path}) is not a metric "
                f"{spec.type} tasks report; they report {', '.join(sorted(result.scores))}.",
                "Fix main_metric in the card, or leave it out for the type's default.")
        check_finite_scores(result.scores, task=spec.name, split=split)
    return splits


def _fp32_fallback(model) -> Fp32Fallback | None:
    """A float32 twin maker for the run's embedder (bare, or inside an EvaluatedModel)."""
    embedder = getattr(model, "embedder", model)
    return Fp32Fallback(embedder) if can_retry(embedder) else None


def _with_embedder(model, embedder):
    return replace(model, embedder=embedder) if isinstance(model, EvaluatedModel) else embedder


def run_tasks(model: Embedder, model_name: str, specs: Sequence[TaskSpec], data_dirs: Sequence[str | Path],
              output_dir: Path, log: Callable[[str], None] = print, *, overwrite: bool = False,
              retry_fp32: bool = False, debug: bool = False, write: bool = True) -> RunSummary:
    """Evaluate ``specs`` in order. ``write=False`` (a torchrun helper rank) reads the output
    folder to skip the same finished tasks as rank 0 but never changes or writes it."""
    summary = RunSummary(model_name)
    fallback = _fp32_fallback(model) if retry_fp32 else None
    if specs:  # a folder holds one model's results: refuse before anything is computed
        folder = result_path(output_dir, model_name, specs[0].name).parent
        model_folder.check_owner(folder, model_folder.model_identity(model.describe(None)), model_name)
    if specs and write:
        resume.remove_stale_temp_files(result_path(output_dir, model_name, specs[0].name).parent)
    for number, spec in enumerate(specs, 1):
        log(f"[{number}/{len(specs)}] {spec.name} ({spec.type}) ...")
        outcome = TaskOutcome(spec)
        started = time.perf_counter()
        try:
            info = model.describe(spec)
            config = resume.run_config(spec, info, data_dirs)
            outcome.path = result_path(output_dir, model_name, spec.name)
            if write:
                previous = resume.previous_result(outcome.path, spec, config, overwrite, log)
            else:
                found = None if overwrite else resume.inspect_result(outcome.path, spec, config)
                previous = found if found is not None and found.state == "complete" else None
            if previous is not None:
                outcome.skipped = True
                outcome.main_scores = previous.main_scores()
                log(f"    already done with this configuration, kept: {outcome.path}")
            else:
                try:
                    splits = evaluate_task(spec, model, data_dirs)
                except EmbeddingError as exc:
                    if fallback is None:
                        raise
                    log(f"    {exc.message} Retrying this task in float32 (--retry-fp32).")
                    twin = _with_embedder(model, fallback.twin())
                    splits = evaluate_task(spec, twin, data_dirs)
                    info = dict(twin.describe(spec), retried_in_fp32=True, requested_dtype=model.describe(spec)["dtype"])
                elapsed = time.perf_counter() - started
                dimension = getattr(getattr(model, "embedder", model), "dimension", None)
                if isinstance(dimension, int):
                    info = {**info, "embedding_dimension": dimension}
                if not write:
                    outcome.main_scores = {split: r.scores[spec.main_metric] for split, r in splits.items()}
                    summary.outcomes.append(outcome)
                    continue
                outcome.path = write_result(output_dir, model_name, spec, splits, info, elapsed, config)
                outcome.main_scores = {split: r.scores[spec.main_metric] for split, r in splits.items()}
                shown = ", ".join(f"{split} {100 * s:.2f}" for split, s in outcome.main_scores.items())
                log(f"    {spec.main_metric}: {shown}  ({elapsed:.1f}s) -> {outcome.path}")
        except ResultWriteError as exc:  # a full disk fails every later task too: stop here
            outcome.error = str(exc)
            log(f"    FAILED: {exc}")
            done = len(summary.completed)
            raise ResultWriteError(exc.message, exc.hint.replace(
                "results written before this one are kept", f"the {done} result(s) finished before it are kept")) \
                from None
        except UserError as exc:
            outcome.error = str(exc)
            log(f"    FAILED: {exc}")
        except KeyboardInterrupt:
            done = [o.task.name for o in summary.completed]
            log(f"    interrupted during {spec.name}; {len(done)} task(s) finished before it are kept"
                + (f" in {outcome.path.parent}" if outcome.path else "") + ".")
            raise
        except Exception as exc:  # an out-of-memory or a bug must not cost the other tasks
            if debug:
                raise
            outcome.error = (f"unexpected {type(exc).__name__}: {str(exc)[:300]} "
                             f"(rerun with --debug for the traceback).")
            log(f"    FAILED: {outcome.error}")
        summary.outcomes.append(outcome)
    return summary
