"""mteb's names for our tasks: the ONE mapping between an mteb task name (with its hf_subset) and
our card, read from each card's ``[reference] mteb_name`` (when its name differs from mteb's) and
``[dataset] subset`` (for one language of a multilingual dataset). The Python API's task names,
the readers of mteb result files and the English cards all go through it.
"""

from __future__ import annotations

from typing import Any, Iterable

TaskSpec = Any  # a tasks.card.TaskSpec; not imported, so the readers of result files stay few layers deep


def mteb_name(spec: TaskSpec) -> str:
    """The name mteb gives the task of this card."""
    return str(spec.reference.get("mteb_name") or spec.name)


def mteb_subset(spec: TaskSpec) -> str:
    """The hf_subset mteb files this card's scores under ("default" for a single-subset dataset)."""
    return spec.dataset.subset or "default"


def cards_for_mteb_name(specs: Iterable[TaskSpec], name: str) -> list[TaskSpec]:
    """Every card that mteb calls ``name`` (several when they are subsets of one dataset)."""
    return [spec for spec in specs if mteb_name(spec) == name]


def card_for_mteb_task(specs: Iterable[TaskSpec], name: str, hf_subset: str | None = None) -> TaskSpec | None:
    """Our card for mteb's task ``name`` and ``hf_subset`` (None: the only card of that name), or None
    when no card is the same task. A different version of a task (mteb's ``.v2`` names) is not ours."""
    found = cards_for_mteb_name(specs, name)
    if hf_subset is not None:
        found = [spec for spec in found if mteb_subset(spec) == hf_subset]
    return found[0] if len(found) == 1 else None


# mteb 2's main metric where it is not the card's (checked against the installed mteb by tests/test_mteb_layout.py):
# mteb 2 scores these pair-classification tasks by max_accuracy, every other one by max_ap; its reranking
# tasks by map_at_1000 (a trec_eval run over the candidates, our protocol v2).
_MTEB_MAIN = {"Ocnli": "max_accuracy", "Cmnli": "max_accuracy",
              "MindSmallReranking": "max_over_subqueries_map_at_1000"}
_MTEB_MAIN_BY_TYPE = {"PairClassification": "max_ap", "Reranking": "map_at_1000"}


def mteb_main_metric(spec: TaskSpec) -> str:
    """The metric mteb 2 reads a result file's ``main_score`` as, for this card's task
    (``[reference] mteb_main_score`` when the card names it)."""
    return str(spec.reference.get("mteb_main_score") or _MTEB_MAIN.get(mteb_name(spec))
               or _MTEB_MAIN_BY_TYPE.get(spec.type) or spec.main_metric)
