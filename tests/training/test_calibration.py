"""Temperature scaling lowers log loss on a miscalibrated set; bands meet their precision rule."""

from __future__ import annotations

import numpy as np
import pytest

from serving.metrics import binary_metrics, log_loss, roc_auc, sigmoid
from training.calibration import band_thresholds, calibrate, fit_temperature, nll


def overconfident(n: int = 4000, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    true_logit = (y * 2 - 1) * 1.0 + rng.normal(0, 1.2, n)  # the honest logit
    return true_logit * 4.0, y  # a model 4x too sure of itself


def test_temperature_lowers_log_loss_and_keeps_ranking():
    logits, y = overconfident()
    t = fit_temperature(logits, y)
    assert 2.5 < t < 6.0
    assert nll(logits, y, t) < nll(logits, y, 1.0) - 0.1
    assert roc_auc(y, sigmoid(logits / t)) == pytest.approx(roc_auc(y, sigmoid(logits)))


def test_underconfident_gets_t_below_one():
    logits, y = overconfident()
    assert fit_temperature(logits / 16.0, y) < 1.0


def test_degenerate_inputs():
    assert fit_temperature([], []) == 1.0
    assert fit_temperature([1.0, 2.0], [1, 1]) == 1.0


def test_bands_reach_target_precision():
    logits, y = overconfident()
    cal = calibrate(logits, y, target_precision=0.95)
    p = sigmoid(logits / cal["temperature"])
    lo, hi = cal["thresholds"]["real_below"], cal["thresholds"]["fake_at_or_above"]
    assert 0 < lo <= hi < 1
    assert (y[p < lo] == 0).mean() >= 0.95
    assert (y[p >= hi] == 1).mean() >= 0.95
    assert cal["nll_after"] < cal["nll_before"]


def test_perfect_separation_gives_one_threshold():
    p = np.r_[np.linspace(0.01, 0.3, 50), np.linspace(0.7, 0.99, 50)]
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    bands = band_thresholds(p, y)
    assert bands["real_below"] == bands["fake_at_or_above"]
    assert 0.3 <= bands["real_below"] <= 0.7


def test_random_model_falls_back_to_defaults():
    rng = np.random.default_rng(1)
    bands = band_thresholds(rng.random(500), rng.integers(0, 2, 500))
    assert "default" in bands["rule"]


def test_metrics_known_values():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert roc_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    assert np.isnan(roc_auc([1, 1], [0.2, 0.3]))
    assert log_loss([1, 0], [0.5, 0.5]) == pytest.approx(np.log(2))
    m = binary_metrics([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.9])
    assert m["accuracy"] == 0.75 and m["balanced_accuracy"] == 0.75
