"""mteb's names for our tasks: the ONE mapping between an mteb task name (with its hf_subset) and
our card, read from each card's ``[reference] mteb_name`` (when its name differs from mteb's) and
``[dataset] subset`` (for one language of a multilingual dataset). The Python API's task names,
the readers of mteb result files and the English cards all go through it.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..errors import UnknownNameError, UserError, close_matches

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


def select_by_any_name(registry: Any, names: Iterable[Any]) -> list[TaskSpec]:
    """The cards named by ``names``, in order, without repeats: each a card name, an mteb task name
    (``CMedQAv1-reranking``; every card of that name), a benchmark name of ours or of mteb
    (``MTEB(cmn, v1)``). An mteb task object is refused with the name to pass."""
    selected: dict[str, TaskSpec] = {}
    for name in names:
        if not isinstance(name, str):
            raise _object_error(registry, name)
        if name in registry.tasks or name.lower() in {n.lower() for n in registry.tasks}:
            found = [registry.task(name)]
        else:
            found = cards_for_mteb_name(registry.tasks.values(), name)
        if not found:
            try:
                found = [registry.task(t) for t in registry.benchmark(name).tasks]
            except UnknownNameError:
                known = [*registry.tasks, *(b.name for b in registry.benchmarks.values()),
                         *(n for b in registry.benchmarks.values() for n in b.mteb_names)]
                hint = close_matches(name, known)
                raise UnknownNameError(f"Unknown task or benchmark {name!r} (neither ours nor one of mteb's names of "
                                       f"our cards).", (hint + " " if hint else "") +
                                       "List them with 'cmteb-eval tasks'.") from None
        for spec in found:
            selected.setdefault(spec.name, spec)
    return list(selected.values())


def _object_error(registry: Any, obj: Any) -> UserError:
    metadata = getattr(obj, "metadata", None)
    name = getattr(metadata, "name", None)
    if isinstance(name, str):
        cards = cards_for_mteb_name(registry.tasks.values(), name)
        subsets = getattr(obj, "hf_subsets", None)
        if subsets is not None:
            cards = [c for c in cards if mteb_subset(c) in subsets] or cards
        use = ", ".join(repr(c.name) for c in cards)
        return UserError(f"An mteb task object ({type(obj).__name__}, {name!r}) was given; tasks are named by their "
                         f"names here.", f"Pass tasks=[{use}]." if use else
                         f"No card of ours is mteb's {name!r}; list ours with 'cmteb-eval tasks'.")
    return UserError(f"A task name must be a string, got {type(obj).__name__}.",
                     "Pass task or benchmark names, such as 'STSB', 'CMedQAv1-reranking' or 'MTEB(cmn, v1)'.")
