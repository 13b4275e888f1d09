"""From calibrated probabilities to verdicts, fused track scores and suspicious moments.

Kept free of torch so the same rules can be unit tested (and reused by evaluation) cheaply.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from serving.constants import TOP_MOMENTS
from serving.contract import TimelinePoint, Verdict

DEFAULT_VIDEO_WEIGHT = 0.5  # fusion when the video card does not say: LSTM and CNN weigh the same


def _threshold(thresholds: Any, key: str) -> float:
    """Read a threshold from a card's ``Thresholds`` or a plain dict alike."""
    if isinstance(thresholds, Mapping):
        return float(thresholds[key])
    return float(getattr(thresholds, key))


def band(p: float, thresholds: Any) -> Verdict:
    """``p < real_below`` → real, ``p >= fake_at_or_above`` → fake, otherwise uncertain."""
    p = float(p)
    if not math.isfinite(p) or not 0.0 <= p <= 1.0:
        raise ValueError(f"a calibrated probability must be within [0, 1], got {p}")
    real_below = _threshold(thresholds, "real_below")
    fake_at = _threshold(thresholds, "fake_at_or_above")
    if not 0.0 <= real_below <= fake_at <= 1.0:
        raise ValueError(f"thresholds out of order: real_below={real_below}, fake_at_or_above={fake_at}")
    if p < real_below:
        return Verdict.REAL
    if p >= fake_at:
        return Verdict.FAKE
    return Verdict.UNCERTAIN


def calibrate(logits: Any, temperature: float) -> np.ndarray:
    """``sigmoid(logit / T)`` in float64, overflow-safe."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))


def video_weight(fusion: Mapping[str, Any] | None, *, image_trained: bool, video_trained: bool) -> tuple[float, str]:
    """The LSTM's weight in a track's score, and why (``CheckResult.fusion``).

    An untrained model's output is noise, so when exactly one of the two is trained the
    trained one decides alone; otherwise the video card's ``fusion["video_weight"]`` applies.
    """
    if video_trained and not image_trained:
        return 1.0, "video model only (the image model is untrained)"
    if image_trained and not video_trained:
        return 0.0, "image model only (the video model is untrained)"
    weight = float((fusion or {}).get("video_weight", DEFAULT_VIDEO_WEIGHT))
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"fusion video_weight must be within [0, 1], got {weight}")
    return weight, f"weighted mean: video {weight:g}, image {1.0 - weight:g}"


def fuse(video_p: float | np.ndarray, image_p: float | np.ndarray, weight: float) -> Any:
    """Weighted mean of the LSTM's and the image CNN's probabilities."""
    return weight * np.asarray(video_p, dtype=np.float64) + (1.0 - weight) * np.asarray(image_p, dtype=np.float64)


def top_moments(times: Sequence[float], probabilities: Sequence[float], k: int = TOP_MOMENTS) -> list[TimelinePoint]:
    """The ``k`` most suspicious timestamps, most suspicious first (ties: earlier first)."""
    order = sorted(range(len(times)), key=lambda i: (-float(probabilities[i]), float(times[i])))
    return [TimelinePoint(t=float(times[i]), fake_probability=float(probabilities[i])) for i in order[: max(0, k)]]
