"""Reusable checks on loaded task data, each raising a DataFormatError that names the task,
the file and the offending values, and says how to fix them.

Evaluators call these after loading a split; retrieval and reranking evaluators use
``check_unique_ids`` on corpus and query ids and ``check_qrels_refs`` on the qrels.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Iterable, Mapping

from ..errors import DataFormatError

SHOWN = 5  # how many offending values a message lists


def _show(values: Iterable[Any]) -> str:
    values = list(values)
    text = ", ".join(repr(v) for v in values[:SHOWN])
    return text + (f" and {len(values) - SHOWN} more" if len(values) > SHOWN else "")


def check_unique_ids(ids: Iterable[Any], *, what: str, task: str, source: str) -> None:
    """Every id appears once (``what``: 'corpus id', 'query id', ...)."""
    counts = Counter(ids)
    repeated = [i for i, n in counts.items() if n > 1]
    if repeated:
        raise DataFormatError(
            f"Task {task}: {source} has {len(repeated)} duplicate {what}(s): {_show(repeated)}.",
            f"Each {what} must appear once; drop or rename the repeated rows.")


def check_ids_present(ids: Iterable[Any], *, what: str, task: str, source: str) -> None:
    """No id is missing (None, empty or NaN)."""
    for index, value in enumerate(ids):
        if value is None or (isinstance(value, str) and not value.strip()) or \
                (isinstance(value, float) and math.isnan(value)):
            raise DataFormatError(f"Task {task}: row {index} of {source} has no {what} ({value!r}).",
                                  f"Give every row a {what}.")


def check_qrels_refs(qrels: Mapping[Any, Mapping[Any, Any]], *, query_ids: Iterable[Any],
                     doc_ids: Iterable[Any], task: str, source: str) -> None:
    """Every query and document a qrels entry names exists, and every relevance is a finite number.

    ``qrels`` is ``{query_id: {doc_id: relevance}}`` (pytrec_eval's layout).
    """
    queries, docs = set(query_ids), set(doc_ids)
    unknown_queries = [q for q in qrels if q not in queries]
    if unknown_queries:
        raise DataFormatError(
            f"Task {task}: the qrels in {source} name {len(unknown_queries)} query id(s) that are not among "
            f"the queries: {_show(unknown_queries)}.",
            "Fix the ids (check their type: '1' and 1 differ) or add the missing queries.")
    unknown_docs = sorted({d for judged in qrels.values() for d in judged if d not in docs}, key=str)
    if unknown_docs:
        raise DataFormatError(
            f"Task {task}: the qrels in {source} name {len(unknown_docs)} document id(s) that are not in the "
            f"corpus: {_show(unknown_docs)}.",
            "Fix the ids (check their type: '1' and 1 differ) or add the missing documents.")
    for query, judged in qrels.items():
        for doc, relevance in judged.items():
            try:
                number = float(relevance)
            except (TypeError, ValueError):
                number = math.nan
            if isinstance(relevance, bool) or not math.isfinite(number):
                raise DataFormatError(
                    f"Task {task}: the qrels in {source} give ({query!r}, {doc!r}) relevance {relevance!r}, "
                    f"not a finite number.", "Use numeric relevance grades (0, 1, 2...).")
    if not any(float(r) > 0 for judged in qrels.values() for r in judged.values()):
        raise DataFormatError(f"Task {task}: the qrels in {source} mark no document relevant.",
                              "At least one (query, document) pair needs a relevance above 0.")


def check_min_rows(n_rows: int, minimum: int, *, task: str, source: str, why: str) -> None:
    if n_rows < minimum:
        raise DataFormatError(f"Task {task}: {source} has {n_rows} row(s); at least {minimum} are needed ({why}).",
                              "Add rows or use another split.")


def check_not_constant(values: list[float], *, role: str, task: str, source: str) -> None:
    """A correlation with a constant gold column is undefined."""
    if values and min(values) == max(values):
        raise DataFormatError(
            f"Task {task}: every {role} in {source} is {values[0]!r}; a correlation with a constant is undefined.",
            f"The {role} column must vary; check that the right column is mapped in the task card.")


def check_two_classes(labels: list[float], *, task: str, source: str) -> None:
    """Average precision and the best-threshold metrics of one class only are degenerate (1.0 or 0.0)."""
    if labels and len(set(labels)) < 2:
        raise DataFormatError(
            f"Task {task}: every label in {source} is {labels[0]!r}; pair classification needs both classes "
            f"(0 and 1), otherwise its scores are meaningless (AP 1.0 or 0.0 whatever the model).",
            "Check that the right column is mapped as the label in the task card, or use a split with both classes.")


def check_computable(values: list[float], *, role: str, task: str, source: str) -> None:
    """Finite values whose spread cannot be computed in float64 (|x| near 1e308: the mean or the sum of
    squares overflows) would make a metric NaN; say so instead of blaming degenerate data."""
    import numpy as np

    array = np.asarray(values, dtype=np.float64)
    if not len(array):
        return
    with np.errstate(over="ignore", invalid="ignore"):
        centred = array - array.mean()
        spread = float(np.dot(centred, centred))
        total = float(np.dot(array, array))
    if not (math.isfinite(spread) and math.isfinite(total)):
        row = int(np.argmax(np.abs(array)))
        raise DataFormatError(
            f"Task {task}: the {role} values in {source} are too large to compute with in float64 (row {row} has "
            f"{values[row]!r}; their squares overflow), so the metric would come out NaN.",
            f"Rescale the {role} column (e.g. to 0-5) or fix the rows with such values.")


def check_finite_scores(scores: Mapping[str, Any], *, task: str, split: str) -> None:
    """Refuse to write a result with a NaN or infinite metric (a result must never hold a wrong number)."""
    bad = [name for name, value in scores.items()
           if isinstance(value, float) and not math.isfinite(value)]
    if bad:
        raise DataFormatError(
            f"Task {task}, split {split}: the metric(s) {_show(bad)} came out NaN or infinite, "
            f"so no result was written.",
            "This usually means degenerate data (constant gold scores, a single class, too few rows); "
            "check the split's data.")
