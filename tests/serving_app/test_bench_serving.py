"""The serving benchmark's bookkeeping (the benchmark itself is not a test)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_serving.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_serving", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cpu_per_check_divides_each_process_by_answered_checks():
    bench = _bench()
    before = {"MediaPrep": 1.0, "ImageModel": 2.0, "ray::ProxyActor": 0.5}
    after = {"MediaPrep": 1.5, "ImageModel": 2.2, "ray::ProxyActor": 0.6, "ray::new": 0.1}
    rows = bench._cpu_per_check(before, after, 100)
    assert rows == {
        "MediaPrep": 5.0,
        "ImageModel": 2.0,
        "ray::ProxyActor": 1.0,
        "ray::new": 1.0,
        "all_ray_processes": 9.0,
    }
    assert list(rows)[0] == "MediaPrep"  # the costliest first
    assert bench._cpu_per_check(before, after, 0) == {}


def test_ray_cpu_seconds_reads_only_ray_processes(tmp_path):
    import os

    ticks = os.sysconf("SC_CLK_TCK")

    def proc(pid: int, title: bytes, utime: int, stime: int) -> None:
        d = tmp_path / str(pid)
        d.mkdir()
        (d / "cmdline").write_bytes(title + b"\0--flag\0")
        rest = ["S"] + ["0"] * 10 + [str(utime), str(stime)] + ["0"] * 10
        (d / "stat").write_text(f"{pid} (python (odd) name) " + " ".join(rest))

    proc(10, b"ray::ServeReplica:fakewatch:MediaPrep", 2 * ticks, ticks)
    proc(11, b"ray::ServeReplica:fakewatch:MediaPrep", ticks, 0)  # a second replica adds up
    proc(12, b"ray::ProxyActor", ticks, ticks)
    proc(13, b"/usr/bin/python3 something_else.py", 50 * ticks, 0)
    seconds = _bench()._ray_cpu_seconds(tmp_path)
    assert seconds == {"MediaPrep": 4.0, "ray::ProxyActor": 2.0}


def test_batching_ceiling_is_what_a_free_model_would_give():
    bench = _bench()
    # 40 ms per check in all, 10 of them in the image model: at best 40 / 30 faster.
    assert bench.batching_ceiling({"all_ray_processes": 40.0, "ImageModel": 10.0, "MediaPrep": 20.0}) == 1.33
    assert bench.batching_ceiling({"all_ray_processes": 40.0}) is None  # no model row: no claim
    assert bench.batching_ceiling({}) is None
    rows = [
        {
            "kind": "image",
            "batching": "off",
            "concurrency": 16,
            "checks_per_s": 10.0,
            "cpu_ms_per_check": {"all_ray_processes": 50.0, "ImageModel": 25.0},
        },
        {"kind": "image", "batching": "on", "concurrency": 16, "checks_per_s": 15.0},
    ]
    summary = bench._summary(rows)
    assert summary["image_speedup_batching_at_16"] == 1.5 and summary["image_speedup_ceiling_at_16"] == 2.0
