"""PairClassification: cosine AP (the published C-MTEB main score) and the metrics
mteb reports today (accuracy, F1, precision, recall, AP per similarity function,
and their maxima). Accepts the hub layout (one row of lists) and one pair per row."""

from __future__ import annotations

import numpy as np

from ..data.checks import check_two_classes
from ..data.tables import column, load_split, numeric_column, text_column
from ..errors import DataFormatError
from ..models.protocol import TEXT, Embedder
from ..tasks.card import TaskSpec
from ..tasks.items import make_items
from ..tasks.types import TYPES
from . import metrics
from .base import RunOptions, SplitResult

PROTOCOL = TYPES["PairClassification"].protocol


def _flatten(values: list, is_list_layout: bool, spec: TaskSpec, role: str, source: str) -> list:
    if not is_list_layout:
        return values
    for index, row in enumerate(values):
        if not isinstance(row, (list, tuple)):
            raise DataFormatError(
                f"Task {spec.name}: row {index} of {source} has {role} {str(row)[:60]!r}, not a list, while row 0 "
                f"holds lists (the hub layout).", "Use one layout throughout: lists in every row, or one pair per row.")
    return [v for row in values for v in row]


def evaluate(spec: TaskSpec, split: str, data_dirs, model: Embedder, options: RunOptions | None = None) -> SplitResult:
    table, source = load_split(spec, split, data_dirs)
    raw1 = column(table, spec, "sentence1", source)
    raw2 = column(table, spec, "sentence2", source)
    raw_labels = column(table, spec, "label", source)
    list_layout = bool(raw1) and isinstance(raw1[0], (list, tuple))
    first = text_column(_flatten(raw1, list_layout, spec, "sentence1", source), spec, "sentence1", source)
    second = text_column(_flatten(raw2, list_layout, spec, "sentence2", source), spec, "sentence2", source)
    labels = numeric_column(_flatten(raw_labels, list_layout, spec, "label", source), spec, "label", source)
    if not (len(first) == len(second) == len(labels)):
        raise DataFormatError(f"Task {spec.name}: {source} has {len(first)} first sentences, "
                              f"{len(second)} second sentences and {len(labels)} labels.",
                              "Each pair needs both sentences and a label.")
    if set(labels) - {0.0, 1.0}:
        raise DataFormatError(f"Task {spec.name}: labels in {source} must be 0 or 1, found {sorted(set(labels))[:5]}.",
                              "Map the labels to 0 (dissimilar) and 1 (similar) first.")
    check_two_classes(labels, task=spec.name, source=source)  # as STS refuses constant gold scores
    vectors = model.encode(first + second, role=TEXT, task=spec)
    left, right = vectors[: len(first)], vectors[len(first):]
    cosine = metrics.paired_cosine(left, right)
    return SplitResult(
        scores=pair_scores(left, right, np.asarray(labels, dtype=np.int64)),
        source=source,
        protocol=PROTOCOL,
        items=make_items("PairClassification", label=labels, cosine=cosine.tolist()),
    )


def pair_scores(left, right, labels) -> dict[str, float]:
    functions = {
        "cosine": (metrics.paired_cosine(left, right), True),
        "euclidean": (metrics.paired_euclidean(left, right), False),
        "manhattan": (metrics.paired_manhattan(left, right), False),
        "dot": (metrics.paired_dot(left, right), True),
    }
    scores: dict[str, float] = {}
    for name, (values, higher_is_similar) in functions.items():
        for metric, value in metrics.pair_classification_metrics(labels, values, higher_is_similar).items():
            scores[f"{name}_{metric}"] = value
    # mteb 2.x also lists the model's own similarity function ("similarity"); ours is cosine.
    for metric in ("accuracy", "f1", "precision", "recall", "ap"):
        scores[f"similarity_{metric}"] = scores[f"cosine_{metric}"]
        scores[f"max_{metric}"] = max(scores[f"{name}_{metric}"] for name in functions)
    return scores
