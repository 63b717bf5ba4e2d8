"""Paired significance tests of a score difference between two models on the same items.

The test resamples the *items* a task's score is made of and recomputes the task's own
statistic on each resample, for both models at once (paired). What the items are and which
statistic makes the score is declared per task type (``tasks/items.py``) and read by type,
never guessed from the keys present:

==================  ================================================  ================================
task type           per-item values (``items/<Task>.json``)           statistic recomputed
==================  ================================================  ================================
STS                 ``{"gold": [...], "cosine": [...]}``              Spearman(cosine, gold)
PairClassification  ``{"label": [...], "cosine": [...]}``             average precision(label, cosine)
Classification      ``{"label": [...], "correct_fraction": [...]}``   accuracy (mean correctness)
Clustering          ``{"set_sizes": [...], "v_measure_per_set": ...}``  mean V-measure over sets
Retrieval,          ``{"query_id": [...], METRIC: [...]}`` (or        mean of METRIC over queries
Reranking           ``{"per_query": {METRIC: {qid: value}}}``)
==================  ================================================  ================================

Each per-item file is ``{"task_name": T, "splits": {SPLIT: ITEMS}}``. Per-query values are
keyed by query id and aligned on it; METRIC is the task's main metric, the column the format
names for it (Reranking's ``map`` is the mean of per-query ``ap``, v1, or ``map_at_1000``, v2)
or, failing that, the only metric present. The other formats are aligned by position and must
hold the same gold scores / labels / set sizes in the same order for both models.

Methods (seeded, so a rerun prints the same p-values):

- ``bootstrap`` (default): paired bootstrap. The confidence interval is the percentile
  interval of the resampled differences; the two-sided p-value uses the shifted null
  (Berg-Kirkpatrick et al. 2012): the share of resampled differences at least |d| away
  from the observed difference d.
- ``permutation``: paired permutation (each item's values swapped between the models with
  probability 1/2); p = share of permuted differences at least as large as |d|. The
  confidence interval is still the bootstrap one.

Type and overall deltas (means over tasks) are tested by averaging the per-task
replicates, which are independent across tasks.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ...evaluators import metrics
from ...tasks.items import ItemFormat, item_format

METHODS = ("bootstrap", "permutation")
DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
_CHUNK_CELLS = 2_000_000  # resampled values held in memory at once


@dataclass
class PairedItems:
    """Per-item values of two models on the same items, and how to score a set of items."""

    statistic: str  # "spearman", "ap" or "mean"
    baseline: np.ndarray
    candidate: np.ndarray
    shared: np.ndarray | None = None  # gold scores or labels, the same for both models

    @property
    def n(self) -> int:
        return len(self.baseline)


@dataclass
class TestResult:
    delta: float  # candidate - baseline, in points (x100)
    ci_low: float
    ci_high: float
    p_value: float
    method: str
    n_items: int
    n_resamples: int
    seed: int
    boot: np.ndarray  # resampled deltas (points), for CIs of means over tasks
    null: np.ndarray  # deltas under the null hypothesis (points), for p-values of means over tasks


class NotPaired(ValueError):
    """The two item sets cannot be paired; the message says why."""


# ---------------------------------------------------------------- pairing


def _array(values: Any, what: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise NotPaired(f"per-item '{what}' is not a list of numbers") from None
    if array.ndim != 1 or not len(array):
        raise NotPaired(f"per-item '{what}' is empty or not a flat list")
    if not np.isfinite(array).all():
        raise NotPaired(f"per-item '{what}' holds NaN or infinite values")
    return array


def _per_query(items: dict[str, Any], metric: str | None, aliases: tuple[str, ...] = ()) -> tuple[str, dict[str, float]]:
    table = items["per_query"]
    if not isinstance(table, dict) or not table:
        raise NotPaired("'per_query' must map metric names to {query id: value}")
    if metric not in table:
        found = next((name for name in aliases if name in table), None)
        if found is None and len(table) != 1:
            raise NotPaired(f"'per_query' has no values for the main metric {metric!r} (has {sorted(table)})")
        metric = found or next(iter(table))
    values = table[metric]
    if not isinstance(values, dict) or not values:
        raise NotPaired(f"'per_query.{metric}' must map query ids to values")
    return metric, values


def _columnar_to_per_query(items: dict[str, Any]) -> dict[str, Any]:
    """Retrieval and reranking items are columns (``query_id`` plus one list per metric):
    turn them into the ``per_query`` layout, keyed by query id."""
    query_ids = items.get("query_id")
    if "per_query" in items or not isinstance(query_ids, list):
        return items
    per_query = {metric: dict(zip(map(str, query_ids), values)) for metric, values in items.items()
                 if metric != "query_id" and isinstance(values, list) and len(values) == len(query_ids)}
    return {"per_query": per_query}


def _pair_queries(fmt: ItemFormat, main_metric: str | None, baseline: dict[str, Any],
                  candidate: dict[str, Any]) -> PairedItems:
    baseline, candidate = _columnar_to_per_query(baseline), _columnar_to_per_query(candidate)
    if not ("per_query" in baseline and "per_query" in candidate):
        raise NotPaired("only one side has per-query values" if "per_query" in baseline or "per_query" in candidate
                        else f"no per-query values (expected {fmt.identity!r} and one list per metric)")
    aliases = fmt.metric_columns.get(main_metric or "", ())
    metric, left = _per_query(baseline, main_metric, aliases)
    _, right = _per_query(candidate, metric)
    if set(left) != set(right):
        raise NotPaired(f"the query sets differ ({len(set(left) ^ set(right))} query ids not on both sides)")
    ids = sorted(left)
    return PairedItems("mean", _array([left[q] for q in ids], metric), _array([right[q] for q in ids], metric))


def _pair_by_position(fmt: ItemFormat, baseline: dict[str, Any], candidate: dict[str, Any]) -> PairedItems:
    for side in (baseline, candidate):
        missing = [key for key in (fmt.identity, fmt.values) if key not in side]
        if missing:
            raise NotPaired(f"per-item {' and '.join(repr(k) for k in missing)} values are missing "
                            f"(the {fmt.name} format holds {fmt.identity!r} and {fmt.values!r})")
    if fmt.statistic == "mean":  # labels may be strings: compared as they are
        shared = None
        same = baseline[fmt.identity] == candidate[fmt.identity]
    else:
        shared = _array(baseline[fmt.identity], fmt.identity)
        same = np.array_equal(shared, _array(candidate[fmt.identity], fmt.identity))
    if not same:
        raise NotPaired(f"the two runs' '{fmt.identity}' values differ: they were not made on the same items in "
                        f"the same order")
    left, right = _array(baseline[fmt.values], fmt.values), _array(candidate[fmt.values], fmt.values)
    if not (len(left) == len(right) == len(baseline[fmt.identity])):
        raise NotPaired("the per-item lists have different lengths")
    return PairedItems(fmt.statistic, left, right, shared)


def pair_items(task_type: str | None, main_metric: str | None, baseline: dict[str, Any],
               candidate: dict[str, Any]) -> PairedItems:
    """Pair two models' per-item values of one task split, read in the format of ``task_type``;
    raises ``NotPaired`` with the reason."""
    fmt = item_format(task_type) if task_type else None
    if fmt is None:
        raise NotPaired(f"no per-item format known for task type {task_type!r}")
    if fmt.by == "id":
        return _pair_queries(fmt, main_metric, baseline, candidate)
    return _pair_by_position(fmt, baseline, candidate)


# ---------------------------------------------------------------- statistics


def _statistic(kind: str) -> Callable[[np.ndarray, np.ndarray | None], np.ndarray]:
    """A function of (values [rows, n], shared [rows, n] or None) -> one score per row (fraction)."""
    if kind == "mean":
        return lambda values, shared: values.mean(axis=1)
    if kind == "spearman":
        return metrics.row_spearman
    if kind == "ap":
        return lambda values, shared: np.array([metrics.average_precision(s, v) for v, s in zip(values, shared)])
    raise ValueError(kind)


def score(items: PairedItems, side: str = "candidate") -> float:
    """The statistic on all items (a fraction), as the evaluator computed the task score."""
    values = (items.candidate if side == "candidate" else items.baseline)[None, :]
    shared = None if items.shared is None else items.shared[None, :]
    return float(_statistic(items.statistic)(values, shared)[0])


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def _in_chunks(total: int, n: int):
    size = max(1, _CHUNK_CELLS // max(n, 1))
    for start in range(0, total, size):
        yield min(size, total - start)


def paired_test(items: PairedItems, name: str = "", method: str = "bootstrap",
                n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED, confidence: float = 0.95) -> TestResult:
    """Test candidate - baseline on paired items; ``name`` seeds a per-task stream."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    stat = _statistic(items.statistic)
    a, b, shared, n = items.baseline, items.candidate, items.shared, items.n
    observed = 100.0 * (score(items, "candidate") - score(items, "baseline"))

    rng = _rng(seed, name)
    boot = []
    for rows in _in_chunks(n_resamples, n):
        idx = rng.integers(0, n, size=(rows, n))
        s = None if shared is None else shared[idx]
        boot.append(100.0 * (stat(b[idx], s) - stat(a[idx], s)))
    boot_deltas = np.concatenate(boot)

    if method == "bootstrap":
        null = boot_deltas - observed
    else:
        perm_rng = _rng(seed + 1, name)
        perm = []
        for rows in _in_chunks(n_resamples, n):
            swap = perm_rng.random((rows, n)) < 0.5
            left, right = np.where(swap, b, a), np.where(swap, a, b)
            s = None if shared is None else np.broadcast_to(shared, (rows, n))
            perm.append(100.0 * (stat(right, s) - stat(left, s)))
        null = np.concatenate(perm)
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(boot_deltas, [tail, 1.0 - tail])
    return TestResult(delta=observed, ci_low=float(low), ci_high=float(high), p_value=p_value(null, observed),
                      method=method, n_items=n, n_resamples=n_resamples, seed=seed, boot=boot_deltas, null=null)


def p_value(null: np.ndarray, observed: float) -> float:
    """Two-sided p-value of ``observed`` against null replicates, with the +1 correction."""
    extreme = np.count_nonzero(np.abs(null) >= abs(observed) - 1e-12)
    return float((1 + extreme) / (1 + len(null)))


def mean_of_tests(results: Sequence[TestResult], confidence: float = 0.95) -> tuple[float, float, float, float]:
    """Delta, CI and p-value of the mean delta over tasks, from the tasks' independent replicates."""
    delta = float(np.mean([r.delta for r in results]))
    boot = np.mean([r.boot for r in results], axis=0)
    null = np.mean([r.null for r in results], axis=0)
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(boot, [tail, 1.0 - tail])
    return delta, float(low), float(high), p_value(null, delta)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (family-wise error control over the tasks compared)."""
    order = np.argsort(p_values)
    adjusted = np.empty(len(p_values))
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, (len(p_values) - rank) * p_values[index])
        adjusted[index] = min(1.0, running)
    return adjusted.tolist()
