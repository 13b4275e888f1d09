"""Temperature scaling and the real / uncertain / fake bands, fitted on validation logits.

Temperature scaling (Guo et al., 2017) divides logits by one T > 0 chosen to minimise the
validation negative log-likelihood: it fixes over-confidence without changing the ranking (AUC).

Band rule (documented in every model card): ``real_below`` is the largest threshold such that
the validation crops scored below it are real with at least ``target_precision``; ``fake_at_or_above``
is the smallest threshold such that those at or above it are fake with at least that precision.
If the two cross (a very clean validation set) both become the threshold that maximises balanced
accuracy between them; if one cannot reach the target, it falls back to a conservative default.
"""

from __future__ import annotations

import math

import numpy as np

from serving.metrics import log_loss, sigmoid

MIN_T, MAX_T = 0.05, 20.0
FALLBACK_REAL_BELOW = 0.2
FALLBACK_FAKE_AT_OR_ABOVE = 0.8
MIN_BAND_SUPPORT = 10  # a band threshold must keep at least this many validation crops in the band


def nll(logits, labels, temperature: float) -> float:
    return log_loss(labels, sigmoid(np.asarray(logits, dtype=np.float64) / temperature))


def fit_temperature(logits, labels) -> float:
    """T minimising validation NLL (golden-section search on log T; NLL is unimodal in it)."""
    z = np.asarray(logits, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.int64).ravel()
    if len(z) == 0 or len(np.unique(y)) < 2:
        return 1.0
    lo, hi = math.log(MIN_T), math.log(MAX_T)
    golden = (math.sqrt(5) - 1) / 2
    a, b = hi - golden * (hi - lo), lo + golden * (hi - lo)
    fa, fb = nll(z, y, math.exp(a)), nll(z, y, math.exp(b))
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - golden * (hi - lo)
            fa = nll(z, y, math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + golden * (hi - lo)
            fb = nll(z, y, math.exp(b))
    return float(math.exp((lo + hi) / 2))


def band_thresholds(probs, labels, *, target_precision: float = 0.95) -> dict[str, float | str]:
    """``real_below`` / ``fake_at_or_above`` from calibrated validation probabilities (rule above)."""
    p = np.asarray(probs, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.int64).ravel()
    candidates = np.unique(np.clip(np.round(p, 4), 0.01, 0.99))
    real_below = fake_at = None
    for t in candidates:  # increasing: keep the largest t whose real band is precise enough
        band = p < t
        if band.sum() >= MIN_BAND_SUPPORT and (y[band] == 0).mean() >= target_precision:
            real_below = float(t)
    for t in candidates[::-1]:  # decreasing: keep the smallest t whose fake band is precise enough
        band = p >= t
        if band.sum() >= MIN_BAND_SUPPORT and (y[band] == 1).mean() >= target_precision:
            fake_at = float(t)
    rule = f"precision>={target_precision} per band on validation"
    if real_below is None:
        real_below, rule = FALLBACK_REAL_BELOW, rule + "; real band unreachable -> default"
    if fake_at is None:
        fake_at, rule = FALLBACK_FAKE_AT_OR_ABOVE, rule + "; fake band unreachable -> default"
    if real_below > fake_at:
        between = candidates[(candidates >= fake_at) & (candidates <= real_below)]
        best, best_t = -1.0, 0.5
        for t in between:
            pred = p >= t
            bal = 0.5 * ((pred[y == 1]).mean() + (~pred[y == 0]).mean())
            if bal > best:
                best, best_t = bal, float(t)
        real_below = fake_at = best_t
        rule += "; bands crossed -> one threshold at best balanced accuracy"
    return {"real_below": round(real_below, 4), "fake_at_or_above": round(fake_at, 4), "rule": rule}


def calibrate(logits, labels, *, target_precision: float = 0.95) -> dict:
    """Fit T, then the bands on the calibrated probabilities; report NLL before and after."""
    t = fit_temperature(logits, labels)
    probs = sigmoid(np.asarray(logits, dtype=np.float64) / t)
    bands = band_thresholds(probs, labels, target_precision=target_precision)
    return {
        "temperature": round(t, 4),
        "nll_before": nll(logits, labels, 1.0),
        "nll_after": nll(logits, labels, t),
        "thresholds": {"real_below": bands["real_below"], "fake_at_or_above": bands["fake_at_or_above"]},
        "threshold_rule": bands["rule"],
    }
