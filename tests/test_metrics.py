import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from cmteb_eval.evaluators import metrics


def test_average_precision_by_hand():
    # ranking: 1 0 1 0 -> precision at the hits: 1/1, 2/3
    assert metrics.average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx((1 + 2 / 3) / 2)


def test_average_precision_ties_form_one_threshold():
    # a tied group of (pos, neg) at the top counts as precision 1/2, whatever the order
    assert metrics.average_precision([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert metrics.average_precision([0, 1], [0.5, 0.5]) == pytest.approx(0.5)


def test_average_precision_equals_sklearn_on_random_tied_scores():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(2, 60))
        labels = rng.integers(0, 2, n)
        if labels.sum() == 0:
            labels[0] = 1
        scores = rng.integers(0, 6, n) / 5.0  # many ties
        assert metrics.average_precision(labels, scores) == pytest.approx(
            average_precision_score(labels, scores), abs=1e-12)


def test_pair_thresholds_equal_mteb():
    from mteb.abstasks.pair_classification import AbsTaskPairClassification as Ref

    rng = np.random.default_rng(1)
    for _ in range(100):
        n = int(rng.integers(3, 80))
        labels = rng.integers(0, 2, n)
        scores = np.round(rng.normal(size=n), 1).tolist()  # ties
        for higher in (True, False):
            acc, acc_t = metrics.best_accuracy_threshold(labels, scores, higher)
            ref_acc, ref_t = Ref._find_best_acc_and_threshold(None, scores, labels, higher)
            assert acc == pytest.approx(ref_acc) and acc_t == pytest.approx(ref_t)
            f1 = metrics.best_f1_threshold(labels, scores, higher)
            ref = Ref._find_best_f1_and_threshold(None, scores, labels, higher)
            assert (f1["f1"], f1["precision"], f1["recall"], f1["threshold"]) == pytest.approx(ref)


def test_correlations_and_similarities():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(20, 8)), rng.normal(size=(20, 8))
    from sklearn.metrics.pairwise import paired_cosine_distances

    np.testing.assert_allclose(metrics.paired_cosine(a, b), 1 - paired_cosine_distances(a, b), atol=1e-12)
    assert metrics.spearman([1, 2, 3, 4], [10, 20, 30, 25]) == pytest.approx(0.8)
    assert metrics.pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)


def test_correlations_equal_scipy_with_ties_and_constants():
    """Our numpy Spearman/Pearson (scipy is not imported on the run path) equal scipy's."""
    from scipy.stats import pearsonr, rankdata, spearmanr

    rng = np.random.default_rng(5)
    for size in (2, 3, 17, 500):
        for _ in range(20):
            x = rng.integers(0, 6, size).astype(float)  # heavy ties
            y = np.round(rng.normal(size=size), 1)
            np.testing.assert_array_equal(metrics.average_ranks(x), rankdata(x))
            if np.ptp(x) == 0 or np.ptp(y) == 0:
                assert np.isnan(metrics.spearman(x, y)) and np.isnan(metrics.pearson(x, y))
                continue
            assert metrics.spearman(x, y) == pytest.approx(spearmanr(x, y)[0], abs=1e-13)
            assert metrics.pearson(x, y) == pytest.approx(pearsonr(x, y)[0], abs=1e-13)
