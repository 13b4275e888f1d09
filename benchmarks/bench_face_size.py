"""How the image CNN's answers degrade as faces get smaller: the evidence for min_reliable_face_px.

Validation crops of the face-crop cache (``fakewatch prepare-data``) are shrunk so the face is
S pixels wide (the crop holds the face plus the engine's margin on each side) and upscaled back,
which is what the engine's crop of a face that small looks like; each size is scored with the
shipped checkpoint. Prints JSON per face side: AUC, log loss, ECE, and how often a confident
verdict (outside the card's uncertain band) is wrong.
Usage: nice -n 10 .venv/bin/python benchmarks/bench_face_size.py [--per-label 300] [--out results/face-size-cpu2.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fakewatch.settings import get_settings  # noqa: E402
from serving.models import image_logits, load_checkpoint  # noqa: E402
from training.data import read_crop, to_tensor  # noqa: E402
from training.loso import pick_rows, source_metrics  # noqa: E402

SIDES = (24, 32, 40, 48, 64, 96, 0)  # 0: the crop as cached


def shrink(rgb: np.ndarray, face_side: int, margin: float) -> np.ndarray:
    """The crop as it would look had the face been ``face_side`` px wide in the original."""
    if not face_side:
        return rgb
    crop_side = max(2, int(round(face_side * (1 + 2 * margin))))
    small = cv2.resize(rgb, (crop_side, crop_side), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, rgb.shape[:2][::-1], interpolation=cv2.INTER_LINEAR)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    settings = get_settings()
    parser.add_argument("--checkpoint", type=Path, default=REPO / "models" / "image")
    parser.add_argument("--cache-dir", type=Path, default=settings.data_dir / "cache")
    parser.add_argument("--sources", default="dfdc,mesonet,stylegan,lfw")
    parser.add_argument("--per-label", type=int, default=300)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(max(1, (os.cpu_count() or 2)))
    ckpt = load_checkpoint(args.checkpoint)
    card = ckpt.card
    trained_on = set(card.training.get("data", {}).get("sources", []))
    rows = []
    for source in args.sources.split(","):
        splits = ("val",) if source in trained_on else ("train", "val", "test")  # never-seen: all of it
        rows += pick_rows(args.cache_dir, source, splits=splits, per_label=args.per_label)
    labels = np.array([int(r["label"]) for r in rows])
    crops = [read_crop(args.cache_dir, r["crop"]) for r in rows]
    mean, std = np.asarray(card.mean, np.float32), np.asarray(card.std, np.float32)
    lo, hi = card.thresholds.real_below, card.thresholds.fake_at_or_above
    results = []
    for side in SIDES:
        probs = []
        with torch.inference_mode():
            for start in range(0, len(crops), 64):
                x = torch.stack(
                    [
                        to_tensor(shrink(c, side, settings.face_margin), card.input_size, mean, std)
                        for c in crops[start : start + 64]
                    ]
                )
                probs.append(torch.sigmoid(image_logits(ckpt.model, x, card) / card.temperature).numpy())
        p = np.concatenate(probs)
        confident = (p < lo) | (p >= hi)
        wrong = confident & ((p >= hi) != (labels == 1))
        m = source_metrics(labels, p)
        m.update(
            {
                "face_side_px": side or "as cached",
                "confident_share": round(float(confident.mean()), 4),
                "confident_wrong_share": round(float(wrong.sum() / max(1, confident.sum())), 4),
            }
        )
        results.append(m)
        print(json.dumps(m), file=sys.stderr)
    out = {
        "benchmark": "face_size",
        "checkpoint": f"{card.name} {card.version}",
        "sources": args.sources,
        "n": int(len(labels)),
        "bands": {"real_below": lo, "fake_at_or_above": hi},
        "machine": f"{platform.machine()} x{os.cpu_count()}",
        "results": results,
    }
    text = json.dumps(out, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
