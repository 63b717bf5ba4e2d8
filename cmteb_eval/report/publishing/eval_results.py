"""Hugging Face's ``.eval_results/*.yaml`` files (``cmteb-eval card --eval-results``): the format mteb 2.9+
writes with ``ModelMeta.push_eval_results`` (``mteb/results/task_result.py``, ``_to_hf_benchmark_result``),
built and read back with huggingface_hub's ``EvalResultEntry`` (``eval_result_entries_to_yaml``,
``parse_eval_result_entries``).

As mteb writes them: one file per task, ``<mteb task name>.yaml``, holding one entry per split and
subset (``dataset.task_id`` = ``<task>_<subset>_<split>``, ``value`` = the main score x100 rounded to 5
decimals, ``dataset.id`` and ``dataset.revision`` = the dataset the scores were made on) and, when
every split of the card was evaluated, the task's overall score (``task_id`` = the task name: the mean
of its splits' main scores, as mteb's ``TaskResult.get_score``); and one file per benchmark whose every
task the model has, ``<benchmark's mteb name>.yaml``, with the mean over its tasks. The notes say
which tool made the numbers (a file cmteb-eval did not write says so).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import UserError
from ...results.read import read_result
from ...tasks.aliases import mteb_name
from ...version import VERSION
from ..averages import average
from ..scores import ModelScores


def _notes(payload: dict[str, Any], foreign: bool) -> str:
    if foreign:
        return f"Obtained using mteb v{payload.get('mteb_version')} (a file read by cmteb-eval {VERSION}, not verified)"
    harness = payload.get("harness") or {}
    return f"Obtained using cmteb-eval {VERSION}; protocol: {harness.get('protocol') or 'not recorded'}"


def _date(payload: dict[str, Any]) -> str | None:
    finished = (payload.get("harness") or {}).get("finished_at") if isinstance(payload.get("harness"), dict) else None
    return str(finished) if finished else None


def eval_result_files(model: ModelScores, registry) -> dict[str, list]:
    """``{file name: [EvalResultEntry, ...]}`` for every task of ``model`` and every benchmark it completes."""
    from huggingface_hub import EvalResultEntry

    files: dict[str, list] = {}
    overall: dict[str, float] = {}
    for task in sorted(model.tasks):
        score = model.tasks[task]
        spec = registry.tasks.get(task) if registry is not None else None
        payload = read_result(score.source)
        name = mteb_name(spec) if spec else str(payload.get("task_name") or task)
        harness = payload.get("harness") if isinstance(payload.get("harness"), dict) else {}
        dataset_id = (harness.get("dataset") or {}).get("hub_id") or (spec.dataset.hub_id if spec else None) or name
        subset = score.subset or "default"
        common = {"dataset_id": dataset_id, "dataset_revision": score.dataset_revision,
                  "notes": _notes(payload, score.foreign), "date": _date(payload)}
        entries = [EvalResultEntry(task_id=f"{name}_{subset}_{split}", value=round(value, 5), **common)
                   for split, value in score.splits.items()]
        if spec is None or set(score.splits) >= set(spec.eval_splits):  # every split: the task's own score
            overall[task] = sum(score.splits.values()) / len(score.splits)
            entries.append(EvalResultEntry(task_id=name, value=round(overall[task], 5), **common))
        files[f"{name}.yaml"] = entries
    if registry is not None:
        for bench in registry.benchmarks.values():
            mean = average(overall, list(bench.tasks))
            if bench.mteb_names and mean.complete:
                files[f"{bench.mteb_names[0]}.yaml"] = [EvalResultEntry(
                    dataset_id=bench.mteb_names[0], task_id=bench.mteb_names[0], value=round(mean.value, 5),
                    notes=f"Mean over the {mean.total} tasks (cmteb-eval {VERSION}, benchmark {bench.name})")]
    if not files:
        raise UserError(f"{model.source} holds no scores for .eval_results files.", "Pass a folder of result files.")
    return files


def write_eval_results(model: ModelScores, registry, folder: str | Path) -> list[Path]:
    """Write the files of ``eval_result_files`` into ``folder`` (``.../.eval_results``); their paths."""
    import yaml
    from huggingface_hub import eval_result_entries_to_yaml

    from ..outputs import write_text

    written = []
    for name, entries in eval_result_files(model, registry).items():
        path = Path(folder) / name
        write_text(path, yaml.safe_dump(eval_result_entries_to_yaml(entries), sort_keys=False, allow_unicode=True))
        written.append(path)
    return written
