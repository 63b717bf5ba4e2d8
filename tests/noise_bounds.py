"""How far float noise can move a rank statistic: tolerances derived from the data, not guessed.

Two computations of the same embeddings (another backend, batch shape or CPU) differ by float
noise (~1e-7 here). A Pearson correlation moves by that order; a Spearman correlation can jump
when two values closer than the noise swap ranks. Swapping two items of adjacent ranks changes
the sum of squared rank differences by 2|g_a - g_b| <= 2(n - 1), so rho by at most
12 / (n (n + 1)); any reordering inside a group of close values is a chain of such swaps, at most
one per pair of values within ``eps``.
"""

from __future__ import annotations

import numpy as np

NOISE = 1e-5  # far above the measured noise between our backends and sentence-transformers (~1e-7)


def close_pairs(values, eps: float = NOISE) -> int:
    """Pairs of values within ``eps`` of each other."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    return int(sum(np.searchsorted(v, x + eps, side="left") - i - 1 for i, x in enumerate(v)))


def spearman_noise_bound(values, eps: float = NOISE) -> float:
    """The most a Spearman correlation over ``values`` can move when values within ``eps`` reorder."""
    n = len(values)
    return 12.0 * close_pairs(values, eps) / (n * (n + 1))


def sts_tolerances(left, right, base: float = 1e-6) -> dict[str, float]:
    """Per STS metric (evaluators.sts.sts_scores), the tolerance for the same embeddings computed
    twice: ``base`` for the Pearson correlations, plus the rank-swap bound for the Spearman ones."""
    from cmteb_eval.evaluators import metrics

    values = {"cosine": metrics.paired_cosine(left, right), "manhattan": -metrics.paired_manhattan(left, right),
              "euclidean": -metrics.paired_euclidean(left, right)}
    out = {}
    for kind, v in values.items():
        out[f"{kind}_pearson"] = base
        out[f"{kind}_spearman"] = base + spearman_noise_bound(v)
    out["pearson"], out["spearman"] = out["cosine_pearson"], out["cosine_spearman"]
    return out
