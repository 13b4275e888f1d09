"""Intake decode timings on ../shared/data/videos, printed as JSON.

For each clip, side by side in the same run (medians of --repeat interleaved runs):
  * ``load_media``    - the real entry point (strategy chosen automatically);
  * ``all``           - decode every frame in order, convert only the samples (no skipping);
  * ``nonref``        - skip non-reference frames, convert only the samples;
  * ``naive_all_rgb`` - decode every frame and convert every frame to RGB (what a simple loop does).
Wall ``ms`` and process ``cpu_ms`` (all threads) are both reported: on a busy shared machine the
wall time swings several-fold while the CPU time stays comparable between runs.
Usage: nice -n 10 .venv/bin/python benchmarks/bench_intake.py [--frames 32] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import av

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from serving.intake import IntakeLimits, load_media  # noqa: E402
from serving.intake._limits import Deadline  # noqa: E402
from serving.intake._video import decode, open_container, probe  # noqa: E402

LIMITS = IntakeLimits(
    max_file_bytes=200_000_000,
    max_image_pixels=40_000_000,
    max_video_seconds=600.0,
    max_video_pixels=3840 * 2160,
    decode_timeout_s=60.0,
)


def run_strategy(data: bytes, n_frames: int, skip: str | None) -> dict:
    started = time.perf_counter()
    container = open_container(data, LIMITS, "mp4")
    plan = probe(container, LIMITS, Deadline(60))
    container.close()
    container = open_container(data, LIMITS, "mp4")
    try:
        frames, info = decode(data, container, plan, limits=LIMITS, deadline=Deadline(60), n_frames=n_frames, skip=skip)
    finally:
        container.close()
    elapsed = (time.perf_counter() - started) * 1000
    times = [frame.t for frame in frames]
    return {
        "ms": elapsed,
        "frames_sampled": len(frames),
        "frames_decoded": info["frames_decoded"],
        "strategy": info["strategy"],
        "coverage": (times[-1] - times[0]) / plan.duration_s if plan.duration_s else None,
    }


def run_load_media(path: Path, n_frames: int) -> dict:
    started = time.perf_counter()
    media = load_media(path, limits=LIMITS, n_frames=n_frames)
    elapsed = (time.perf_counter() - started) * 1000
    times = [frame.t for frame in media.frames]
    return {
        "ms": elapsed,
        "probe_ms": media.timings_ms["probe"],
        "decode_ms": media.timings_ms["decode"],
        "frames_sampled": len(media.frames),
        "frames_decoded": media.details.get("frames_decoded"),
        "strategy": media.details.get("strategy"),
        "seeks": media.details.get("seeks"),
        "coverage": (times[-1] - times[0]) / media.duration_s if media.duration_s else None,
        "size": f"{media.width}x{media.height}",
        "duration_s": media.duration_s,
    }


def run_naive(path: Path) -> dict:
    started = time.perf_counter()
    decoded = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            frame.to_ndarray(format="rgb24")
            decoded += 1
    return {"ms": (time.perf_counter() - started) * 1000, "frames_decoded": decoded}


def cpu_s() -> float:
    """CPU seconds of this process, all threads: much less sensitive to a busy shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(run, *args) -> dict:
    before = cpu_s()
    result = run(*args)
    result["cpu_ms"] = (cpu_s() - before) * 1000
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=Path, default=REPO.parent / "shared" / "data" / "videos")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="substring of the clip names to run")
    args = parser.parse_args()

    # the machine is shared: record how busy it was, or the milliseconds mean nothing
    report = {"frames": args.frames, "repeat": args.repeat, "load_before": os.getloadavg()[0], "videos": {}}
    for path in sorted(args.videos.glob("*/*.mp4")):
        if args.only not in path.stem:
            continue
        data = path.read_bytes()
        runs: dict[str, list[dict]] = {"load_media": [], "all": [], "nonref": [], "naive_all_rgb": []}
        for _ in range(args.repeat):  # interleaved so machine load hits every variant alike
            runs["load_media"].append(timed(run_load_media, path, args.frames))
            runs["all"].append(timed(run_strategy, data, args.frames, None))
            runs["nonref"].append(timed(run_strategy, data, args.frames, "NONREF"))
            runs["naive_all_rgb"].append(timed(run_naive, path))
        summary = {}
        for name, results in runs.items():
            summary[name] = {
                **results[-1],
                "ms": statistics.median(r["ms"] for r in results),
                "cpu_ms": statistics.median(r["cpu_ms"] for r in results),
            }
            summary[name] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in summary[name].items()}
        summary["speedup_vs_naive"] = round(summary["naive_all_rgb"]["ms"] / summary["load_media"]["ms"], 2)
        report["videos"][path.stem] = summary
        print(json.dumps({path.stem: summary}), file=sys.stderr)
    report["load_after"] = os.getloadavg()[0]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
