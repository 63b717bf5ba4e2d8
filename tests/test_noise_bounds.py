"""The noise-derived tolerances that parity tests use (tests/noise_bounds.py)."""

import numpy as np

from cmteb_eval.evaluators import metrics

from noise_bounds import close_pairs, spearman_noise_bound


def test_close_pairs_counts_pairs_within_eps():
    assert close_pairs([0.0, 1e-6, 2e-6, 1.0]) == 3
    assert close_pairs([0.0, 0.5, 1.0]) == 0
    assert close_pairs([0.3, 0.3]) == 1


def test_the_bound_covers_every_reordering_of_close_values():
    """Reorder the values inside every group of near-ties in every way a swap allows: rho never
    moves by more than the bound."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(5, 40))
        values = np.round(rng.random(n), 2)  # many exact and near ties
        gold = rng.random(n)
        bound = spearman_noise_bound(values, eps=0.011)
        noisy = values + rng.uniform(-0.005, 0.005, n)  # moves only values within 0.011 past each other
        assert abs(metrics.spearman(noisy, gold) - metrics.spearman(values, gold)) <= bound + 1e-12
