"""Benchmark the Serve application over HTTP: throughput and latency, batching on vs off.

Not a test. Starts a local Ray + the app (the shipped checkpoints, or the untrained full-size
fallbacks), then for each kind (image, video), each batching mode and each concurrency level
sends closed-loop requests and prints one JSON document:

    nice -n 10 .venv/bin/python benchmarks/bench_serving.py [--kinds image video]
        [--concurrency 1 4 16 64] [--frames 8] [--tiny] [--out results.json]

Per level: checks/s (200 answers per wall second), p50/p95 latency of 200 answers, counts of
every status (503 = pushed back, 504 = timed out) and of requests that got no answer at all
("lost": connection errors or the client's own timeout), plus the batch sizes the model replicas
formed, and the CPU milliseconds each Ray process (proxy, ingress, MediaPrep, models) spent per
answered check (from /proc: where a small machine's cores go). Targets (issue 4): image throughput with
batching ≥ 1.5× without at concurrency 16;
at 64 concurrent requests every request answered (result or 503), none lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
SHARED = Path(os.environ.get("FAKEWATCH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
CLIENT_TIMEOUT_S = 900.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _payloads(kind: str) -> list[tuple[str, bytes]]:
    if kind == "image":
        paths = sorted((SHARED / "faces" / "stylegan" / "real").glob("*.jpg"))[:32]
        paths += sorted((SHARED / "faces" / "stylegan" / "fake").glob("*.jpg"))[:32]
    else:
        paths = sorted((SHARED / "videos").glob("*/*.mp4"))
    if not paths:
        raise SystemExit(f"no {kind} media under {SHARED}")
    return [(p.name, p.read_bytes()) for p in paths]


def _ray_cpu_seconds(proc_root: Path = Path("/proc")) -> dict[str, float]:
    """CPU seconds (user + system) so far of every Ray process on this machine, by process title
    (``ray::ServeReplica:fakewatch:MediaPrep``, ``ray::ProxyActor``...); Linux only, else {}."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    out: dict[str, float] = {}
    for proc in proc_root.glob("[0-9]*"):
        try:
            title = (proc / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace").strip()
            if not title.startswith("ray::"):
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = title.split()[0].replace("ray::ServeReplica:fakewatch:", "")
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return out


def _cpu_per_check(before: dict[str, float], after: dict[str, float], checks: int) -> dict[str, float]:
    """Milliseconds of CPU each Ray process spent per answered check (where the cores went)."""
    if not checks:
        return {}
    spent = {k: after[k] - before.get(k, 0.0) for k in after}
    rows = {k: round(v * 1000 / checks, 1) for k, v in sorted(spent.items(), key=lambda kv: -kv[1]) if v > 0.005}
    rows["all_ray_processes"] = round(sum(spent.values()) * 1000 / checks, 1)
    return rows


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 1)


async def _level(url: str, payloads: list[tuple[str, bytes]], concurrency: int, total: int) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    next_index = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal next_index
        while next_index < total:
            i = next_index
            next_index += 1
            name, data = payloads[i % len(payloads)]
            form = aiohttp.FormData()
            form.add_field("file", data, filename=name, content_type="application/octet-stream")
            start = time.perf_counter()
            try:
                async with session.post(url + "/v1/check", data=form) as resp:
                    await resp.read()
                    statuses[str(resp.status)] += 1
                    if resp.status == 200:
                        latencies.append((time.perf_counter() - start) * 1000)
            except (TimeoutError, aiohttp.ClientError) as exc:
                statuses[f"lost:{type(exc).__name__}"] += 1

    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        async with session.get(url + "/v1/stats") as resp:
            before = await resp.json()
        cpu_before = _ray_cpu_seconds()
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        wall = time.perf_counter() - start
        cpu_after = _ray_cpu_seconds()
        async with session.get(url + "/v1/stats") as resp:
            after = await resp.json()
    ok = statuses.get("200", 0)
    lost = sum(v for k, v in statuses.items() if k.startswith("lost"))
    return {
        "concurrency": concurrency,
        "requests": total,
        "wall_s": round(wall, 2),
        "checks_per_s": round(ok / wall, 3) if wall else None,
        "p50_ms": _pct(latencies, 50),
        "p95_ms": _pct(latencies, 95),
        "statuses": dict(statuses),
        "answered": total - lost,
        "lost": lost,
        "batches": {model: _batch_delta(before[model], after[model]) for model in ("image_model", "video_model")},
        "cpu_ms_per_check": _cpu_per_check(cpu_before, cpu_after, ok),
    }


async def _model_level(concurrency: int, total: int, crop_size: int) -> dict[str, Any]:
    """The image CNN alone (ImageModel handle, one face crop per call): what batching buys the
    model stage, separated from decoding and face detection."""
    import numpy as np
    from ray import serve

    handle = serve.get_deployment_handle("ImageModel", app_name="fakewatch")
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 255, (1, crop_size, crop_size, 3), dtype=np.uint8) for _ in range(8)]
    latencies: list[float] = []
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < total:
            i = next_index
            next_index += 1
            start = time.perf_counter()
            await handle.score.remote(crops[i % len(crops)])
            latencies.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    return {
        "concurrency": concurrency,
        "requests": total,
        "wall_s": round(wall, 2),
        "crops_per_s": round(total / wall, 2),
        "p50_ms": _pct(latencies, 50),
        "p95_ms": _pct(latencies, 95),
    }


def _batch_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    batches = after["batches"] - before["batches"]
    requests = after["requests"] - before["requests"]
    sizes = {
        k: v - before["batch_sizes"].get(k, 0)
        for k, v in after["batch_sizes"].items()
        if v - before["batch_sizes"].get(k, 0)
    }
    return {
        "batches": batches,
        "mean_requests_per_batch": round(requests / batches, 2) if batches else None,
        "max_requests_per_batch": max((int(k) for k in sizes), default=0),
    }


def _app_args(opts: argparse.Namespace, batching: bool, ckpt_dirs: tuple[Path, Path] | None) -> dict[str, Any]:
    settings: dict[str, Any] = {"frames_per_video": opts.frames}
    if ckpt_dirs:
        settings.update(image_model=str(ckpt_dirs[0]), video_model=str(ckpt_dirs[1]))
    cpus = max(1, os.cpu_count() or 1)
    share = round(min(1.0, cpus / 4), 2)
    return {
        "settings": settings,
        "request_timeout_s": opts.request_timeout,
        "max_in_flight": opts.max_in_flight,
        "prep_threads": max(2, cpus // 2),
        "ingress": {"num_cpus": 0.1},
        "prep": {"num_cpus": share, "max_ongoing_requests": opts.max_in_flight},
        "image": {
            "num_cpus": share,
            "max_batch_size": opts.image_batch if batching else 1,
            "batch_wait_timeout_s": opts.batch_wait,
            "max_ongoing_requests": opts.max_in_flight,
        },
        "video": {
            "num_cpus": share,
            "max_batch_size": opts.video_batch if batching else 1,
            "batch_wait_timeout_s": opts.batch_wait,
            "max_ongoing_requests": opts.max_in_flight,
        },
    }


def _tiny_checkpoints(root: Path) -> tuple[Path, Path]:
    from serving.models import init_checkpoint, save_checkpoint

    image = init_checkpoint("image", name="tiny-bench-image", architecture="tiny_cnn", input_size=64)
    video = init_checkpoint(
        "video", name="tiny-bench-video", architecture="tiny_lstm", input_size=32, sequence_length=8
    )
    save_checkpoint(image.model, image.card, root / "image")
    save_checkpoint(video.model, video.card, root / "video")
    return root / "image", root / "video"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=["image", "video"], choices=["image", "video"])
    parser.add_argument("--concurrency", nargs="+", type=int, default=[1, 4, 16, 64])
    parser.add_argument("--image-requests", type=int, default=0, help="per level (default max(64, 8*c))")
    parser.add_argument("--video-requests", type=int, default=0, help="per level (default max(4, c))")
    parser.add_argument("--frames", type=int, default=8, help="frames sampled per video")
    parser.add_argument("--image-batch", type=int, default=16)
    parser.add_argument("--video-batch", type=int, default=4)
    parser.add_argument("--batch-wait", type=float, default=0.05)
    parser.add_argument("--max-in-flight", type=int, default=64)
    parser.add_argument("--request-timeout", type=float, default=600.0)
    parser.add_argument("--modes", nargs="+", default=["on", "off"], choices=["on", "off"])
    parser.add_argument("--tiny", action="store_true", help="tiny untrained models (plumbing only)")
    parser.add_argument("--num-cpus", type=int, default=None)
    parser.add_argument(
        "--serve-env",
        default="throughput",
        choices=["throughput", "default"],
        help="Ray Serve's throughput mode as `fakewatch serve` starts it, or Ray's defaults",
    )
    parser.add_argument("--out", type=Path)
    opts = parser.parse_args(argv)

    from serving.app.cli import use_throughput_mode

    serve_env = use_throughput_mode() if opts.serve_env == "throughput" else {}

    import ray

    tmp = tempfile.TemporaryDirectory(prefix="fakewatch-bench-")
    ckpts = _tiny_checkpoints(Path(tmp.name)) if opts.tiny else None
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "gpu": _gpu_name(),
            "load_average_before": [round(x, 2) for x in os.getloadavg()],
        },
        "ray": ray.__version__,
        "serve_env": serve_env,
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(opts).items()},
        "results": [],
    }
    try:
        for mode in opts.modes:
            # A fresh Ray per mode: the second deployment into a warm Serve measured the leftovers
            # of the first (its proxy spent 3x the CPU per request), which flattered whichever
            # mode ran first.
            _run_mode(opts, mode, ckpts, report["results"])
    finally:
        tmp.cleanup()
    report["summary"] = _summary(report["results"])
    text = json.dumps(report, indent=2)
    if opts.out:
        opts.out.write_text(text + "\n")
    print(text)
    return 0


def _run_mode(
    opts: argparse.Namespace, mode: str, ckpts: tuple[Path, Path] | None, results: list[dict[str, Any]]
) -> None:
    """Start Ray + Serve, deploy the app with batching ``mode``, measure every level, stop."""
    import ray
    from ray import serve

    from serving.app import build_app

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    ray.init(num_cpus=opts.num_cpus, include_dashboard=False, log_to_driver=False)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        started = time.perf_counter()
        serve.run(build_app(_app_args(opts, mode == "on", ckpts)), name="fakewatch", route_prefix="/")
        models = _get_json(url + "/v1/models")
        deploy_s = round(time.perf_counter() - started, 1)
        if "image" in opts.kinds:
            crop_size = max(models["image"]["input_size"], models["video"]["input_size"])
            asyncio.run(_model_level(2, 4, crop_size))  # warm-up
            for c in opts.concurrency:
                row = asyncio.run(_model_level(c, max(32, 4 * c), crop_size))
                row.update(kind="image_model_only", batching=mode)
                results.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
        for kind in opts.kinds:
            payloads = _payloads(kind)
            # Warm-up: first calls load weights / allocate; not measured.
            asyncio.run(_level(url, payloads, 2, 2))
            for c in opts.concurrency:
                if kind == "image":
                    total = opts.image_requests or max(64, 8 * c)
                else:
                    total = opts.video_requests or max(4, c)
                row = asyncio.run(_level(url, payloads, c, total))
                row.update(
                    kind=kind,
                    batching=mode,
                    deploy_s=deploy_s,
                    models=[f"{m['task']}={m['name']}@{m['version']}" for m in models["models"]],
                )
                results.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        serve.shutdown()
        ray.shutdown()


def batching_ceiling(cpu_ms_off: dict[str, float], model: str = "ImageModel") -> float | None:
    """The most any batching could speed up checks/s, from the unbatched run's CPU per check.

    When the machine's cores are the limit, checks/s is proportional to 1 / (CPU ms per check).
    Batching can only shrink the model replica's share; even if it made the model free, a check
    would still cost everything else. So the speed-up is at most all / (all - model).
    """
    total, spent = cpu_ms_off.get("all_ray_processes"), cpu_ms_off.get(model)
    if not total or spent is None or spent >= total:
        return None
    return round(total / (total - spent), 2)


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def pick(kind: str, mode: str, c: int) -> dict[str, Any] | None:
        return next((r for r in rows if r["kind"] == kind and r["batching"] == mode and r["concurrency"] == c), None)

    out: dict[str, Any] = {}
    on, off = pick("image", "on", 16), pick("image", "off", 16)
    if on and off and off["checks_per_s"]:
        out["image_speedup_batching_at_16"] = round(on["checks_per_s"] / off["checks_per_s"], 2)
    if off:
        ceiling = batching_ceiling(off.get("cpu_ms_per_check", {}))
        if ceiling is not None:
            out["image_speedup_ceiling_at_16"] = ceiling
    on, off = pick("image_model_only", "on", 16), pick("image_model_only", "off", 16)
    if on and off and off["crops_per_s"]:
        out["image_model_only_speedup_batching_at_16"] = round(on["crops_per_s"] / off["crops_per_s"], 2)
    for kind in ("image", "video"):
        for mode in ("on", "off"):
            r = pick(kind, mode, 64)
            if r:
                out[f"{kind}_{mode}_64_all_answered"] = r["lost"] == 0 and set(r["statuses"]) <= {"200", "503"}
    return out


def _get_json(url: str) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(url, timeout=120) as resp:
        return json.loads(resp.read())


def _gpu_name() -> str | None:
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:
        return None


if __name__ == "__main__":
    sys.exit(main())
