"""Would "unlike anything in training → uncertain" help? Measured on the leave-one-source-out folds.

For each fold of a recipe in the LOSO report (``fakewatch loso``), the fold's checkpoint embeds
crops of the sources it trained on (pooled penultimate features, PCA to --dims) and fits a
Mahalanobis distance; the threshold is the --quantile of the distances of the seen sources'
validation crops. Then, on the held-out source (the "new kind of fake" of that fold): how many
crops are flagged, and what log loss and confident-wrong share would be if flagged crops were
answered 0.5 (uncertain) instead of the model's probability. The same for the seen validation
crops (the price: right answers turned uncertain). Prints JSON.
Usage: nice .venv/bin/python benchmarks/bench_ood.py --recipe synth [--out results/ood-cpu2.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fakewatch.settings import get_settings  # noqa: E402
from serving.metrics import log_loss  # noqa: E402
from serving.models import load_checkpoint  # noqa: E402
from training.data import read_crop, to_tensor  # noqa: E402
from training.loso import pick_rows  # noqa: E402


def embed(ckpt, cache_dir: Path, rows: list[dict[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Pooled features and calibrated probabilities (no test-time augmentation)."""
    card, model = ckpt.card, ckpt.model
    mean, std = np.asarray(card.mean, np.float32), np.asarray(card.std, np.float32)
    feats, probs = [], []
    with torch.inference_mode():
        for start in range(0, len(rows), 64):
            x = torch.stack(
                [
                    to_tensor(read_crop(cache_dir, r["crop"]), card.input_size, mean, std)
                    for r in rows[start : start + 64]
                ]
            )
            f = model.pool(model.features(x)).flatten(1)
            feats.append(f.numpy())
            probs.append(torch.sigmoid(model.head(f).squeeze(1) / card.temperature).numpy())
    return np.concatenate(feats), np.concatenate(probs)


class Mahalanobis:
    def __init__(self, x: np.ndarray, dims: int) -> None:
        self.mean = x.mean(0)
        _, s, vt = np.linalg.svd(x - self.mean, full_matrices=False)
        self.basis = vt[:dims]
        var = (s[:dims] ** 2) / max(1, len(x) - 1)
        self.inv = 1.0 / (var + 1e-6 * var.max())

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) @ self.basis.T
        return np.sqrt((z * z * self.inv).sum(1))


def outcome(labels: np.ndarray, probs: np.ndarray, flagged: np.ndarray, bands: tuple[float, float]) -> dict:
    lo, hi = bands
    answered = np.where(flagged, 0.5, probs)
    confident = (answered < lo) | (answered >= hi)
    wrong = confident & ((answered >= hi) != (labels == 1))
    confident0 = (probs < lo) | (probs >= hi)
    wrong0 = confident0 & ((probs >= hi) != (labels == 1))
    return {
        "n": int(len(labels)),
        "flagged_share": round(float(flagged.mean()), 4),
        "log_loss_before": round(log_loss(labels, probs), 4),
        "log_loss_after": round(log_loss(labels, answered), 4),
        "confident_wrong_before": int(wrong0.sum()),
        "confident_wrong_after": int(wrong.sum()),
        "confident_right_lost": int((confident0 & ~wrong0 & flagged).sum()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", type=Path, default=REPO / "benchmarks/results/loso.json")
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--cache-dir", type=Path, default=get_settings().data_dir / "cache")
    parser.add_argument("--per-label", type=int, default=300)
    parser.add_argument("--dims", type=int, default=32)
    parser.add_argument("--quantile", type=float, default=0.95)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    folds = json.loads(args.report.read_text())["recipes"][args.recipe]["folds"]
    out: dict = {
        "benchmark": "ood_mahalanobis",
        "recipe": args.recipe,
        "dims": args.dims,
        "quantile": args.quantile,
        "machine": f"{platform.machine()} x{os.cpu_count()}",
        "folds": {},
    }
    for held_out, fold in folds.items():
        ckpt = load_checkpoint(Path(fold["run_dir"]) / "checkpoint")
        bands = (ckpt.card.thresholds.real_below, ckpt.card.thresholds.fake_at_or_above)
        train = [
            r
            for s in fold["trained_on"]
            for r in pick_rows(args.cache_dir, s, splits=("train",), per_label=args.per_label)
        ]
        val = [
            r
            for s in fold["trained_on"]
            for r in pick_rows(args.cache_dir, s, splits=("val",), per_label=args.per_label // 2)
        ]
        new = pick_rows(args.cache_dir, held_out, per_label=args.per_label)
        f_train, _ = embed(ckpt, args.cache_dir, train)
        f_val, p_val = embed(ckpt, args.cache_dir, val)
        f_new, p_new = embed(ckpt, args.cache_dir, new)
        dist = Mahalanobis(f_train, args.dims)
        threshold = float(np.quantile(dist(f_val), args.quantile))
        y_val = np.array([int(r["label"]) for r in val])
        y_new = np.array([int(r["label"]) for r in new])
        out["folds"][held_out] = {
            "threshold": round(threshold, 3),
            "seen_validation": outcome(y_val, p_val, dist(f_val) > threshold, bands),
            "held_out": outcome(y_new, p_new, dist(f_new) > threshold, bands),
        }
        print(held_out, json.dumps(out["folds"][held_out]), file=sys.stderr)
    text = json.dumps(out, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
