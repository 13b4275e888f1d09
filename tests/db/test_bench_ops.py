"""The ops benchmark still runs end to end (a tiny database; figures come from the full run)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_ops.py"


@pytest.mark.slow
async def test_bench_ops_runs_every_query(capsys) -> None:
    spec = importlib.util.spec_from_file_location("bench_ops", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert await asyncio.to_thread(module.main, ["--rows", "3000", "--repeat", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] == 3000 and report["feedback_rows"] == 150
    timings = report["timings"]
    assert {"stats --since 7d", "checks --min-prob 0.95", "feedback --wrong", "purge --older-than 85"} <= set(timings)
    assert timings["export --since 1d --format csv"]["detail"]["rows"] > 0
    assert all(t["median_ms"] > 0 for t in timings.values())
