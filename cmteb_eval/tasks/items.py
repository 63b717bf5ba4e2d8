"""The per-item formats: what an items file (``items/<Task>.json``) holds per split, declared per
task type (``types.py``, column ``items``), so that evaluators write it through one helper
(``make_items``) and readers read it by type, never by guessing from its keys.

Each format names the column of per-item *values* a model produced, the column that identifies
the items (the same on both sides of a comparison), and the *statistic* that turns a set of
items into the task's main score, which a significance test recomputes on resamples
(``report/comparison/significance.py``):

==============  ==================  ========================  ===============================  =====================
format          task types          values                    identifies the items             statistic
==============  ==================  ========================  ===============================  =====================
scored-pairs    STS                 ``cosine``                ``gold`` (by position)           Spearman(cosine, gold)
labelled-pairs  PairClassification  ``cosine``                ``label`` (by position)          AP(label, cosine)
examples        Classification      ``correct_fraction``      ``label`` (by position)          mean = accuracy
sets            Clustering          ``v_measure_per_set``     ``set_sizes`` (by position)      mean = V-measure
texts           Summarization       ``text_score``            ``text_index`` (by position)     mean = main score
queries         Retrieval,          one list per metric       ``query_id`` (by id)             mean of the main
                Reranking           (``stage1_*``: before                                       metric's column
                                    reranking)
==============  ==================  ========================  ===============================  =====================

Classification's ``correct_fraction`` is each example's share of experiments that classified
it correctly, so its mean is the accuracy averaged over experiments (the main score);
Clustering's per-set V-measures average to the main score in the same way; so do Summarization's
per-text scores (each kept text's Spearman, or under protocol v1 its (Spearman + p-value) / 2), whose
``text_index`` is the row of each text the score kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .types import task_type


@dataclass(frozen=True)
class ItemFormat:
    name: str
    values: str | None  # the column of per-item values (None: per-query formats hold one column per metric)
    identity: str  # the column that identifies the items: equal on both sides of a comparison
    statistic: str  # "spearman" (values vs identity), "ap" (identity labels ranked by values) or "mean"
    by: str = "position"  # how two sides' items are aligned: "position", or "id" (the identity column)
    extra: tuple[str, ...] = ()  # further keys written for the reader's information
    # per-query formats: the column whose mean is a main metric, when it is not named after it
    metric_columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


FORMATS: dict[str, ItemFormat] = {f.name: f for f in (
    ItemFormat("scored-pairs", values="cosine", identity="gold", statistic="spearman"),
    ItemFormat("labelled-pairs", values="cosine", identity="label", statistic="ap"),
    ItemFormat("examples", values="correct_fraction", identity="label", statistic="mean",
               extra=("train_rows_per_experiment",)),
    ItemFormat("sets", values="v_measure_per_set", identity="set_sizes", statistic="mean"),
    ItemFormat("texts", values="text_score", identity="text_index", statistic="mean"),
    ItemFormat("queries", values=None, identity="query_id", statistic="mean", by="id",
               extra=("num_skipped_rows",),
               metric_columns={"map": ("ap", "map_at_1000"), "mrr": ("mrr_at_10",)}),
)}


def item_format(type_name: str) -> ItemFormat | None:
    """The per-item format of a task type (None for a type this version does not know)."""
    from .types import TYPES

    row = TYPES.get(type_name)
    return FORMATS[row.items] if row is not None else None


def make_items(type_name: str, **columns: Any) -> dict[str, Any]:
    """The per-item values of one split in the type's declared format; a missing or undeclared
    column, or lists of different lengths, is a bug in the evaluator (ValueError)."""
    fmt = FORMATS[task_type(type_name).items]
    if fmt.identity not in columns or (fmt.values is not None and fmt.values not in columns):
        raise ValueError(f"{type_name} items need {fmt.identity!r} and {fmt.values!r}, got {sorted(columns)}")
    lists = {k: v for k, v in columns.items() if k not in fmt.extra}
    if fmt.values is not None and set(lists) != {fmt.identity, fmt.values}:
        raise ValueError(f"{type_name} items take {fmt.identity!r}, {fmt.values!r} and {fmt.extra}, "
                         f"got {sorted(columns)}")
    lengths = {k: len(v) for k, v in lists.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{type_name} item columns of different lengths: {lengths}")
    return dict(columns)
