"""Every metric definition, tie rule and denominator in one place.

All inputs are converted to float64 before any arithmetic. Conventions follow
the reference implementation (mteb) so that the same inputs give the same
numbers; where a tie rule matters it is stated beside the function. This module
imports nothing of the package (numpy and scipy; sklearn inside the functions that
use its definitions), so the report layer may use it without the evaluators.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

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


def average_ranks(values) -> np.ndarray:
    """1-based ranks; tied values share the average of their ranks (scipy's ``rankdata``)."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="mergesort")
    inverse = np.empty(len(values), dtype=np.int64)
    inverse[order] = np.arange(len(values))
    ordered = values[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    group = starts.cumsum()[inverse]
    bounds = np.r_[np.nonzero(starts)[0], len(values)]
    return 0.5 * (bounds[group] + bounds[group - 1] + 1)


def pearson(x, y) -> float:
    """Pearson's r in float64, clipped to [-1, 1] (as scipy); NaN when either side is constant."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) != len(y):
        raise ValueError(f"pearson: {len(x)} values against {len(y)}")
    if len(x) < 2:
        return float("nan")
    dx, dy = x - x.mean(), y - y.mean()
    denominator = np.sqrt(np.dot(dx, dx)) * np.sqrt(np.dot(dy, dy))
    if denominator == 0:
        return float("nan")
    return float(np.clip(np.dot(dx, dy) / denominator, -1.0, 1.0))


def spearman(x, y) -> float:
    """Spearman's rho: Pearson's r of the average ranks (ties share their mean rank, as scipy)."""
    return pearson(average_ranks(x), average_ranks(y))


def correlation_with_p(x, y, method: str) -> tuple[float, float]:
    """scipy's ``spearmanr`` or ``pearsonr`` as (statistic, two-sided p-value): mteb 1.x's Summarization
    score averages both numbers (evaluators/summarization.py, protocol v1)."""
    from scipy.stats import pearsonr, spearmanr

    result = (spearmanr if method == "spearman" else pearsonr)(np.asarray(x, np.float64), np.asarray(y, np.float64))
    return float(result.statistic), float(result.pvalue)


def row_spearman(values: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Spearman per row of two [rows, n] arrays (average ranks for ties), as scipy computes it for
    one row; 0 for a row where either side is constant (a resample of tied items)."""
    from scipy.stats import rankdata

    x = rankdata(values, axis=1)
    y = rankdata(gold, axis=1)
    x -= x.mean(axis=1, keepdims=True)
    y -= y.mean(axis=1, keepdims=True)
    denominator = np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (x * y).sum(axis=1) / denominator, 0.0)


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


# ---------------------------------------------------------------- classification and clustering


def classification_scores(gold: Sequence[Any], predicted: Sequence[Any]) -> dict[str, float]:
    """mteb's metrics of one classifier's predictions; ``ap`` only for a binary evaluation split with
    integer labels (mteb scores AP on the hard 0/1 predictions; string labels have no such order)."""
    from sklearn.metrics import accuracy_score, average_precision_score, f1_score, precision_score, recall_score

    scores = {
        "accuracy": accuracy_score(gold, predicted),
        "f1": f1_score(gold, predicted, average="macro"),
        "f1_weighted": f1_score(gold, predicted, average="weighted"),
        "precision": precision_score(gold, predicted, average="macro", zero_division=0),
        "precision_weighted": precision_score(gold, predicted, average="weighted", zero_division=0),
        "recall": recall_score(gold, predicted, average="macro", zero_division=0),
        "recall_weighted": recall_score(gold, predicted, average="weighted", zero_division=0),
    }
    if len(set(gold)) == 2 and all(isinstance(g, (int, np.integer)) for g in gold):
        scores["ap"] = average_precision_score(gold, predicted, average="macro")
        scores["ap_weighted"] = average_precision_score(gold, predicted, average="weighted")
    return {k: float(v) for k, v in scores.items()}


def v_measure(gold: Sequence[Any], assigned: Sequence[Any]) -> float:
    """The V-measure of a clustering against gold labels (sklearn's, as mteb)."""
    from sklearn.metrics.cluster import v_measure_score

    return float(v_measure_score(gold, assigned))


# ---------------------------------------------------------------- retrieval (trec_eval)

# The cut-offs mteb reports for retrieval (and for reranking under protocol v2).
RETRIEVAL_K_VALUES = (1, 3, 5, 10, 20, 100, 1000)


def trec_order(doc_ids, scores) -> np.ndarray:
    """Indices that rank documents as trec_eval does: score descending, then doc id descending.

    trec_eval (and so pytrec_eval and mteb) breaks ties by document id in
    *descending* string order; Python/numpy string order is code-point order,
    which equals the byte order of UTF-8 that trec_eval's strcmp uses.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) == 0:
        return np.zeros(0, dtype=np.int64)
    ids = np.asarray([str(d) for d in doc_ids])
    return np.lexsort((ids, scores))[::-1]


def query_retrieval_metrics(ranked_gains, judged_gains, k_values=RETRIEVAL_K_VALUES) -> dict[str, float]:
    """trec_eval's ndcg_cut, map_cut, recall, P and success, plus mteb's MRR@k, for one query.

    ``ranked_gains``: the qrels relevance of each retrieved document in rank order
    (0 for unjudged ones). ``judged_gains``: the relevance of every judged
    document of the query (the qrels row), retrieved or not.
    Definitions (trec_eval, relevance_level 1):
      relevant = relevance >= 1; num_rel counts relevant judged documents.
      P@k = relevant in top k / k (k even when fewer were retrieved);
      recall@k = relevant in top k / num_rel;
      map_cut@k = sum of precision at each relevant rank <= k, / num_rel;
      ndcg_cut@k = DCG@k / ideal DCG@k, gain = relevance, discount log2(rank + 1),
        the ideal ranking sorting every judged relevance descending;
      success@k = 1 if a relevant document is in the top k;
      MRR@k (mteb's own) = 1 / rank of the first document with relevance > 0 within k.
    Every value is 0 when the query has no relevant document.
    """
    gains = np.asarray(ranked_gains, dtype=np.float64)
    judged = np.asarray(judged_gains, dtype=np.float64)
    relevant = gains >= 1
    num_rel = int((judged >= 1).sum())
    hits = np.cumsum(relevant)
    ranks = np.arange(1, len(gains) + 1, dtype=np.float64)
    discounts = 1.0 / np.log2(ranks + 1)
    dcg = np.cumsum(np.where(gains > 0, gains, 0.0) * discounts)
    ideal = np.sort(judged[judged > 0])[::-1]
    ideal_dcg = np.cumsum(ideal / np.log2(np.arange(2, len(ideal) + 2)))
    precision_sum = np.cumsum(np.where(relevant, hits / ranks, 0.0))
    first_positive = int(np.argmax(gains > 0)) + 1 if (gains > 0).any() else 0
    out: dict[str, float] = {}
    for k in k_values:
        n = min(k, len(gains))
        hit_k = float(hits[n - 1]) if n else 0.0
        out[f"ndcg_at_{k}"] = float(dcg[n - 1] / ideal_dcg[min(k, len(ideal)) - 1]) if n and len(ideal) else 0.0
        out[f"map_at_{k}"] = float(precision_sum[n - 1] / num_rel) if n and num_rel else 0.0
        out[f"recall_at_{k}"] = hit_k / num_rel if num_rel else 0.0
        out[f"precision_at_{k}"] = hit_k / k
        out[f"mrr_at_{k}"] = 1.0 / first_positive if 0 < first_positive <= k else 0.0
        out[f"hit_rate_at_{k}"] = 1.0 if hit_k > 0 else 0.0
    return out


def retrieval_metrics(qrels: dict[str, dict[str, float]], run: dict[str, dict[str, float]],
                      k_values=RETRIEVAL_K_VALUES) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Mean and per-query retrieval metrics of ``run`` against ``qrels``, as pytrec_eval + mteb compute them.

    Queries scored: those in both ``qrels`` and ``run`` (an empty run scores 0),
    as pytrec_eval does; the mean is over those queries. mteb rounds its
    trec_eval means to 5 decimals; we keep full precision.
    """
    per_query: dict[str, dict[str, float]] = {}
    for qid, docs in run.items():
        judged = qrels.get(qid)
        if judged is None:
            continue
        doc_ids = list(docs)
        order = trec_order(doc_ids, [docs[d] for d in doc_ids])
        ranked_gains = [judged.get(doc_ids[i], 0) for i in order]
        per_query[qid] = query_retrieval_metrics(ranked_gains, list(judged.values()), k_values)
    if not per_query:
        return {}, per_query
    names = next(iter(per_query.values())).keys()
    means = {name: float(np.mean([scores[name] for scores in per_query.values()])) for name in names}
    return means, per_query


# ---------------------------------------------------------------- reranking protocols


def reranking_v1_query(is_relevant, scores, mrr_at_k: int = 10) -> tuple[float, float]:
    """(AP, MRR@k) of one query's candidates, as mteb 1.x's RerankingEvaluator scored them.

    AP is sklearn's ``average_precision_score`` (tied scores form one threshold);
    MRR@k walks ``argsort(-scores)``, which keeps tied candidates in input order
    (positives first, as the evaluator lists them), then takes 1/rank of the first
    relevant one within k. These were the published C-MTEB reranking numbers.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(is_relevant, dtype=bool)
    ap = average_precision(labels.astype(np.float64), scores)
    order = np.argsort(-scores, kind="stable")[:mrr_at_k]
    hits = np.nonzero(labels[order])[0]
    mrr = 1.0 / (hits[0] + 1) if len(hits) else 0.0
    return ap, float(mrr)


def reranking_v1(relevances: Sequence[Sequence[float]], scores: Sequence[np.ndarray], mrr_at_k: int = 10
                 ) -> tuple[dict[str, float], list[int], list[float], list[float]]:
    """Protocol v1 over queries: mean AP (``map``) and MRR@k (``mrr``, ``mrr_at_10``), the queries
    scored (indices) and their AP and MRR. Queries without a positive or without a negative
    candidate are skipped, as mteb 1.x did; with none left the means are empty."""
    kept, aps, mrrs = [], [], []
    for index, (relevance, query_scores) in enumerate(zip(relevances, scores)):
        relevant = np.asarray(relevance, dtype=np.float64) > 0
        if not relevant.any() or relevant.all():
            continue
        ap, mrr = reranking_v1_query(relevant, query_scores, mrr_at_k=mrr_at_k)
        kept.append(index)
        aps.append(ap)
        mrrs.append(mrr)
    if not kept:
        return {}, kept, aps, mrrs
    means = {"map": float(np.mean(aps)), "mrr": float(np.mean(mrrs)), "mrr_at_10": float(np.mean(mrrs))}
    return means, kept, aps, mrrs


def reranking_v2(qrels: dict[str, dict[str, float]], run: dict[str, dict[str, float]]
                 ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Protocol v2: the candidates scored as a retrieval run (trec_eval), with ``map`` = ``map_at_1000``
    and ``mrr`` = ``mrr_at_10`` so that the main metric reads either protocol."""
    means, per_query = retrieval_metrics(qrels, run)
    means["map"] = means["map_at_1000"]
    means["mrr"] = means["mrr_at_10"]
    return means, per_query
