"""Forward-pass time of the shipped architectures on this machine's CPU; prints one JSON object.

Usage: .venv/bin/python benchmarks/bench_models.py [--repeats 5] [--threads N]
Random weights (speed does not depend on them); eval mode under ``torch.inference_mode``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from serving.models import create_model


def _time(fn, repeats: int) -> dict[str, float]:
    with torch.inference_mode():
        fn()  # warm-up: allocator, oneDNN kernel selection
        runs, cpu = [], []
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            runs.append((time.perf_counter() - start) * 1000.0)
            cpu.append((time.process_time() - start_cpu) * 1000.0)
    # cpu_ms (all threads' CPU time) is the steadier figure when other jobs share the cores
    return {
        "median_ms": round(statistics.median(runs), 1),
        "min_ms": round(min(runs), 1),
        "cpu_ms": round(statistics.median(cpu), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    results: dict[str, object] = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "repeats": args.repeats,
        "load_average_before": [round(v, 2) for v in os.getloadavg()],  # a shared CPU skews timings
        "runs": [],
    }
    cnn = create_model("efficientnet_lite0", pretrained=False).eval()
    for size in (224, 160):
        for batch in (1, 16):
            x = torch.randn(batch, 3, size, size)
            timing = _time(lambda x=x: cnn(x), args.repeats)
            results["runs"].append(
                {
                    "model": "efficientnet_lite0",
                    "input": size,
                    "batch": batch,
                    **timing,
                    "per_crop_ms": round(timing["median_ms"] / batch, 1),
                }
            )
    video = create_model("resnext50_lstm").eval()
    x = torch.randn(1, 32, 3, 112, 112)
    timing = _time(lambda: video(x), args.repeats)
    results["runs"].append(
        {
            "model": "resnext50_lstm",
            "input": 112,
            "batch": 1,
            "frames": 32,
            **timing,
            "per_frame_ms": round(timing["median_ms"] / 32, 1),
        }
    )
    results["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
