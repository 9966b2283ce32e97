"""The purchase-intent model's binary-classification metrics (intent/classification.py) on values
worked out by hand (the ROC-AUC and average-precision cases are scikit-learn's documented ones)."""
import numpy as np
import pytest

from foresight_training.intent.classification import (average_precision, classification, f1_threshold,
                                                      paired_bootstrap, roc_auc)

Y, SCORE = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]


def test_roc_auc_counts_ties_half():
    assert roc_auc(Y, SCORE) == pytest.approx(0.75)
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) == pytest.approx(0.875)


def test_average_precision_is_the_step_sum_over_recall():
    assert average_precision(Y, SCORE) == pytest.approx(0.8333333333)


def test_the_f1_threshold_lies_halfway_below_the_best_cut():
    # F1 over the cuts 0.9, 0.8, 0.7, 0.3, 0.1 is 0.5, 0.8, 0.67, 0.86, 0.75: best at >= 0.3
    assert f1_threshold(np.array([0, 1, 1, 0, 1]), np.array([0.1, 0.9, 0.8, 0.7, 0.3])) == pytest.approx(0.2)


def test_classification_counts_hard_decisions():
    assert classification([1, 1, 0, 0], [1, 0, 1, 0]) == {"accuracy": 0.5, "precision": 0.5, "recall": 0.5,
                                                          "f1": 0.5}
    assert classification([1, 0], [0, 0])["f1"] == 0.0


def test_a_paired_bootstrap_resamples_both_scorers_on_the_same_rows():
    y = np.array([0, 1] * 20)
    accuracy = lambda y, decided: float(np.mean(y == decided))  # noqa: E731
    right, wrong = y.copy(), 1 - y
    # the same rows for both: right is always 1 better, itself never
    assert paired_bootstrap(y, right, wrong, accuracy, np.random.default_rng(0), 50) == {
        "lead": 1.0, "low": 1.0, "high": 1.0}
    assert paired_bootstrap(y, right, right, accuracy, np.random.default_rng(0), 50) == {
        "lead": 0.0, "low": 0.0, "high": 0.0}
