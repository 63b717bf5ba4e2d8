"""Tasks named the way users name them: our card names, mteb's task names (through ``aliases.py``)
and benchmark names of ours or of mteb (the Python API's ``tasks=``)."""

from __future__ import annotations

from typing import Any, Iterable

from ..errors import UnknownNameError, UserError, close_matches
from .aliases import cards_for_mteb_name, mteb_subset
from .card import TaskSpec


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
