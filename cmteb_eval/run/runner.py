"""Running a list of tasks with one model: evaluate each, write its result file at once.

A task that fails is reported and the run goes on; completed results are never
lost. The caller turns a summary with failures into a non-zero exit. A task whose
result file is complete and was made with the same configuration is skipped
(see resume.py), so rerunning an interrupted command continues where it stopped.
With ``retry_fp32``, a task whose half-precision embeddings came out NaN is evaluated
again with a float32 copy of the embedder (``models/precision.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ..data.checks import check_finite_scores
from ..errors import EmbeddingError, TaskCardError, UserError
from ..evaluators.base import RunOptions, SplitResult, evaluator_for
from ..models.pair import ModelPair
from ..models.progress import METER, duration
from ..models.encoders.precision import Fp32Fallback, can_retry
from ..results.naming import model_folder, result_file
from ..results.owner import check_owner, model_identity
from ..results.write import ResultWriteError, save_predictions, write_result
from ..tasks.card import TaskSpec
from ..tasks.types import TYPES
from . import resume
from .config import model_info, run_config


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


def evaluate_task(spec: TaskSpec, model: Any, data_dirs: Sequence[str | Path],
                  options: RunOptions | None = None) -> dict[str, SplitResult]:
    """Every eval split of ``spec``: ``model`` is a ModelPair or one bare model (an Embedder, or a
    cross-encoder); the evaluator gets the pair or its embedder, as the type table says (``takes``)."""
    models, options = ModelPair.of(model), options or RunOptions()
    evaluate = evaluator_for(spec)
    subject = models if TYPES[spec.type].takes == "pair" else models.require_embedder(spec)
    splits = {split: evaluate(spec, split, data_dirs, subject, options) for split in spec.eval_splits}
    for split, result in splits.items():
        if spec.main_metric not in result.scores:
            raise TaskCardError(
                f"Task {spec.name}: main_metric {spec.main_metric!r} (card {spec.card_path}) is not a metric "
                f"{spec.type} tasks report; they report {', '.join(sorted(result.scores))}.",
                "Fix main_metric in the card, or leave it out for the type's default.")
        check_finite_scores(result.scores, task=spec.name, split=split)
    return splits


def run_tasks(model: Any, model_name: str, specs: Sequence[TaskSpec], data_dirs: Sequence[str | Path],
              output_dir: Path, log: Callable[[str], None] = print, *, options: RunOptions | None = None,
              overwrite: bool = False, retry_fp32: bool = False, debug: bool = False, write: bool = True) -> RunSummary:
    """Evaluate ``specs`` in order with ``model`` (a ModelPair, or one bare model) under ``options``.
    ``write=False`` (a torchrun helper rank) reads the output folder to skip the same finished
    tasks as rank 0 but never changes or writes it."""
    models, options = ModelPair.of(model), options or RunOptions()
    summary = RunSummary(model_name)
    fallback = Fp32Fallback(models.embedder) if retry_fp32 and can_retry(models.embedder) else None
    if specs:  # a folder holds one model's results: refuse before anything is computed
        folder = model_folder(output_dir, model_name, models.describe(None))
        check_owner(folder, model_identity(models.describe(None)), model_name)
    if specs and write:
        resume.remove_stale_temp_files(model_folder(output_dir, model_name, models.describe(None)))
    for number, spec in enumerate(specs, 1):
        log(f"[{number}/{len(specs)}] {spec.name} ({spec.type}) ...")
        outcome = TaskOutcome(spec)
        METER.reset()
        started = time.perf_counter()
        try:
            info = model_info(models, options, spec)
            config = run_config(spec, info, data_dirs)
            outcome.path = result_file(output_dir, model_name, spec, info)
            if write:
                previous = resume.previous_result(outcome.path, spec, config, overwrite, log)
            else:
                found = None if overwrite else resume.inspect_result(outcome.path, spec, config)
                previous = found if found is not None and found.state == "complete" else None
            if previous is not None:
                outcome.skipped = True
                outcome.main_scores = previous.main_scores()
                log(f"    already done with this configuration, kept: {outcome.path}")
                if options.save_predictions:
                    log("    predictions: not saved for a kept result (rerun with --overwrite to save them)")
            else:
                try:
                    splits = evaluate_task(spec, models, data_dirs, options)
                except EmbeddingError as exc:
                    if fallback is None:
                        raise
                    log(f"    {exc.message} Retrying this task in float32 (--retry-fp32).")
                    twin = models.with_embedder(fallback.twin())
                    splits = evaluate_task(spec, twin, data_dirs, options)
                    info = dict(model_info(twin, options, spec), retried_in_fp32=True, requested_dtype=info["dtype"])
                elapsed = time.perf_counter() - started
                if models.dimension is not None:
                    info = {**info, "embedding_dimension": models.dimension}
                if not write:
                    outcome.main_scores = {split: r.scores[spec.main_metric] for split, r in splits.items()}
                    summary.outcomes.append(outcome)
                    continue
                timing = METER.as_dict(elapsed)
                outcome.path = write_result(output_dir, model_name, spec, splits, info, elapsed, config, timing)
                if options.save_predictions:
                    log(f"    predictions: {save_predictions(options.save_predictions, spec, splits, model_name, info)}")
                outcome.main_scores = {split: r.scores[spec.main_metric] for split, r in splits.items()}
                shown = ", ".join(f"{split} {100 * s:.2f}" for split, s in outcome.main_scores.items())
                log(f"    {spec.main_metric}: {shown}  ({timing_line(timing)}) -> {outcome.path}")
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


def timing_line(timing: dict) -> str:
    """'12s: encode 8s, scoring 1s; 300 cached' from a result's harness timing block."""
    parts = [f"encode {duration(timing['encode_seconds'])}"]
    if timing["scoring_seconds"] >= 0.05:
        parts.append(f"scoring {duration(timing['scoring_seconds'])}")
    cached = f"; {timing['cache_hits']} vector(s) from the cache" if timing["cache_hits"] else ""
    return f"{duration(timing['total_seconds'])}: {', '.join(parts)}{cached}"
