"""The one implementation of AUC and log loss (fakewatch evaluate and training share it)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from serving.metrics import binary_metrics, log_loss, roc_auc


def test_roc_auc_matches_hand_computed_values():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert roc_auc([0, 1], [0.2, 0.9]) == 1.0 and roc_auc([1, 0], [0.2, 0.9]) == 0.0
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.5)  # ties
    assert math.isnan(roc_auc([1, 1], [0.2, 0.3]))  # undefined with one class, not 0.5
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = rng.random(200)
    brute = np.mean([(sp > sn) + 0.5 * (sp == sn) for sp in s[y == 1] for sn in s[y == 0]])
    assert roc_auc(y, s) == pytest.approx(brute)


def test_log_loss():
    assert log_loss([1, 0], [0.9, 0.1]) == pytest.approx(-np.log(0.9))
    assert np.isfinite(log_loss([1], [0.0]))  # clipped, never infinite
    assert math.isnan(log_loss([], []))


def test_binary_metrics_of_nothing_is_just_a_count():
    assert binary_metrics([], []) == {"n": 0}
