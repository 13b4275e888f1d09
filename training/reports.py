"""Evaluation reports: training curves, ROC curve, reliability diagram, per-source table.

matplotlib with the Agg backend: no display on the training machine.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from serving.metrics import binary_metrics, roc_curve


def training_curves(metrics_csv: Path, out_png: Path) -> None:
    with Path(metrics_csv).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return
    epochs = [int(r["epoch"]) for r in rows]

    def col(name: str) -> list[float]:
        return [float(r[name]) if r[name] not in ("", None) else np.nan for r in rows]

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, col("train_loss"), "o-", label="train loss")
    ax1.plot(epochs, col("val_loss"), "o-", label="val log loss")
    ax1.set_xlabel("epoch"), ax1.legend(), ax1.set_title("loss")
    ax2.plot(epochs, col("val_auc"), "o-", label="val AUC")
    ax2.plot(epochs, col("val_accuracy"), "o-", label="val accuracy")
    ax2.set_xlabel("epoch"), ax2.legend(), ax2.set_title("validation")
    fig.tight_layout()
    fig.savefig(out_png, dpi=90)
    plt.close(fig)


def roc_plot(groups: dict[str, tuple[np.ndarray, np.ndarray]], out_png: Path, title: str = "") -> None:
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, (labels, probs) in groups.items():
        if len(np.unique(labels)) < 2:
            continue
        fpr, tpr, _ = roc_curve(labels, probs)
        auc = binary_metrics(labels, probs)["auc"]
        ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f}, n={len(labels)})")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set_xlabel("false positive rate (real called fake)")
    ax.set_ylabel("true positive rate (fakes caught)")
    ax.set_title(f"ROC {title}")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png, dpi=90)
    plt.close(fig)


def reliability(labels: np.ndarray, probs: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Per-bin mean confidence vs observed fake rate, and the expected calibration error."""
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(probs, edges[1:-1]), 0, bins - 1)
    mean_p, frac, count = [], [], []
    for b in range(bins):
        mask = idx == b
        count.append(int(mask.sum()))
        mean_p.append(float(probs[mask].mean()) if mask.any() else float("nan"))
        frac.append(float(labels[mask].mean()) if mask.any() else float("nan"))
    n = max(1, len(probs))
    ece = float(sum(c / n * abs(m - f) for c, m, f in zip(count, mean_p, frac) if c))
    return {"mean_probability": mean_p, "fake_rate": frac, "count": count, "ece": ece}


def reliability_plot(labels: np.ndarray, probs: np.ndarray, out_png: Path, title: str = "") -> float:
    rel = reliability(labels, probs)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k:", lw=1, label="perfect")
    ax.plot(rel["mean_probability"], rel["fake_rate"], "o-", label=f"model (ECE {rel['ece']:.3f})")
    ax.set_xlabel("predicted fake probability")
    ax.set_ylabel("observed fake rate")
    ax.set_title(f"reliability {title}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(out_png, dpi=90)
    plt.close(fig)
    return rel["ece"]


def write_reports(
    run_dir: Path, labels: np.ndarray, probs: np.ndarray, meta: list[dict[str, Any]], *, title: str = ""
) -> dict[str, Any]:
    """ROC (overall + per source), reliability diagram, per-source CSV, per-item CSV.

    Items with a ``video`` key (frames of one clip/track) also get video-level metrics: the
    mean probability of the video's items against its label.
    """
    run_dir = Path(run_dir)
    labels = np.asarray(labels)
    probs = np.asarray(probs, dtype=np.float64)
    sources = np.array([m.get("source", "") for m in meta])
    groups = {"all": (labels, probs)}
    for name in sorted(set(sources)):
        groups[name] = (labels[sources == name], probs[sources == name])
    roc_plot(groups, run_dir / "roc.png", title)
    ece = reliability_plot(labels, probs, run_dir / "reliability.png", title)
    with (run_dir / "per_source.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "n", "auc", "accuracy", "balanced_accuracy", "log_loss"])
        for name, (y, p) in groups.items():
            m = binary_metrics(y, p)
            writer.writerow(
                [
                    name,
                    m["n"],
                    *(round(m.get(k, float("nan")), 4) for k in ("auc", "accuracy", "balanced_accuracy", "log_loss")),
                ]
            )
    with (run_dir / "val_predictions.csv").open("w", newline="") as handle:
        keys = sorted({k for m in meta for k in m})
        writer = csv.writer(handle)
        writer.writerow([*keys, "label", "probability"])
        for m, y, p in zip(meta, labels, probs):
            writer.writerow([m.get(k, "") for k in keys] + [int(y), round(float(p), 5)])
    extra: dict[str, Any] = {"ece": round(ece, 4)}
    videos = [m.get("video") for m in meta]
    if any(v is not None for v in videos):
        by_video: dict[str, list[int]] = {}
        for i, v in enumerate(videos):
            if v is not None:
                by_video.setdefault(v, []).append(i)
        v_labels = np.array([labels[ix[0]] for ix in by_video.values()])
        v_probs = np.array([probs[ix].mean() for ix in by_video.values()])
        extra["video_level"] = binary_metrics(v_labels, v_probs)
    return {"extra_metrics": extra}
