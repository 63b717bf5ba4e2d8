"""Running a list of tasks with one model: evaluate each, write its result file at once. This is
the one run loop: ``cmteb-eval run`` and the Python API (``cmteb_eval.evaluate``) both call
``run_tasks``; what differs between them (where the models come from, whether errors propagate,
whether anything is written or logged) is a parameter of it.

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
from ..results.write import ResultWriteError, copy_result, save_predictions, write_result
from ..tasks.card import TaskSpec
from ..tasks.types import TYPES
from . import resume
from .config import model_info, run_config


@dataclass
class TaskOutcome:
    task: TaskSpec
    path: Path | None = None  # the result file: written, kept, or (not written) where it would go
    main_scores: dict[str, float] = field(default_factory=dict)  # split -> main score
    error: str | None = None
    skipped: bool = False  # a complete result with this configuration was already on disk, and kept
    splits: dict[str, SplitResult] = field(default_factory=dict)  # every metric per split
    info: dict[str, Any] = field(default_factory=dict)  # what the result records about the models
    config: dict[str, Any] = field(default_factory=dict)  # the task's configuration (config.py)
    elapsed: float = 0.0
    timing: dict[str, Any] | None = None  # encode and scoring time apart (models/progress.Meter)

    @property
    def spec(self) -> TaskSpec:  # the Python API's name for ``task``
        return self.task

    @property
    def reused(self) -> bool:  # the Python API's name for ``skipped``
        return self.skipped


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

    @property
    def tasks(self) -> list[TaskOutcome]:
        """The completed tasks, in order (the Python API's name)."""
        return self.completed

    def main_scores(self) -> dict[str, dict[str, float]]:
        """{task: {split: main score}} (fractions, as in result files)."""
        return {t.task.name: dict(t.main_scores) for t in self.tasks}

    def metrics(self) -> dict[str, dict[str, dict[str, float]]]:
        """{task: {split: {metric: value}}}: every metric the task's type reports."""
        return {t.task.name: {split: dict(r.scores) for split, r in t.splits.items()} for t in self.tasks}

    def __getitem__(self, task: str) -> dict[str, dict[str, float]]:
        return self.metrics()[task]

    def to_dataframe(self):
        """One row per task, split and metric (pandas)."""
        import pandas as pd

        rows = [{"model": self.model_name, "task": t.task.name, "type": t.task.type, "split": split,
                 "metric": metric, "value": value, "main": metric == t.task.main_metric}
                for t in self.tasks for split, r in t.splits.items() for metric, value in r.scores.items()]
        return pd.DataFrame(rows, columns=["model", "task", "type", "split", "metric", "value", "main"])

    def save(self, output_dir: str | Path) -> list[Path]:
        """Write the result files ``cmteb-eval run`` writes (``<dir>/<model>/<revision>/<Task>.json``,
        model_meta.json and the per-item files); a result reused from a file is saved as that file
        (with its per-item file, timing and provenance), never rewritten from its scores."""
        output_dir = Path(output_dir)
        if self.tasks:
            folder = model_folder(output_dir, self.model_name, self.tasks[0].info)
            check_owner(folder, model_identity(self.tasks[0].info), self.model_name)
        return [copy_result(t.path, output_dir, self.model_name, t.task, t.info) if t.reused and t.path
                else write_result(output_dir, self.model_name, t.task, t.splits, t.info, t.elapsed, t.config, t.timing)
                for t in self.tasks]


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
              output_dir: Path | None, log: Callable[[str], None] = print, *, options: RunOptions | None = None,
              overwrite: bool = False, retry_fp32: bool = False, debug: bool = False, write: bool = True,
              raise_errors: bool = False) -> RunSummary:
    """The one run loop, of ``cmteb-eval run`` and of ``cmteb_eval.evaluate``: evaluate ``specs`` in order
    with ``model`` (a ModelPair, or one bare model) under ``options``, write each result at once, and
    return every task's split results (``RunSummary``, also the Python API's ``Results``).

    ``output_dir`` None: nothing is read or written (the Python API without ``output_dir``).
    ``write=False`` (a torchrun helper rank) reads the output folder to skip the same finished tasks
    as rank 0 but never changes or writes it. ``raise_errors``: a task's error propagates (the Python
    API) instead of being recorded while the run goes on (the command line). A model with no identity
    (a model in memory with no weights we can read and no ``identity=``) is always recomputed."""
    models, options = ModelPair.of(model), options or RunOptions()
    summary = RunSummary(model_name)
    fallback = Fp32Fallback(models.embedder) if retry_fp32 and can_retry(models.embedder) else None
    reuse = not overwrite and all(getattr(m, "stable", True) for m in (models.embedder, models.reranker)
                                  if m is not None)
    if specs and output_dir is not None:  # a folder holds one model's results: refuse before anything is computed
        folder = model_folder(output_dir, model_name, models.describe(None))
        check_owner(folder, model_identity(models.describe(None)), model_name)
        if write:
            resume.remove_stale_temp_files(folder)
    for number, spec in enumerate(specs, 1):
        log(f"[{number}/{len(specs)}] {spec.name} ({spec.type}) ...")
        outcome = TaskOutcome(spec)
        METER.reset()
        started = time.perf_counter()
        try:
            outcome.info = model_info(models, options, spec)
            outcome.config = run_config(spec, outcome.info, data_dirs)
            previous = None
            if output_dir is not None:
                outcome.path = result_file(output_dir, model_name, spec, outcome.info)
                previous = _kept_result(outcome.path, spec, outcome.config, reuse, write, log)
            if previous is not None:
                outcome.skipped = True
                outcome.main_scores = previous.main_scores()
                outcome.splits = previous.splits(outcome.path, outcome.config["protocol"])
                log(f"    already done with this configuration, kept: {outcome.path}")
                if options.save_predictions:
                    log("    predictions: not saved for a kept result (rerun with --overwrite to save them)")
            else:
                outcome.splits, info = _evaluate(spec, models, data_dirs, options, fallback, outcome.info, log)
                outcome.elapsed = time.perf_counter() - started
                outcome.info = {**info, "embedding_dimension": models.dimension} \
                    if models.dimension is not None else info
                outcome.main_scores = {split: r.scores[spec.main_metric] for split, r in outcome.splits.items()}
                outcome.timing = METER.as_dict(outcome.elapsed)
                if output_dir is not None and write:
                    outcome.path = write_result(output_dir, model_name, spec, outcome.splits, outcome.info,
                                                outcome.elapsed, outcome.config, outcome.timing)
                    if options.save_predictions:
                        log(f"    predictions: "
                            f"{save_predictions(options.save_predictions, spec, outcome.splits, model_name, outcome.info)}")
                    shown = ", ".join(f"{split} {100 * s:.2f}" for split, s in outcome.main_scores.items())
                    log(f"    {spec.main_metric}: {shown}  ({timing_line(outcome.timing)}) -> {outcome.path}")
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
            if raise_errors:
                raise
        except KeyboardInterrupt:
            done = [o.task.name for o in summary.completed]
            log(f"    interrupted during {spec.name}; {len(done)} task(s) finished before it are kept"
                + (f" in {outcome.path.parent}" if outcome.path else "") + ".")
            raise
        except Exception as exc:  # an out-of-memory or a bug must not cost the other tasks
            if debug or raise_errors:
                raise
            outcome.error = (f"unexpected {type(exc).__name__}: {str(exc)[:300]} "
                             f"(rerun with --debug for the traceback).")
            log(f"    FAILED: {outcome.error}")
        summary.outcomes.append(outcome)
    return summary


def _kept_result(path: Path, spec: TaskSpec, config: dict[str, Any], reuse: bool, write: bool,
                 log: Callable[[str], None]) -> resume.Existing | None:
    """The complete result on disk to keep instead of evaluating (``resume.py``); a helper rank
    (``write=False``) only reads, never sets a damaged file aside."""
    if write:
        return resume.previous_result(path, spec, config, not reuse, log)
    found = resume.inspect_result(path, spec, config) if reuse else None
    return found if found is not None and found.state == "complete" else None


def _evaluate(spec: TaskSpec, models: ModelPair, data_dirs: Sequence[str | Path], options: RunOptions,
              fallback: Fp32Fallback | None, info: dict[str, Any],
              log: Callable[[str], None]) -> tuple[dict[str, SplitResult], dict[str, Any]]:
    """The task's split results and the model info to record; with ``fallback`` (``--retry-fp32``), NaN
    embeddings in half precision are retried with a float32 copy of the embedder."""
    try:
        return evaluate_task(spec, models, data_dirs, options), info
    except EmbeddingError as exc:
        if fallback is None:
            raise
        log(f"    {exc.message} Retrying this task in float32 (--retry-fp32).")
        twin = models.with_embedder(fallback.twin())
        splits = evaluate_task(spec, twin, data_dirs, options)
        return splits, dict(model_info(twin, options, spec), retried_in_fp32=True, requested_dtype=info["dtype"])


def timing_line(timing: dict) -> str:
    """'12s: encode 8s, scoring 1s; 300 cached' from a result's harness timing block."""
    parts = [f"encode {duration(timing['encode_seconds'])}"]
    if timing["scoring_seconds"] >= 0.05:
        parts.append(f"scoring {duration(timing['scoring_seconds'])}")
    cached = f"; {timing['cache_hits']} vector(s) from the cache" if timing["cache_hits"] else ""
    return f"{duration(timing['total_seconds'])}: {', '.join(parts)}{cached}"
