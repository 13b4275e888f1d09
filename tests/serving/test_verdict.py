"""Verdict bands, calibration, fusion weights and suspicious moments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from serving.contract import Verdict
from serving.models import Thresholds
from serving.verdict import band, calibrate, fuse, top_moments, video_weight

BANDS = {"real_below": 0.3, "fake_at_or_above": 0.7}


@pytest.mark.parametrize(
    "p, expected",
    [
        (0.0, Verdict.REAL),
        (0.2999, Verdict.REAL),
        (0.3, Verdict.UNCERTAIN),
        (0.6999, Verdict.UNCERTAIN),
        (0.7, Verdict.FAKE),
        (1.0, Verdict.FAKE),
    ],
)
def test_band_edges(p, expected):
    assert band(p, BANDS) is expected
    assert band(p, Thresholds(**BANDS)) is expected  # the card's object works too


@pytest.mark.parametrize("p", [-0.1, 1.1, math.nan])
def test_band_refuses_non_probabilities(p):
    with pytest.raises(ValueError):
        band(p, BANDS)


def test_band_refuses_disordered_thresholds():
    with pytest.raises(ValueError):
        band(0.5, {"real_below": 0.8, "fake_at_or_above": 0.2})


def test_calibrate_temperature():
    assert calibrate(0.0, 1.0) == pytest.approx(0.5)
    p1, p2 = calibrate([2.0, 2.0], 1.0), calibrate([2.0, 2.0], 2.0)
    assert p1[0] == pytest.approx(1 / (1 + math.exp(-2)))
    assert p2[0] == pytest.approx(1 / (1 + math.exp(-1)))  # T > 1 pulls towards 0.5
    assert np.all(np.isfinite(calibrate([1e6, -1e6], 1.0)))
    with pytest.raises(ValueError):
        calibrate(1.0, 0.0)


def test_video_weight_rules():
    assert video_weight({}, image_trained=True, video_trained=True)[0] == 0.5
    assert video_weight({"video_weight": 0.2}, image_trained=True, video_trained=True)[0] == 0.2
    weight, why = video_weight({"video_weight": 0.2}, image_trained=True, video_trained=False)
    assert weight == 0.0 and "image model only" in why
    assert video_weight({}, image_trained=False, video_trained=True)[0] == 1.0
    assert video_weight({"video_weight": 0.8}, image_trained=False, video_trained=False)[0] == 0.8
    with pytest.raises(ValueError):
        video_weight({"video_weight": 2}, image_trained=True, video_trained=True)


def test_fuse_is_a_weighted_mean():
    assert float(fuse(0.8, 0.2, 0.5)) == pytest.approx(0.5)
    assert float(fuse(0.8, 0.2, 1.0)) == pytest.approx(0.8)
    np.testing.assert_allclose(fuse(np.array([1.0, 0.0]), np.array([0.0, 0.0]), 0.25), [0.25, 0.0])


def test_top_moments_most_suspicious_first():
    moments = [m.model_dump() for m in top_moments([0.0, 1.0, 2.0, 3.0], [0.1, 0.9, 0.5, 0.9], k=3)]
    assert moments == [
        {"t": 1.0, "fake_probability": 0.9},
        {"t": 3.0, "fake_probability": 0.9},
        {"t": 2.0, "fake_probability": 0.5},
    ]
    assert top_moments([], []) == []
