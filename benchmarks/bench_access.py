"""Benchmark API keys and per-key limits: what a check costs the ingress, and whether one key
flooding past its rate slows another key's checks.

Not a test. Two parts, one JSON document:

    nice -n 10 .venv/bin/python benchmarks/bench_access.py [--checks 40] [--flood 16] [--out r.json]

1. ``admit``: microseconds per ``Access.admit`` in process (1 000 keys in the key file), for an
   admitted request and for one refused with 429 (the per-request cost of keys and limits).
2. ``http``: a local Ray with the real application (tiny untrained checkpoints: the model is not
   what is measured), API keys required, two keys made by ``fakewatch ops keys`` (SQLite). Key B
   sends ``--checks`` image checks at concurrency 2, first alone, then while key A (3 requests
   per minute) floods the same ingress at concurrency ``--flood``, and again while a key with no
   effective limit floods with real checks (what the limits prevent). Reports B's p50/p95 in each
   phase, how many of A's requests were refused and how fast, and the CPU milliseconds each Ray
   process spends per refused request (a 429 still crosses the Serve proxy and the ingress).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tests"))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
SHARED = Path(os.environ.get("FAKEWATCH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


def bench_admit(n: int = 100_000) -> dict[str, Any]:
    from starlette.requests import Request

    from serving.api_keys import KeyRecord, key_hash, new_key, write_key_file
    from serving.app.access import Access

    with tempfile.TemporaryDirectory() as tmp:
        keys = [new_key() for _ in range(1000)]
        path = Path(tmp) / "api_keys.json"
        write_key_file(path, [KeyRecord(i, f"k{j}", key_hash(k), 10**9, 10**15) for j, (k, i) in enumerate(keys)])
        access = Access("keys", path, public_requests_per_minute=1, public_bytes_per_hour=1)
        slow = Access("keys", path, public_requests_per_minute=1, public_bytes_per_hour=1)

        def request(key: str) -> Request:
            return Request(
                {
                    "type": "http",
                    "method": "POST",
                    "path": "/v1/check",
                    "query_string": b"",
                    "headers": [(b"authorization", f"Bearer {key}".encode())],
                    "client": ("10.0.0.1", 1),
                }
            )

        reqs = [request(keys[i % len(keys)][0]) for i in range(1000)]
        started = time.perf_counter()
        for i in range(n):
            assert not hasattr(access.admit(reqs[i % 1000], 50_000), "status")
        admitted_us = (time.perf_counter() - started) / n * 1e6
        # one key with 1 request per minute: after its first, every call is a 429
        one = keys[0][0]
        write_key_file(path, [KeyRecord(keys[0][1], "tight", key_hash(one), 1, 10**15)])
        slow.keys._checked_at = -1e9  # read the new file now
        req = request(one)
        slow.admit(req, 50_000)
        started = time.perf_counter()
        for _ in range(n):
            assert slow.admit(req, 50_000).status == 429
        refused_us = (time.perf_counter() - started) / n * 1e6
    return {"admitted_us": round(admitted_us, 2), "refused_us": round(refused_us, 2), "keys_in_file": 1000}


async def _check(session: aiohttp.ClientSession, url: str, key: str, data: bytes) -> tuple[int, float]:
    started = time.monotonic()
    async with session.post(url + "/v1/check", data=data, headers={"Authorization": f"Bearer {key}"}) as resp:
        await resp.read()
        return resp.status, time.monotonic() - started


def _own_ray_cpu_seconds() -> dict[str, float]:
    """CPU seconds of the Ray processes of *this* benchmark's cluster (descendants of its raylet),
    by process title; other sessions' Ray clusters on a shared machine are left out."""
    import ray
    from bench_serving import _ray_cpu_seconds

    raylet = ray._private.worker._global_node.all_processes["raylet"][0].process.pid
    parents: dict[int, int] = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            parents[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    mine = {raylet}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                grew = True
    root = Path(tempfile.mkdtemp(prefix="proc-view-"))
    try:  # reuse bench_serving's reader on a view of /proc holding only our processes
        for pid in mine:
            (root / str(pid)).symlink_to(f"/proc/{pid}")
        return _ray_cpu_seconds(root)
    finally:
        for link in root.iterdir():
            link.unlink()
        root.rmdir()


async def _refusal_cost(url: str, flooder: str, photo: bytes, flood: int, seconds: float) -> dict[str, Any]:
    """Only refused requests for ``seconds``: the CPU each Ray process spends on one 429."""
    from bench_serving import _cpu_per_check

    _ray_cpu_seconds = _own_ray_cpu_seconds
    answers: list[tuple[int, float]] = []
    deadline = time.monotonic() + seconds

    async def loop(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            answers.append(await _check(session, url, flooder, photo))

    async with aiohttp.ClientSession() as s:
        before = _ray_cpu_seconds()
        await asyncio.gather(*(loop(s) for _ in range(flood)))
        after = _ray_cpu_seconds()
    refused = sum(1 for status, _ in answers if status == 429)
    return {
        "refused": refused,
        "other": len(answers) - refused,
        "cpu_ms_per_refusal": _cpu_per_check(before, after, refused),
    }


async def _phase(
    url: str, good: str, photos: list[bytes], checks: int, flooder: str | None, flood: int
) -> dict[str, Any]:
    stop = asyncio.Event()
    flood_answers: list[tuple[int, float]] = []

    async def flood_loop(session: aiohttp.ClientSession) -> None:
        while not stop.is_set():
            flood_answers.append(await _check(session, url, flooder, photos[0]))

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as s:
        flooders = [asyncio.create_task(flood_loop(s)) for _ in range(flood)] if flooder else []
        await asyncio.sleep(0.5 if flooder else 0)
        queue = list(range(checks))
        answers: list[tuple[int, float]] = []

        async def worker() -> None:
            while queue:
                i = queue.pop()
                answers.append(await _check(s, url, good, photos[i % len(photos)]))

        started = time.monotonic()
        await asyncio.gather(worker(), worker())
        wall = time.monotonic() - started
        stop.set()
        await asyncio.gather(*flooders)
    ok = [t for status, t in answers if status == 200]
    out: dict[str, Any] = {
        "checks": len(answers), "ok": len(ok), "p50_ms": _pct(ok, 0.5), "p95_ms": _pct(ok, 0.95),
        "checks_per_s": round(len(ok) / wall, 2),
    }  # fmt: skip
    if flooder:
        refused = [t for status, t in flood_answers if status == 429]
        out["flood"] = {
            "requests": len(flood_answers), "answered_200": sum(1 for s, _ in flood_answers if s == 200),
            "refused_429": len(refused), "refused_per_s": round(len(refused) / wall, 1),
            "refusal_p50_ms": _pct(refused, 0.5), "refusal_p95_ms": _pct(refused, 0.95),
        }  # fmt: skip
    return out


def bench_http(checks: int, flood: int) -> dict[str, Any]:
    import ray
    from ray import serve
    from serving_app.conftest import write_tiny_checkpoints

    from fakewatch.ops_cli import ops_main
    from serving.app import build_app
    from serving.app.cli import use_throughput_mode, use_trusted_proxies

    photos = [p.read_bytes() for p in sorted((SHARED / "faces" / "stylegan" / "real").glob("*.jpg"))[:16]]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        image_dir, video_dir = write_tiny_checkpoints(root / "ckpt")
        key_file = root / "api_keys.json"
        db_url = f"sqlite+aiosqlite:///{root / 'keys.sqlite3'}"
        from fakewatch.db_cli import db_main

        assert db_main(["--database-url", db_url, "upgrade"]) == 0

        def make(name: str, rpm: int) -> str:
            out = io.StringIO()
            assert (
                ops_main(
                    [
                        "keys",
                        "create",
                        name,
                        "--requests-per-minute",
                        str(rpm),
                        "--database-url",
                        db_url,
                        "--key-file",
                        str(key_file),
                        "--json",
                    ],
                    out=out,
                )
                == 0
            )
            return json.loads(out.getvalue())["key"]

        good, flooder, unlimited = make("bot", 100_000), make("flooder", 3), make("no-limit", 100_000)
        use_throughput_mode()
        use_trusted_proxies([])
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        port = _free_port()
        try:
            serve.start(http_options={"host": "127.0.0.1", "port": port})
            serve.run(build_app({
                "settings": {"image_model": str(image_dir), "video_model": str(video_dir), "device": "cpu",
                             "api_access": "keys", "api_keys_file": str(key_file)},
                "ingress": {"num_cpus": 0.1}, "prep": {"num_cpus": 0.3}, "image": {"num_cpus": 0.3},
                "video": {"num_cpus": 0.3},
            }), name="fakewatch", route_prefix="/")  # fmt: skip
            url = f"http://127.0.0.1:{port}"
            asyncio.run(_phase(url, good, photos, 8, None, 0))  # warm up
            alone = asyncio.run(_phase(url, good, photos, checks, None, 0))
            flooded = asyncio.run(_phase(url, good, photos, checks, flooder, flood))
            cost = asyncio.run(_refusal_cost(url, flooder, photos[0], flood, 8.0))
            # what the same flood does when its key has no effective limit: real checks
            unlimited_flood = asyncio.run(_phase(url, good, photos, checks, unlimited, flood))
        finally:
            serve.shutdown()
            ray.shutdown()
    ratio = None
    if alone["p95_ms"] and flooded["p95_ms"]:
        ratio = round(flooded["p95_ms"] / alone["p95_ms"], 2)
    return {
        "alone": alone,
        "while_another_key_floods": flooded,
        "p95_ratio_flooded_vs_alone": ratio,
        "flood_concurrency": flood,
        "refusals_only": cost,
        "while_an_unlimited_key_floods": unlimited_flood,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=40)
    parser.add_argument("--flood", type=int, default=16)
    parser.add_argument("--no-http", action="store_true", help="only the in-process admit timing")
    parser.add_argument("--out", type=Path)
    opts = parser.parse_args(argv)
    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
        },
        "admit": bench_admit(),
    }
    if not opts.no_http:
        result["http"] = bench_http(opts.checks, opts.flood)
    result["machine"]["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    text = json.dumps(result, indent=2)
    print(text)
    if opts.out:
        opts.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
