"""``cmteb-eval card``: one model's results as a Hugging Face model card's metadata and tables.

The ``model-index`` block is the one the BGE model cards carry (mteb 1.x's ``create_meta``, which
the Hub renders as "map on MTEB CMedQAv1 test set 81.272"): one result per task, split and subset,
``task.type`` = the mteb task type, ``dataset.type`` = the hub id, ``dataset.name`` = ``MTEB <mteb
name>`` for an MTEB task, else the card's name (the demo's), (`` (<subset>)`` for a language subset), ``config`` = the subset, ``split``, ``revision`` =
the dataset revision the file records ("None" when it records none), and every metric of the split
x100 (thresholds are no metrics: left out; ``main_score`` as the file holds it, mteb's main metric, as
newer mteb cards list it). It is built with ``huggingface_hub``'s ``EvalResult``/``ModelCardData``,
so it reads back through ``metadata_load`` and ``model_index_to_eval_results``. NaN never appears
(foreign files' NaN metrics are dropped when read, ``results/foreign.py``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ...errors import UserError
from ...results.read import read_result
from ...tasks.aliases import mteb_name
from ..scores import ModelScores, task_types

_NOT_METRICS = {"hf_subset", "languages", "evaluation_time", "mteb_version"}


def _entry(payload: dict[str, Any], split: str, subset: str | None) -> dict[str, Any] | None:
    for entry in payload.get("scores", {}).get(split) or []:
        if isinstance(entry, dict) and (subset is None or entry.get("hf_subset", "default") == subset):
            return entry
    return None


def _is_mteb_task(spec, registry, foreign: bool) -> bool:
    """A card of an MTEB task: a file mteb wrote, or a card of a built-in benchmark other than the demo."""
    if foreign:
        return True
    if registry is None:
        return spec.dataset.local_dir is None
    return any(spec.name in bench.tasks for key, bench in registry.benchmarks.items() if key != "demo")


def eval_results(model: ModelScores, registry=None) -> list:
    """``huggingface_hub.EvalResult`` objects for every task and split of ``model``."""
    from huggingface_hub import EvalResult

    specs = registry.tasks if registry is not None else {}
    types = task_types([model], registry)
    results = []
    for task in sorted(model.tasks):
        score = model.tasks[task]
        spec = specs.get(task)
        payload = read_result(score.source)
        harness = payload.get("harness") if isinstance(payload.get("harness"), dict) else {}
        hub_id = (harness.get("dataset") or {}).get("hub_id") or (spec.dataset.hub_id if spec else None)
        subset = score.subset or "default"
        if spec is None or _is_mteb_task(spec, registry, score.foreign):
            name = f"MTEB {mteb_name(spec) if spec else payload.get('task_name', task)}"
        else:  # a demo or user task is no MTEB task: named as it is
            name = spec.name
        name += "" if subset == "default" else f" ({subset})"
        for split in score.splits:
            entry = _entry(payload, split, score.subset)
            if entry is None:
                continue
            metrics = [(k, v) for k, v in entry.items() if k not in _NOT_METRICS and "threshold" not in k
                       and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
            for metric, value in metrics:
                results.append(EvalResult(
                    task_type=types.get(task) or "Unknown", dataset_type=hub_id or task, dataset_name=name,
                    dataset_config=subset, dataset_split=split,
                    dataset_revision=score.dataset_revision or "None", metric_type=metric,
                    metric_value=100.0 * float(value)))
    if not results:
        raise UserError(f"{model.source} holds no scores to put on a model card.", "Pass a folder of result files.")
    return results


def card_text(model: ModelScores, tables_markdown: str, registry=None, model_name: str | None = None) -> str:
    """The whole card: YAML front matter (model-index, ``tags: [mteb]``) and the Markdown tables."""
    from huggingface_hub import ModelCardData

    name = model_name or model.name
    data = ModelCardData(model_name=name, eval_results=eval_results(model, registry), tags=["mteb"])
    return (f"---\n{data.to_yaml()}\n---\n\n# {name}\n\n## Evaluation results\n\n"
            f"Main scores x100 (cmteb-eval). The `model-index` above lists every metric of every split.\n\n"
            f"{tables_markdown.strip()}\n")


def write_card(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path``; an existing card keeps its body and gets the new metadata."""
    from huggingface_hub import metadata_load, metadata_save
    import yaml

    path = Path(path)
    if path.exists():
        new = yaml.safe_load(text.split("---\n")[1])
        old = metadata_load(path) or {}
        metadata_save(path, {**old, **new, "tags": sorted(set(old.get("tags") or []) | {"mteb"})})
    else:
        from ..outputs import write_text

        write_text(path, text)  # its folder made; a folder or full disk named, never a traceback
