"""The ONE average every report and plot prints (``table``, ``compare``, ``plot``, the leaderboard page).

An average is over a set of tasks the report names: a benchmark's tasks of one type (C-MTEB's 35,
MTEB(eng, v1)'s 56), ``--tasks``, or the tasks two models share. Per model it is the mean over the
tasks of that set it has, and it carries the count, so a model that lacks some shows ``71.20 (7/8)``
instead of pretending to be complete, and a model that has them all is never "-". A task left out
by rule (its scores cannot be compared: another dataset revision, protocol, metric, subset or split)
is in no average; it stays in the count's denominator, so the count shows that something is left
out, and the report lists it with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Collection, Mapping, Sequence


@dataclass(frozen=True)
class Average:
    value: float  # NaN when no task of the set has a score
    have: int  # tasks averaged
    total: int  # tasks of the set

    @property
    def complete(self) -> bool:
        return self.have == self.total and self.total > 0

    @property
    def count(self) -> str:
        """'' when complete, else ' (7/8)'."""
        return "" if self.complete else f" ({self.have}/{self.total})"

    def text(self, digits: int = 2, missing: str = "-") -> str:
        if self.have == 0:
            return missing
        return f"{self.value:.{digits}f}{self.count}"


def average(scores: Mapping[str, float | None], tasks: Sequence[str], excluded: Collection[str] = ()) -> Average:
    """The mean of ``scores`` over ``tasks`` (x100 as given), skipping tasks without a finite score and
    ``excluded`` ones (left out by rule); ``total`` is the number of distinct ``tasks``."""
    tasks = list(dict.fromkeys(tasks))
    values = [scores.get(t) for t in tasks if t not in excluded]
    values = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return Average(sum(values) / len(values) if values else math.nan, len(values), len(tasks))


BENCHMARK_SETS = (("cmteb", "C-MTEB"), ("mteb-en", "MTEB(eng, v1)"))
CMTEB_TYPES = ("Retrieval", "STS", "PairClassification", "Classification", "Reranking", "Clustering")  # the card's order


def task_sets(found: Sequence[str], registry, chosen: Sequence[str] | None = None) -> dict[str, list[str]]:
    """The task sets a report averages over, titled: the tasks the user chose (``--tasks``,
    ``--benchmark``) as one set; else each benchmark (C-MTEB, MTEB(eng, v1)) that holds a task of
    ``found``, by its whole task list, then the found tasks of no such benchmark ("other")."""
    if chosen:
        return {"selected": list(dict.fromkeys(chosen))}
    sets: dict[str, list[str]] = {}
    covered: set[str] = set()
    for key, title in BENCHMARK_SETS:
        if registry is None or key not in registry.benchmarks:
            continue
        tasks = list(registry.benchmark(key).tasks)
        if any(t in tasks for t in found):
            sets[title] = tasks
            covered.update(tasks)
    rest = [t for t in dict.fromkeys(found) if t not in covered]
    if rest:
        sets["other"] = rest
    return sets


def left_out_by_rule(marks: Mapping[tuple[str, str], str]) -> dict[str, str]:
    """``task -> why`` for every task some model's score of cannot be compared with the others'
    (``scores.comparability_notes``): such a task is in no average."""
    out: dict[str, str] = {}
    for (label, task), why in marks.items():
        out.setdefault(task, f"{label}: {why}")
    return out


def type_average_columns(sets: dict[str, list[str]], task_type: str, shown: Sequence[str],
                         task_types: Mapping[str, str]) -> dict[str, list[str]]:
    """The average columns of one type's table: per task set (``task_sets``) that holds a shown task
    of the type, over all of that set's tasks of the type ("Avg" alone when there is one set)."""
    columns = {title: [t for t in tasks if task_types.get(t) == task_type] for title, tasks in sets.items()}
    columns = {title: tasks for title, tasks in columns.items() if any(t in shown for t in tasks)}
    if len(columns) <= 1:
        return {"Avg": next(iter(columns.values()), list(shown))}
    return {f"Avg {title} ({len(tasks)})": tasks for title, tasks in columns.items()}
