"""Every metric definition, tie rule and denominator in one place.

All inputs are converted to float64 before any arithmetic. Conventions follow
the reference implementation (mteb) so that the same inputs give the same
numbers; where a tie rule matters it is stated beside the function.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import pearsonr, spearmanr

# ---------------------------------------------------------------- similarities


def paired_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of row i of ``a`` with row i of ``b``, in float64.

    Computed as mteb does (sklearn's ``paired_cosine_distances``): normalise
    the rows, then ``1 - ||a_hat - b_hat||^2 / 2``. Unlike a dot product of the
    normalised rows, this gives exactly 1.0 for identical embeddings, so
    identical pairs tie instead of being ordered by rounding noise; on STS
    data with duplicate pairs the difference moves Spearman by ~1e-4.
    Zero vectors are left unnormalised (as sklearn does).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    norm_a = np.linalg.norm(a, axis=1)
    norm_b = np.linalg.norm(b, axis=1)
    norm_a[norm_a == 0] = 1.0
    norm_b[norm_b == 0] = 1.0
    difference = a / norm_a[:, None] - b / norm_b[:, None]
    return 1.0 - 0.5 * np.einsum("ij,ij->i", difference, difference)


def paired_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", np.asarray(a, np.float64), np.asarray(b, np.float64))


def paired_euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64), axis=1)


def paired_manhattan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).sum(axis=1)


# ---------------------------------------------------------------- correlation


def spearman(x, y) -> float:
    """Spearman's rho; tied values get their average rank (scipy)."""
    return float(spearmanr(np.asarray(x, np.float64), np.asarray(y, np.float64))[0])


def pearson(x, y) -> float:
    return float(pearsonr(np.asarray(x, np.float64), np.asarray(y, np.float64))[0])


# ---------------------------------------------------------------- binary ranking


def average_precision(labels, scores) -> float:
    """Average precision of binary ``labels`` ranked by ``scores`` (higher first).

    Tie rule (sklearn's ``average_precision_score``): tied scores form one
    threshold, so precision is taken only after the whole tied group, and the
    order of items inside a group cannot change the result.
    Denominator: the number of positives; with no positive the result is 0.
    """
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    positives = labels.sum()
    if positives == 0:
        return 0.0
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores = scores[order]
    hits = np.cumsum(labels[order])
    # the last index of each run of tied scores
    group_ends = np.r_[np.nonzero(np.diff(sorted_scores))[0], len(scores) - 1]
    true_pos = hits[group_ends]
    precision = true_pos / (group_ends + 1)
    recall_steps = np.diff(np.r_[0.0, true_pos]) / positives
    return float(np.sum(recall_steps * precision))


def best_accuracy_threshold(labels, scores, higher_is_similar: bool = True) -> tuple[float, float]:
    """Best accuracy over thresholds placed between adjacent distinct scores.

    Tie rule (mteb 2.x): a threshold never splits tied scores. Denominator: all pairs.
    """
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores if higher_is_similar else scores, kind="mergesort")
    s, y = scores[order], labels[order]
    n = len(y)
    positives_so_far = np.cumsum(y == 1)[:-1]
    negatives_left = (y == 0).sum() - np.cumsum(y == 0)[:-1]
    valid = s[:-1] != s[1:]
    acc = np.where(valid, (positives_so_far + negatives_left) / n, -1.0)
    if n < 2 or not valid.any():
        return 0.0, -1.0
    best = int(np.argmax(acc))  # first maximum, as the reference's strict '>'
    if acc[best] <= 0:
        return 0.0, -1.0
    return float(acc[best]), float((s[best] + s[best + 1]) / 2)


def best_f1_threshold(labels, scores, higher_is_similar: bool = True) -> dict[str, float]:
    """Best F1 (with its precision, recall, threshold); same tie rule as accuracy."""
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores if higher_is_similar else scores, kind="mergesort")
    s, y = scores[order], labels[order]
    out = {"f1": 0.0, "precision": 0.0, "recall": 0.0, "threshold": 0.0}
    total_pos = (y == 1).sum()
    if len(y) < 2 or total_pos == 0:
        return out
    correct = np.cumsum(y == 1)[:-1].astype(np.float64)
    extracted = np.arange(1, len(y), dtype=np.float64)
    precision = correct / extracted
    recall = correct / total_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(correct > 0, 2 * precision * recall / (precision + recall), 0.0)
    f1 = np.where(s[:-1] != s[1:], f1, -1.0)
    best = int(np.argmax(f1))
    if f1[best] <= 0:
        return out
    return {"f1": float(f1[best]), "precision": float(precision[best]), "recall": float(recall[best]),
            "threshold": float((s[best] + s[best + 1]) / 2)}


def pair_classification_metrics(labels, scores, higher_is_similar: bool = True) -> dict[str, float]:
    """Accuracy, F1, precision, recall and AP of one similarity or distance function."""
    accuracy, accuracy_threshold = best_accuracy_threshold(labels, scores, higher_is_similar)
    f1 = best_f1_threshold(labels, scores, higher_is_similar)
    sign = 1.0 if higher_is_similar else -1.0
    return {
        "accuracy": accuracy,
        "accuracy_threshold": accuracy_threshold,
        "f1": f1["f1"],
        "f1_threshold": f1["threshold"],
        "precision": f1["precision"],
        "recall": f1["recall"],
        "ap": average_precision(labels, sign * np.asarray(scores, dtype=np.float64)),
    }
