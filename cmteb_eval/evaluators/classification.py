"""Classification: logistic regression on frozen embeddings, trained on a small
undersampled train set and repeated over several experiments, as mteb does it.

The protocol (identical in mteb 1.x, which produced the published C-MTEB numbers,
and in mteb 2.x; see README "Classification and clustering protocols"):

- One index list over the train split, ``[0, 1, ..., n-1]``, is shuffled *in place*
  at the start of every experiment by a fresh ``numpy.random.RandomState(seed)``
  (seed 42). The shuffle is cumulative: experiment i shuffles the order left by
  experiment i-1, so experiments differ although the generator is reseeded.
  (mteb 1.x shuffled with the global numpy generator, which each evaluator it
  built reseeded to 42 just before; mteb 2.x makes the same draws explicitly.)
- Walking the shuffled list, the first ``samples_per_label`` rows of each label
  form that experiment's train set (in that order).
- ``LogisticRegression(max_iter=100, random_state=seed)`` (sklearn defaults
  otherwise: lbfgs, C=1) is fitted on their embeddings and predicts the whole
  evaluation split. Scores are averaged over experiments; ``*_std`` is the
  population standard deviation across experiments.

Per task (card ``[scoring]``): ``samples_per_label`` (default 8; 32 for the six
C-MTEB originals), ``n_experiments`` (default 10; IFlyTek 5), ``seed`` (42),
``max_iter`` (100). Every text is embedded once, even when train and
evaluation splits share texts; only train rows some experiment uses are embedded.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

import numpy as np

from ..data.tables import UntypedTable, column, integer_cells, load_split, text_column
from ..errors import DataFormatError
from ..models.protocol import TEXT, Embedder
from ..tasks.card import TaskSpec, scoring_settings
from ..tasks.items import make_items
from ..tasks.types import TYPES, scoring_defaults
from . import metrics
from .base import RunOptions, SplitResult, embed_once

DEFAULTS = scoring_defaults("Classification")  # declared in the type table (tasks/types.py)
PROTOCOL = TYPES["Classification"].protocol


def settings(spec: TaskSpec) -> dict[str, int]:
    """The task's classification settings: card ``[scoring]`` over mteb's defaults."""
    return scoring_settings(spec)


def undersample(labels: Sequence[Any], samples_per_label: int, n_experiments: int, seed: int) -> list[list[int]]:
    """The train rows of each experiment, exactly as mteb draws them (see module docstring)."""
    order = list(range(len(labels)))
    experiments = []
    for _ in range(n_experiments):
        np.random.RandomState(seed).shuffle(order)  # in place: cumulative across experiments
        taken: dict[Any, int] = defaultdict(int)
        chosen = []
        for index in order:
            if taken[labels[index]] < samples_per_label:
                chosen.append(index)
                taken[labels[index]] += 1
        experiments.append(chosen)
    return experiments


def _labels(values: list[Any], spec: TaskSpec, source: str) -> list[Any]:
    """Labels as ints or strings (whole floats become ints); anything else, or a mix, is an error."""
    out = []
    for index, value in enumerate(values):
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            out.append(int(value))
        elif isinstance(value, (float, np.floating)) and float(value).is_integer():
            out.append(int(value))
        elif isinstance(value, str) and value:
            out.append(value)
        else:
            raise DataFormatError(
                f"Task {spec.name}: row {index} of {source} has label {value!r}; labels must be integers or "
                "non-empty strings.", "Fix or drop that row.")
    if len({type(v) for v in out}) > 1:
        raise DataFormatError(f"Task {spec.name}: {source} mixes integer and string labels.",
                              "Use one kind of label throughout.")
    return out


def load_texts_and_labels(spec: TaskSpec, split: str, data_dirs) -> tuple[list[str], list[Any], str]:
    table, source = load_split(spec, split, data_dirs)
    texts = text_column(column(table, spec, "text", source), spec, "text", source)
    raw = column(table, spec, "label", source)
    if isinstance(table, UntypedTable):  # CSV: labels that are all integer numerals are the integers a JSON file holds
        raw = integer_cells(raw)
    labels = _labels(raw, spec, source)
    return texts, labels, source


def texts(spec: TaskSpec, split: str, data_dirs) -> dict[str, list[str]]:
    """Every text a split encodes: the train rows some experiment uses, then its own (the run's plan counts them)."""
    config = settings(spec)
    train, labels, _ = load_texts_and_labels(spec, spec.dataset.train_split or "train", data_dirs)
    used = sorted(set().union(*undersample(labels, config["samples_per_label"], config["n_experiments"],
                                           config["seed"])))
    return {TEXT: [train[i] for i in used] + list(load_texts_and_labels(spec, split, data_dirs)[0])}


def evaluate(spec: TaskSpec, split: str, data_dirs, model: Embedder, options: RunOptions | None = None) -> SplitResult:
    config = settings(spec)
    train_split = spec.dataset.train_split or "train"
    train_texts, train_labels, train_source = load_texts_and_labels(spec, train_split, data_dirs)
    test_texts, test_labels, test_source = load_texts_and_labels(spec, split, data_dirs)
    if train_labels and test_labels and type(train_labels[0]) is not type(test_labels[0]):
        raise DataFormatError(
            f"Task {spec.name}: the train split ({train_source}) and split {split!r} ({test_source}) use "
            "different kinds of label (integers in one, strings in the other).", "Use the same labels in both.")
    if len(set(train_labels)) < 2:
        raise DataFormatError(f"Task {spec.name}: the train split ({train_source}) has fewer than two labels.",
                              "A classifier needs at least two classes to train on.")
    experiments = undersample(train_labels, config["samples_per_label"], config["n_experiments"], config["seed"])
    used = sorted(set().union(*experiments))
    # One encode call for the used train rows and the evaluation split: shared texts are embedded once.
    vectors, positions = embed_once(model, [train_texts[i] for i in used] + test_texts, spec)
    train_row = dict(zip(used, positions[: len(used)]))
    test_vectors = vectors[positions[len(used):]]
    scores, predictions = run_experiments(
        [vectors[[train_row[i] for i in chosen]] for chosen in experiments],
        [[train_labels[i] for i in chosen] for chosen in experiments],
        test_vectors, test_labels, seed=config["seed"], max_iter=config["max_iter"])
    correct = np.mean([np.asarray(p, dtype=object) == np.asarray(test_labels, dtype=object) for p in predictions],
                      axis=0)
    return SplitResult(
        scores=scores,
        source=f"train: {train_source}; eval: {test_source}",
        protocol=f"{PROTOCOL}; samples_per_label={config['samples_per_label']}, "
                 f"n_experiments={config['n_experiments']}, seed={config['seed']}, max_iter={config['max_iter']}",
        items=make_items("Classification", label=list(test_labels), correct_fraction=correct.tolist(),
                         train_rows_per_experiment=[len(chosen) for chosen in experiments]),
    )


def run_experiments(train_vectors: list[np.ndarray], train_labels: list[list[Any]], test_vectors: np.ndarray,
                    test_labels: Sequence[Any], *, seed: int = 42, max_iter: int = 100
                    ) -> tuple[dict[str, float], list[list[Any]]]:
    """Fit one classifier per experiment; mean and spread of each metric, and the predictions."""
    from sklearn.linear_model import LogisticRegression

    per_experiment, predictions = [], []
    for vectors, labels in zip(train_vectors, train_labels):
        classifier = LogisticRegression(max_iter=max_iter, random_state=seed)
        classifier.fit(vectors, labels)
        predicted = classifier.predict(test_vectors)
        predictions.append(predicted.tolist())
        per_experiment.append(metrics.classification_scores(test_labels, predicted))
    scores: dict[str, float] = {}
    for metric in per_experiment[0]:
        values = [s[metric] for s in per_experiment]
        scores[metric] = float(np.mean(values))
        scores[f"{metric}_std"] = float(np.std(values))
    scores["n_experiments"] = float(len(per_experiment))
    return scores, predictions
