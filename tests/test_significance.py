"""The paired tests: exact statistics, pairing rules, reproducibility, calibration under the null."""

import numpy as np
import pytest

from cmteb_eval.evaluators import metrics
from cmteb_eval.report.comparison import significance as sig


def sts_items(rng, n=300, noise=0.5):
    gold = rng.integers(0, 6, n).astype(float)  # ties, as in real STS gold scores
    return gold, gold + rng.normal(0, noise, n)


def test_statistics_equal_the_evaluator_metrics():
    rng = np.random.default_rng(0)
    gold, a = sts_items(rng)
    b = gold + rng.normal(0, 1.0, len(gold))
    paired = sig.pair_items("STS", "cosine_spearman", {"gold": gold.tolist(), "cosine": a.tolist()},
                            {"gold": gold.tolist(), "cosine": b.tolist()})
    assert sig.score(paired, "baseline") == pytest.approx(metrics.spearman(a, gold), abs=1e-12)
    assert sig.score(paired, "candidate") == pytest.approx(metrics.spearman(b, gold), abs=1e-12)
    labels = (rng.random(200) < 0.4).astype(float)
    s1, s2 = labels + rng.normal(0, 1, 200), labels + rng.normal(0, 2, 200)
    paired = sig.pair_items("PairClassification", "cosine_ap", {"label": labels.tolist(), "cosine": s1.tolist()},
                            {"label": labels.tolist(), "cosine": s2.tolist()})
    assert sig.score(paired, "candidate") == pytest.approx(metrics.average_precision(labels, s2), abs=1e-12)


def test_identical_runs_are_not_different():
    rng = np.random.default_rng(1)
    gold, a = sts_items(rng)
    items = {"gold": gold.tolist(), "cosine": a.tolist()}
    for method in sig.METHODS:
        result = sig.paired_test(sig.pair_items("STS", None, items, dict(items)), "T", method)
        assert result.delta == 0 and result.p_value == 1.0 and result.ci_low == result.ci_high == 0


def test_a_real_difference_is_found_and_the_ci_covers_it():
    rng = np.random.default_rng(2)
    gold, a = sts_items(rng, n=800, noise=0.5)
    b = gold + rng.normal(0, 2.0, len(gold))  # much noisier: clearly worse
    paired = sig.pair_items("STS", None, {"gold": gold, "cosine": a}, {"gold": gold, "cosine": b})
    for method in sig.METHODS:
        result = sig.paired_test(paired, "T", method)
        assert result.delta < -10 and result.p_value < 0.01
        assert result.ci_low < result.delta < result.ci_high < 0


def test_seeded_results_repeat():
    rng = np.random.default_rng(3)
    gold, a = sts_items(rng)
    b = gold + rng.normal(0, 0.6, len(gold))
    paired = sig.pair_items("STS", None, {"gold": gold, "cosine": a}, {"gold": gold, "cosine": b})
    first, second = sig.paired_test(paired, "T", seed=7), sig.paired_test(paired, "T", seed=7)
    assert (first.p_value, first.ci_low, first.ci_high) == (second.p_value, second.ci_low, second.ci_high)


def test_per_query_values_are_aligned_by_query_id():
    base = {"per_query": {"ndcg_at_10": {"q1": 0.5, "q2": 1.0, "q3": 0.0}}}
    cand = {"per_query": {"ndcg_at_10": {"q3": 0.0, "q1": 0.5, "q2": 1.0}}}  # same values, other order
    paired = sig.pair_items("Retrieval", "ndcg_at_10", base, cand)
    assert np.array_equal(paired.baseline, paired.candidate)
    with pytest.raises(sig.NotPaired, match="query sets differ"):
        sig.pair_items("Retrieval", "ndcg_at_10", base, {"per_query": {"ndcg_at_10": {"q1": 0.5, "q9": 1.0}}})
    with pytest.raises(sig.NotPaired, match="main metric 'map'"):
        sig.pair_items("Reranking", "map", {"per_query": {"mrr": {"q": 1}, "ndcg": {"q": 1}}},
                       {"per_query": {"mrr": {"q": 1}, "ndcg": {"q": 1}}})


def test_items_of_different_data_are_not_paired():
    with pytest.raises(sig.NotPaired, match="not made on the same items"):
        sig.pair_items("STS", None, {"gold": [1, 2, 3], "cosine": [0.1, 0.2, 0.3]},
                       {"gold": [1, 3, 2], "cosine": [0.1, 0.2, 0.3]})
    with pytest.raises(sig.NotPaired, match="NaN"):
        sig.pair_items("STS", None, {"gold": [1, 2], "cosine": [0.1, float("nan")]},
                       {"gold": [1, 2], "cosine": [0.1, 0.2]})


@pytest.mark.parametrize("method", sig.METHODS)
def test_false_positive_rate_under_the_null_is_near_alpha(method):
    """Two models whose per-query scores have the same distribution: about 5% of tests at alpha 0.05."""
    rng = np.random.default_rng(4)
    rejections = 0
    trials = 200
    for trial in range(trials):
        quality = rng.random(60)
        a, b = quality + rng.normal(0, 0.3, 60), quality + rng.normal(0, 0.3, 60)
        items = [{"per_query": {"map": {str(i): float(v) for i, v in enumerate(x)}}} for x in (a, b)]
        result = sig.paired_test(sig.pair_items("Reranking", "map", *items), f"t{trial}", method, n_resamples=500)
        rejections += result.p_value < 0.05
    assert 0.01 <= rejections / trials <= 0.10


def test_mean_over_tasks_and_holm():
    rng = np.random.default_rng(5)
    results = []
    for name in ("A", "B"):
        gold, a = sts_items(rng)
        b = gold + rng.normal(0, 1.5, len(gold))
        results.append(sig.paired_test(sig.pair_items("STS", None, {"gold": gold, "cosine": a},
                                                      {"gold": gold, "cosine": b}), name))
    delta, low, high, p = sig.mean_of_tests(results)
    assert delta == pytest.approx(np.mean([r.delta for r in results]))
    assert low < delta < high and p < 0.01
    assert sig.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_retrieval_items_in_columns_are_paired_by_query_id():
    from cmteb_eval.report.comparison.significance import pair_items

    baseline = {"query_id": ["q1", "q2", "q3"], "ndcg_at_10": [0.5, 1.0, 0.0], "map_at_10": [0.1, 0.2, 0.3]}
    candidate = {"query_id": ["q3", "q1", "q2"], "ndcg_at_10": [0.25, 0.75, 1.0], "map_at_10": [0.3, 0.2, 0.1]}
    paired = pair_items("Retrieval", "ndcg_at_10", baseline, candidate)
    assert list(paired.baseline) == [0.5, 1.0, 0.0] and list(paired.candidate) == [0.75, 1.0, 0.25]
