"""Published reference scores shipped with the package (``published_reference.json``, read by
``published_data.py``).

Two kinds of facts, each with its source and protocol:

- per-task main scores of published models (the public MTEB results repository for the
  BGE embedders and all-MiniLM-L6-v2; the BGE model card's reranking table for the BGE
  rerankers), turned into ``ModelScores`` so tables and comparisons can use them beside
  the user's own runs;
- the rows of the BGE model card's MTEB, C-MTEB and reranking tables as printed
  (aggregates only), shown as-is and used to check that our averaging reproduces them.

A published score whose split or subset differs from our task card's (e.g. an English
AmazonReviews score filed under the name of the Chinese task) is not used in its column;
it is listed in the model's ``notes`` instead.
"""

from __future__ import annotations

from ...errors import UnknownNameError, close_matches
from ...tasks.registry import Registry
from .published_data import card_dimension, card_table, reference_data, source_title  # noqa: F401
from ..scores import ModelScores, TaskScore

# Names the published files use for tasks our registry names otherwise.
TASK_ALIASES = {"CMedQAv1-reranking": "CMedQAv1", "CMedQAv2-reranking": "CMedQAv2"}
PUBLISHED_PREFIX = "published:"


def published_model_names() -> list[str]:
    return list(reference_data()["models"])


def _registry():
    return Registry.load()


def published_model(name: str, registry=None) -> ModelScores:
    """A published model's per-task scores (x100) as ``ModelScores``; ``name`` is case-insensitive."""
    models = reference_data()["models"]
    key = {n.lower(): n for n in models}.get(name.lower().removeprefix(PUBLISHED_PREFIX))
    if key is None:
        hint = close_matches(name, list(models))
        raise UnknownNameError(f"No published reference scores for {name!r}.",
                               (hint + " " if hint else "") + f"Known: {', '.join(models)}.")
    entry = models[key]
    registry = registry if registry is not None else _registry()
    source = source_title(entry["source"])
    model = ModelScores(key, "published", source, dimension=card_dimension(key))
    for raw_task, fact in entry["tasks"].items():
        task = TASK_ALIASES.get(raw_task, raw_task)
        spec = registry.tasks.get(task) if registry is not None else None
        subset = fact.get("subset")
        # every published split (older entries record one: "split" and "score")
        splits = {str(k): float(v) for k, v in fact["splits"].items()} if fact.get("splits") \
            else {fact.get("split") or "published": float(fact["score"])}
        split = fact.get("split")
        if spec is not None:
            # a missing split or subset in the published entry means "not recorded", not "different"
            if split is None and "published" in splits:
                splits = {spec.table_split: splits.pop("published")}
            evaluated = {k: v for k, v in splits.items() if k in spec.eval_splits}
            if (subset is not None and subset != spec.dataset.subset) or spec.table_split not in evaluated:
                model.notes.append(f"{raw_task}: published for split(s) {', '.join(splits)}, subset {subset!r}; "
                                   f"our card's tables show split {spec.table_split!r}, subset "
                                   f"{spec.dataset.subset!r}: not used")
                continue
            splits, split = evaluated, spec.table_split
        split = split if split in splits else next(iter(splits))
        version = fact.get("mteb_version")
        model.tasks[task] = TaskScore(
            task=task, task_type=fact.get("type"), split=split, score=splits[split], metric=fact.get("metric"),
            splits=splits, origin="published", source=fact.get("file", fact.get("source", source)), subset=subset,
            protocol=(f"mteb {version}" if version else entry["protocol"]),
            versions={"mteb": version} if version else {},
        )
    return model


def all_published_models(registry=None) -> list[ModelScores]:
    registry = registry if registry is not None else _registry()
    return [published_model(name, registry) for name in published_model_names()]


def find_published_for(name: str) -> str | None:
    """The published model a run's name refers to (``org/name`` or the folder form ``org__name``)."""
    candidates = {n.lower(): n for n in published_model_names()}
    for form in (name, name.replace("__", "/")):
        if form.lower() in candidates:
            return candidates[form.lower()]
    tails = {n.split("/")[-1].lower(): n for n in published_model_names()}
    return tails.get(name.replace("__", "/").split("/")[-1].lower())
