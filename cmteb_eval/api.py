"""The Python API: evaluate a model held in memory (or a folder or hub id) from Python::

    import cmteb_eval
    results = cmteb_eval.evaluate(model, tasks=["STSB", "T2Reranking"], data_dirs=["shared/data/cmteb"])
    results.main_scores()   # {"STSB": {"test": 0.378...}, ...} (fractions, as in result files)

``model``: a ``SentenceTransformer``, a sentence-transformers ``CrossEncoder`` (evaluated as the
reranker), an mteb encoder, a FlagEmbedding FlagModel / FlagLLMModel / FlagICLModel / BGEM3FlagModel
(``models/adapters/flag_embedding.py``), one of our loaded models, a model folder or hub id, or any object with
``encode(list[str]) -> array`` (``models/adapters/in_memory.py``, through ``run/objects.py``), or the
URL of an embedding server (``api="openai"|"infinity"|"tei"``, ``api_key_env=``, ``concurrency=``: docs/served.md);
``reranker=``: a cross-encoder that reranks the model's results (retrieve, then rerank). Task names
may be ours or mteb's, benchmark names too (``tasks/selection.py``, through ``tasks/aliases.py``).

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
folder or hub id); without an identity, never. The tasks run in ``cmteb-eval run``'s own loop
(``run/runner.py``), so the files written and the rules of a run are the same.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Sequence

from .errors import UserError
from .evaluators.base import RunOptions
from .run.resume import check_output_dir
from .run.objects import models_from_objects, path_list
from .run.runner import RunSummary as Results  # what evaluate returns: main_scores(), save() ...
from .run.runner import run_tasks
from .run.setup import ModelRequest
from .tasks.registry import Registry
from .tasks.selection import select_by_any_name

RUN_OPTIONS = tuple(f.name for f in dataclasses.fields(RunOptions))
LOAD_OPTIONS = ("revision", "device", "dtype", "batch_size", "use_instruction", "query_instruction",
                "document_instruction", "prompts", "prompt_variant", "pooling",
                "normalize", "max_length", "trust_remote_code", "backend", "max_batch_tokens", "sigmoid",
                "ignore_remote_code", "retrieval_method", "hybrid_weights", "token_vectors_budget_mb",
                "cutoff_layers",
                "api", "api_key_env", "concurrency", "request_timeout", "max_retries", "batch_chars", "dimensions")


def evaluate(model: Any = None, tasks: Sequence[Any] = (), data_dirs: Sequence[str | Path] = (),
             output_dir: str | Path | None = None, reranker: Any = None, *, model_name: str | None = None,
             identity: str | None = None, reranker_identity: str | None = None, task_files: Sequence[str] = (),
             overwrite: bool = False, cache_dir: str | None = None, log: Callable[[str], Any] | None = None,
             **run_options: Any) -> Results:
    """Evaluate ``model`` (and ``reranker``) on ``tasks``; see the module docstring. ``run_options``:
    the run's options (protocol, top_k, rerank_top_k) and, for models given by folder or hub id, how
    to load them (as ``cmteb-eval run``'s options: device, dtype, batch_size, pooling, max_length, ...).
    The tasks run in ``cmteb-eval run``'s loop (``run/runner.py``); a task's error is raised."""
    unknown = sorted(set(run_options) - set(RUN_OPTIONS) - set(LOAD_OPTIONS))
    if unknown:
        raise UserError(f"evaluate() got unknown option(s) {', '.join(unknown)}.",
                        f"Accepted: {', '.join(RUN_OPTIONS + LOAD_OPTIONS)}.")
    if isinstance(tasks, str) or not tasks:
        raise UserError("evaluate() needs a list of task or benchmark names.", "Pass tasks=['STSB', ...].")
    task_files, data_dirs = path_list(task_files, "task_files"), path_list(data_dirs, "data_dirs")
    log = log or (lambda line: None)
    options = RunOptions(**{k: v for k, v in run_options.items() if k in RUN_OPTIONS})
    request = ModelRequest(model_name=model_name, prompts_source="prompts= (Python API)",
                           **{k: v for k, v in run_options.items() if k in LOAD_OPTIONS})
    specs = select_by_any_name(Registry.load(list(task_files)), tasks)
    out = Path(output_dir) if output_dir is not None else None
    if out is not None:
        check_output_dir(out)  # before the model loads
    models, name = models_from_objects(model, reranker, request, identity, reranker_identity, cache_dir, log)
    return run_tasks(models, name, specs, data_dirs, out, log, options=options, overwrite=overwrite,
                     raise_errors=True)
