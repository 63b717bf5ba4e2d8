"""The Python API: evaluate a model held in memory (or a folder or hub id) from Python::

    import cmteb_eval
    results = cmteb_eval.evaluate(model, tasks=["STSB", "T2Reranking"], data_dirs=["shared/data/cmteb"])
    results.main_scores()   # {"STSB": {"test": 0.378...}, ...} (fractions, as in result files)

``model``: a ``SentenceTransformer``, a sentence-transformers ``CrossEncoder`` (evaluated as the
reranker), an mteb encoder, one of our loaded models, a model folder or hub id, or any object with
``encode(list[str]) -> array`` (``models/in_memory.py``); ``reranker=``: a cross-encoder that reranks
the model's results (retrieve, then rerank). Task names may be ours or mteb's, benchmark names too
(``tasks/selection.py``, through ``tasks/aliases.py``).

Never a stale result: each call identifies the model anew by a SHA-256 of its weights and the
settings of every module in memory (``models/adapters/memory_identity.py``), or by ``identity=``,
which the caller must change when the model changes; a model given no name is named by its class and
a short identity (``in-memory-SentenceTransformer-1a2b3c4d``), and a name another identity already
owns in ``output_dir`` is refused. A SentenceTransformer still equal to the folder it was loaded
from is evaluated as that folder (as ``cmteb-eval run --model FOLDER``), so it resumes the CLI's
results. With ``output_dir``,
results are written as ``cmteb-eval run`` writes them, and a task already done with the same
configuration (model identity included) is kept, not recomputed; a model with no identity (no
weights we can read, no ``identity=``) is always recomputed. With ``cache_dir=`` the embedding
cache is used, keyed by that identity (a SentenceTransformer in memory, or a model given by
folder or hub id); without an identity, never.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .errors import UserError
from .evaluators.base import RunOptions, SplitResult
from .models.adapters.in_memory import adapt_embedder, cross_encoder_from, is_st_cross_encoder
from .models.adapters.memory_identity import folder_equal_to
from .models.pair import ModelPair
from .results.naming import model_folder, result_file, safe_name
from .results.owner import check_owner, model_identity
from .results.write import copy_result, write_result
from .run import resume
from .run.config import model_info, run_config
from .run.runner import evaluate_task
from .run.setup import DEFAULT_MODEL_NAME, ModelRequest, is_packaged, load_models
from .tasks.selection import select_by_any_name
from .tasks.card import TaskSpec
from .tasks.registry import Registry

RUN_OPTIONS = tuple(f.name for f in dataclasses.fields(RunOptions))
LOAD_OPTIONS = ("revision", "device", "dtype", "batch_size", "use_instruction", "query_instruction", "pooling",
                "normalize", "max_length", "trust_remote_code", "backend", "max_batch_tokens", "sigmoid")


@dataclass
class TaskResult:
    spec: TaskSpec
    splits: dict[str, SplitResult]
    info: dict[str, Any]
    config: dict[str, Any]
    elapsed: float
    path: Path | None = None  # the result file, when written
    reused: bool = False  # read back from output_dir (same configuration), not recomputed


@dataclass
class Results:
    """What ``evaluate`` returns: per task and split, the scores (fractions) and how they were made."""

    model_name: str
    tasks: list[TaskResult] = field(default_factory=list)

    def main_scores(self) -> dict[str, dict[str, float]]:
        """{task: {split: main score}}."""
        return {t.spec.name: {split: r.scores[t.spec.main_metric] for split, r in t.splits.items()}
                for t in self.tasks}

    def metrics(self) -> dict[str, dict[str, dict[str, float]]]:
        """{task: {split: {metric: value}}}: every metric the task's type reports."""
        return {t.spec.name: {split: dict(r.scores) for split, r in t.splits.items()} for t in self.tasks}

    def __getitem__(self, task: str) -> dict[str, dict[str, float]]:
        return self.metrics()[task]

    def to_dataframe(self):
        """One row per task, split and metric (pandas)."""
        import pandas as pd

        rows = [{"model": self.model_name, "task": t.spec.name, "type": t.spec.type, "split": split,
                 "metric": metric, "value": value, "main": metric == t.spec.main_metric}
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
        return [copy_result(t.path, output_dir, self.model_name, t.spec, t.info) if t.reused and t.path
                else write_result(output_dir, self.model_name, t.spec, t.splits, t.info, t.elapsed, t.config)
                for t in self.tasks]


def _models(model: Any, reranker: Any, model_name: str | None, identity: str | None,
            reranker_identity: str | None, load: dict[str, Any], cache_dir: str | None,
            log: Callable[[str], Any]) -> tuple[ModelPair, str, bool]:
    """The pair to evaluate, its results name, and whether every model in it has an identity."""
    if model is None and reranker is None:
        raise UserError("evaluate() was given no model.", "Pass model= (and/or reranker=).")
    if isinstance(model, ModelPair) and reranker is None:  # ours: an embedder and/or a cross-encoder
        model, reranker = model.embedder, model.reranker
    is_scorer = is_st_cross_encoder(model) or (hasattr(model, "score_pairs") and not hasattr(model, "encode"))
    if is_scorer and reranker is None:  # a cross-encoder alone is the reranker
        model, reranker, reranker_identity = None, model, identity
    folder = folder_equal_to(model) if identity is None and not isinstance(model, (str, Path, type(None))) else None
    if folder is not None:  # the folder's model, unchanged: evaluated (and named) as `cmteb-eval run --model` does
        log(f"The model in memory equals the folder it was loaded from ({folder}): evaluated as that folder.")
        model, model_name = str(folder), model_name or (DEFAULT_MODEL_NAME if is_packaged(folder) else None)
    model_path = str(model) if isinstance(model, (str, Path)) else None
    reranker_path = str(reranker) if isinstance(reranker, (str, Path)) else None
    embedder = scorer = None
    request = ModelRequest(model=model_path, reranker=reranker_path, model_name=model_name, **load)
    if model_path or reranker_path:  # loaded as `cmteb-eval run` loads them
        from .models.cache.store import EmbeddingCache

        loaded, _ = load_models(request, request.device, EmbeddingCache(cache_dir) if cache_dir else None, log=log)
        embedder, scorer = loaded.embedder, loaded.reranker
    if model is not None and model_path is None:
        embedder = _in_memory_embedder(model, model_name, identity, load)
        if cache_dir and hasattr(embedder, "cached"):
            from .models.cache.store import EmbeddingCache

            embedder.cache = EmbeddingCache(cache_dir)
    if reranker is not None and reranker_path is None:
        scorer = _in_memory_reranker(reranker, reranker_identity, load)
    first = (request.embedder_source()[1] if model_path else getattr(embedder, "name", None)
             or type(model).__name__) if embedder is not None else None
    second = reranker_path or getattr(scorer, "model_id", None)
    name = model_name or (second if first is None else first if scorer is None
                          else f"{safe_name(first)}__rerank__{safe_name(second)}")
    # our adapters of objects in memory say whether they have an identity; models loaded from files have one
    stable = all(getattr(m, "stable", True) for m in (embedder, scorer) if m is not None)
    return ModelPair(embedder, scorer), str(name), stable


def _in_memory_embedder(model: Any, model_name: str | None, identity: str | None, load: dict[str, Any]):
    if hasattr(model, "describe") and hasattr(model, "encode"):  # one of our embedders
        return model
    return adapt_embedder(model, model_name, identity, load.get("batch_size"), load.get("use_instruction", True))


def _in_memory_reranker(reranker: Any, identity: str | None, load: dict[str, Any]):
    if hasattr(reranker, "score_pairs") and hasattr(reranker, "describe"):  # one of ours
        return reranker
    if not is_st_cross_encoder(reranker):
        raise UserError(f"reranker= takes a sentence-transformers CrossEncoder, one of our rerankers, or a folder or "
                        f"hub id; got {type(reranker).__name__}.", "Pass a CrossEncoder.")
    return cross_encoder_from(reranker, None, identity,
                              load.get("batch_size") or 32, load.get("sigmoid", False))


def _as_list(value: Any, parameter: str) -> list:
    """One path given as a string is a list of one; anything else not a list of paths is refused by name."""
    if isinstance(value, (str, Path)):
        return [value]
    if value is None:
        return []
    try:
        items = list(value)
    except TypeError:
        items = None
    if items is None or not all(isinstance(item, (str, Path)) for item in items):
        raise UserError(f"evaluate()'s {parameter} takes a path or a list of paths; got {type(value).__name__}.",
                        f"Pass {parameter}=['path', ...].")
    return items


def evaluate(model: Any = None, tasks: Sequence[Any] = (), data_dirs: Sequence[str | Path] = (),
             output_dir: str | Path | None = None, reranker: Any = None, *, model_name: str | None = None,
             identity: str | None = None, reranker_identity: str | None = None, task_files: Sequence[str] = (),
             overwrite: bool = False, cache_dir: str | None = None, log: Callable[[str], Any] | None = None,
             **run_options: Any) -> Results:
    """Evaluate ``model`` (and ``reranker``) on ``tasks``; see the module docstring. ``run_options``:
    the run's options (protocol, top_k, rerank_top_k) and, for models given by folder or hub id, how
    to load them (as ``cmteb-eval run``'s options: device, dtype, batch_size, pooling, max_length, ...)."""
    unknown = sorted(set(run_options) - set(RUN_OPTIONS) - set(LOAD_OPTIONS))
    if unknown:
        raise UserError(f"evaluate() got unknown option(s) {', '.join(unknown)}.",
                        f"Accepted: {', '.join(RUN_OPTIONS + LOAD_OPTIONS)}.")
    if isinstance(tasks, str) or not tasks:
        raise UserError("evaluate() needs a list of task or benchmark names.", "Pass tasks=['STSB', ...].")
    task_files, data_dirs = _as_list(task_files, "task_files"), _as_list(data_dirs, "data_dirs")
    log = log or (lambda line: None)
    options = RunOptions(**{k: v for k, v in run_options.items() if k in RUN_OPTIONS})
    load = {k: v for k, v in run_options.items() if k in LOAD_OPTIONS}
    specs = select_by_any_name(Registry.load(list(task_files)), tasks)
    pair, name, stable = _models(model, reranker, model_name, identity, reranker_identity, load, cache_dir, log)
    results = Results(name)
    out = Path(output_dir) if output_dir is not None else None
    if out is not None:
        resume.check_output_dir(out)
        check_owner(model_folder(out, name, pair.describe(None)), model_identity(pair.describe(None)), name)
    for spec in specs:
        started = time.perf_counter()
        info = model_info(pair, options, spec)
        config = run_config(spec, info, data_dirs)
        path = result_file(out, name, spec, info) if out is not None else None
        previous = resume.previous_result(path, spec, config, overwrite or not stable, log) \
            if path is not None else None
        if previous is not None:
            splits = {split: SplitResult(scores={k: v for k, v in entries[0].items()
                                                 if isinstance(v, float) and k != "main_score"},
                                         source=str(path), protocol=config["protocol"])
                      for split, entries in previous.payload["scores"].items()}
            results.tasks.append(TaskResult(spec, splits, info, config, 0.0, path, reused=True))
            continue
        splits = evaluate_task(spec, pair, data_dirs, options)
        if pair.dimension is not None:
            info = {**info, "embedding_dimension": pair.dimension}
        elapsed = time.perf_counter() - started
        task = TaskResult(spec, splits, info, config, elapsed)
        if out is not None:
            task.path = write_result(out, name, spec, splits, info, elapsed, config)
        results.tasks.append(task)
    return results
