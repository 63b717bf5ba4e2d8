"""Clustering: mini-batch k-means on the embeddings of each set, scored by V-measure.

Protocol ``mteb-legacy`` (the default; see README "Classification and clustering
protocols"): each row of the split is one set (``sentences``: list of texts,
``labels``: list of gold labels). Per set, ``MiniBatchKMeans(n_clusters=<number of
distinct gold labels>, batch_size=500, n_init="auto", random_state=42)`` is fitted
on the set's embeddings and the V-measure of its assignment against the gold
labels is computed; a set with a single gold label scores 1.0 without clustering.
The main score is the mean over sets, ``v_measure_std`` the population standard
deviation. This is what mteb 1.x ran for the published C-MTEB numbers (there the
k-means drew from the global numpy generator, reseeded to 42 by each evaluator
just before; the draws are the same) and what mteb 2.x still runs for the task
names CLSClusteringS2S/P2P and ThuNewsClusteringS2S/P2P (AbsTaskClusteringLegacy).
mteb 2.x's ".v2" tasks (ClusteringFast: pooled sets, stratified subsample, bootstrap)
are a different benchmark and are not implemented here.

A split may also hold one text per row (``sentences``: a string, ``labels``: a
label); the whole split is then one set. Card ``[scoring]``: ``batch_size`` (500),
``seed`` (42). Every distinct text of the split is embedded once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.tables import column, load_split
from ..errors import DataFormatError
from ..models.protocol import TEXT, Embedder
from ..tasks.card import TaskSpec, scoring_settings
from ..tasks.items import make_items
from ..tasks.types import TYPES, scoring_defaults
from . import metrics
from .base import RunOptions, SplitResult, embed_once

DEFAULTS = scoring_defaults("Clustering")  # declared in the type table (tasks/types.py)
PROTOCOL = TYPES["Clustering"].protocol


def settings(spec: TaskSpec) -> dict[str, int]:
    """The task's clustering settings: card ``[scoring]`` over mteb's defaults."""
    return scoring_settings(spec)


def _hashable(value: Any, spec: TaskSpec, source: str, where: str) -> Any:
    if value is None or isinstance(value, (list, dict)) or (isinstance(value, float) and not np.isfinite(value)):
        raise DataFormatError(f"Task {spec.name}: {where} of {source} has label {value!r}.",
                              "Labels must be integers or strings.")
    return value


def load_sets(spec: TaskSpec, split: str, data_dirs) -> tuple[list[tuple[list[str], list[Any]]], str]:
    """The split's clustering sets: one per row (hub layout) or the whole split (one text per row)."""
    table, source = load_split(spec, split, data_dirs)
    sentences = column(table, spec, "sentences", source)
    labels = column(table, spec, "labels", source)
    if all(isinstance(s, str) for s in sentences):  # one text per row: a single set
        rows = [(list(sentences), list(labels))]
    else:
        rows = list(zip(sentences, labels))
    sets = []
    for number, (texts, gold) in enumerate(rows):
        where = f"set {number}"
        if not isinstance(texts, (list, tuple)) or not isinstance(gold, (list, tuple)):
            raise DataFormatError(
                f"Task {spec.name}: {where} of {source} must hold a list of sentences and a list of labels.",
                "Use the hub layout (one set per row) or one sentence and label per row.")
        if len(texts) != len(gold) or not texts:
            raise DataFormatError(
                f"Task {spec.name}: {where} of {source} has {len(texts)} sentences and {len(gold)} labels.",
                "Each sentence needs exactly one label, and a set needs at least one sentence.")
        bad = next((t for t in texts if not isinstance(t, str)), None)
        if bad is not None:
            raise DataFormatError(f"Task {spec.name}: {where} of {source} has sentence {bad!r}, not a string.",
                                  "Fix or drop it.")
        sets.append((list(texts), [_hashable(g, spec, source, where) for g in gold]))
    return sets, source


def cluster_set(vectors: np.ndarray, gold: list[Any], *, batch_size: int = 500, seed: int = 42) -> float:
    """V-measure of mini-batch k-means (k = number of gold labels) on one set, as mteb computes it."""
    from sklearn.cluster import MiniBatchKMeans

    n_clusters = len(set(gold))
    if n_clusters <= 1:
        return 1.0
    model = MiniBatchKMeans(n_clusters=n_clusters, batch_size=batch_size, n_init="auto",
                            compute_labels=True, random_state=seed)
    model.fit(vectors)
    return metrics.v_measure(gold, model.labels_.tolist())


def texts(spec: TaskSpec, split: str, data_dirs) -> dict[str, list[str]]:
    """Every text of every set of a split (the run's plan counts them)."""
    return {TEXT: [t for sentences, _ in load_sets(spec, split, data_dirs)[0] for t in sentences]}


def evaluate(spec: TaskSpec, split: str, data_dirs, model: Embedder, options: RunOptions | None = None) -> SplitResult:
    config = settings(spec)
    sets, source = load_sets(spec, split, data_dirs)
    all_texts = [text for texts, _ in sets for text in texts]
    vectors, positions = embed_once(model, all_texts, spec)
    v_measures, start = [], 0
    for texts, gold in sets:
        rows = positions[start:start + len(texts)]
        start += len(texts)
        v_measures.append(cluster_set(vectors[rows], gold, batch_size=config["batch_size"], seed=config["seed"]))
    return SplitResult(
        scores={"v_measure": float(np.mean(v_measures)), "v_measure_std": float(np.std(v_measures)),
                "n_sets": float(len(sets))},
        source=source,
        protocol=f"{PROTOCOL}; batch_size={config['batch_size']}, seed={config['seed']}",
        items=make_items("Clustering", v_measure_per_set=v_measures, set_sizes=[len(texts) for texts, _ in sets]),
    )
