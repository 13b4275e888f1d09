"""What a larger image-CNN input would buy and cost; prints one JSON object.

Usage: .venv/bin/python benchmarks/bench_input_size.py [--cache-dir data/cache] [--repeats 5]

Three parts, each a measurement the choice of ``input_size`` rests on:
- ``native_face_px``: the side of the detected face box in each shared source's own pixels
  (from the crop cache's manifest). A network input larger than this only sees upsampled pixels.
- ``forward``: the image CNN's CPU time per face at each size (random weights; speed does not
  depend on them), with the hflip test-time augmentation the shipped card uses (2 passes).
- ``loso``: the leave-one-source-out rows of ``benchmarks/results/loso.json`` whose recipe name
  ends in ``-<size>px`` next to the 128-px row they extend (``fakewatch loso ... --set
  data.input_size=<size> --recipe <name>-<size>px``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_models import _time
from serving.models import create_model
from training.cache import ok_rows, read_manifest

SIZES = (128, 160, 192, 224)
REPO = Path(__file__).resolve().parent.parent


def native_face_px(cache_dir: Path) -> dict[str, dict[str, float]]:
    """Quantiles of the face box side (max of width, height) per source, in source pixels."""
    sides: dict[str, list[int]] = defaultdict(list)
    for row in ok_rows(read_manifest(cache_dir)):
        sides[row["source"]].append(max(int(row["x2"]) - int(row["x1"]), int(row["y2"]) - int(row["y1"])))
    out = {}
    for source, values in sorted(sides.items()):
        values.sort()
        q = statistics.quantiles(values, n=20)
        out[source] = {
            "n": len(values),
            "p5": q[0],
            "median": statistics.median(values),
            "p95": q[-1],
            **{f"share_at_least_{s}": round(sum(v >= s for v in values) / len(values), 3) for s in SIZES[1:]},
        }
    return out


def forward_cost(repeats: int) -> list[dict[str, float]]:
    cnn = create_model("efficientnet_lite0", pretrained=False).eval()
    runs = []
    for size in SIZES:
        x = torch.randn(2 * 8, 3, size, size)  # 8 faces, hflip TTA doubles the batch
        timing = _time(lambda x=x: cnn(x), repeats)
        runs.append({"input": size, "faces": 8, **timing, "per_face_ms": round(timing["median_ms"] / 8, 1)})
    return runs


def loso_rows(report: Path) -> dict[str, dict[str, object]]:
    if not report.exists():
        return {}
    recipes = json.loads(report.read_text())["recipes"]
    wanted = {name for name in recipes if name.endswith("px")}
    wanted |= {name.rsplit("-", 1)[0] for name in wanted if name.rsplit("-", 1)[0] in recipes}
    out = {}
    for name in sorted(wanted):
        folds = recipes[name]["folds"]
        out[name] = {
            "overrides": recipes[name]["overrides"],
            "held_out": {s: [f["held_out"]["auc"], f["held_out"]["log_loss"]] for s, f in folds.items()},
            "minutes": {s: f["minutes"] for s, f in folds.items()},
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache-dir", type=Path, default=REPO / "data/cache")
    parser.add_argument("--report", type=Path, default=REPO / "benchmarks/results/loso.json")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, object] = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "load_average_before": [round(v, 2) for v in os.getloadavg()],
        "native_face_px": native_face_px(args.cache_dir) or None,
        "forward": forward_cost(args.repeats),
        "loso": loso_rows(args.report),  # [auc, log loss] per held-out source
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
