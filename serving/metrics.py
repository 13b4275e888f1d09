"""Binary-classification metrics without scikit-learn, for ``fakewatch evaluate`` and training alike.

NaN where a metric is undefined (one class absent, no items); reports turn NaN into null.
"""

from __future__ import annotations

import numpy as np


def _as_arrays(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=np.int64).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length: {y.shape} vs {s.shape}")
    return y, s


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve (Mann-Whitney U with tied ranks); NaN when one class is absent."""
    y, s = _as_arrays(labels, scores)
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_curve(labels, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds), thresholds decreasing, starting at +inf."""
    y, s = _as_arrays(labels, scores)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    distinct = np.r_[np.where(np.diff(s))[0], len(s) - 1]
    tps = np.cumsum(y)[distinct]
    fps = (1 + distinct) - tps
    tpr = np.r_[0.0, tps / max(1, y.sum())]
    fpr = np.r_[0.0, fps / max(1, (1 - y).sum())]
    return fpr, tpr, np.r_[np.inf, s[distinct]]


def log_loss(labels, probs, eps: float = 1e-7) -> float:
    y, p = _as_arrays(labels, probs)
    if len(y) == 0:
        return float("nan")
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def binary_metrics(labels, probs, threshold: float = 0.5) -> dict[str, float]:
    """n, AUC, accuracy, balanced accuracy and log loss of fake probabilities."""
    y, p = _as_arrays(labels, probs)
    if len(y) == 0:
        return {"n": 0}
    pred = (p >= threshold).astype(np.int64)
    tpr = float((pred[y == 1] == 1).mean()) if (y == 1).any() else float("nan")
    tnr = float((pred[y == 0] == 0).mean()) if (y == 0).any() else float("nan")
    return {
        "n": int(len(y)),
        "auc": roc_auc(y, p),
        "accuracy": float((pred == y).mean()),
        "balanced_accuracy": float(np.nanmean([tpr, tnr])),
        "log_loss": log_loss(y, p),
    }


def sigmoid(x) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(x, dtype=np.float64), -60, 60)))
