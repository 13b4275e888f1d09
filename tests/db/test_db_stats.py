"""db.stats: counts, percentiles (one implementation) and charts on a small known log, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest

from db import stats


async def test_stats_over_a_window(session, seeded) -> None:
    now = seeded["now"]
    st = await stats.stats(session, since=now - dt.timedelta(days=7), until=now)
    assert st.total == 10  # the 10-day-old check is outside the window
    assert st.by_verdict == {"real": 4, "fake": 3, "uncertain": 1, "no_face": 1, "invalid": 1}
    assert st.by_kind == {"image": 8, "video": 2}
    assert st.by_source == {"group": 9, "private": 1}
    assert st.by_model_version == {"v1": 8, "v2": 2}
    assert st.by_chat[0] == {"chat_id": -100, "checks": 7, "fake": 1}
    assert st.by_chat[1] == {"chat_id": -200, "checks": 2, "fake": 2}
    # latencies 10..100 ms: exact linear-interpolation percentiles on both backends
    assert st.latency_ms["p50"] == pytest.approx(55.0)
    assert st.latency_ms["p95"] == pytest.approx(95.5)
    assert st.feedback == {"votes": 5, "agree": 3, "disagree": 2, "agreement_rate": pytest.approx(0.6)}
    assert st.to_dict()["since"].startswith("2026-01-13")


async def test_charts_per_day(session, seeded) -> None:
    now = seeded["now"]
    per_day = await stats.checks_per_day(session, since=now - dt.timedelta(days=7), until=now)
    assert sum(r["checks"] for r in per_day) == 10
    assert {"day": "2026-01-20", "verdict": "fake", "checks": 2} in per_day
    lat = await stats.latency_per_day(session, since=now - dt.timedelta(days=7), until=now)
    today = next(r for r in lat if r["day"] == "2026-01-20")
    assert today["checks"] == 2 and today["p50"] == pytest.approx(15.0)


def test_histogram_percentiles_are_within_half_a_percent() -> None:
    import math
    import random

    rng = random.Random(7)
    values = sorted(rng.lognormvariate(6, 0.8) for _ in range(50_000))
    counts: dict[int, int] = {}
    for v in values:
        b = math.floor(math.log(v) * stats.LATENCY_BUCKETS_PER_E)
        counts[b] = counts.get(b, 0) + 1
    approx = stats.percentiles_from_histogram(sorted(counts.items()), (0.5, 0.95, 0.99))
    for q, got in zip((0.5, 0.95, 0.99), approx):
        exact = stats.percentile(values, q)
        assert abs(got - exact) / exact < 0.005, (q, got, exact)
    assert stats.percentiles_from_histogram([], (0.5,)) == [None]


async def test_large_windows_use_the_histogram(session, seeded, backend, monkeypatch) -> None:
    monkeypatch.setattr(stats, "EXACT_PERCENTILE_MAX_ROWS", 3)
    now = seeded["now"]
    got = await stats.latency_percentiles(session, since=now - dt.timedelta(days=7), until=now)
    # PostgreSQL switches to the histogram (within a bucket of exact); SQLite stays exact.
    assert got["p50"] == pytest.approx(55.0, rel=0.01) and got["p95"] == pytest.approx(95.5, rel=0.01)


async def test_stats_takes_percentiles_from_its_own_pass_on_wide_windows(session, seeded, monkeypatch) -> None:
    monkeypatch.setattr(stats, "EXACT_PERCENTILE_MAX_ROWS", 3)
    now = seeded["now"]
    st = await stats.stats(session, since=now - dt.timedelta(days=7), until=now)
    assert st.total == 10
    assert st.latency_ms["p50"] == pytest.approx(55.0, rel=0.01)
    assert st.latency_ms["p95"] == pytest.approx(95.5, rel=0.01)


def test_one_quantile_rule_for_lists_and_histograms() -> None:
    assert stats.percentile([10.0, 20.0, 30.0, 40.0], 0.5) == pytest.approx(25.0)
    assert stats.percentile([7.0], 0.95) == 7.0 and stats.percentile([], 0.5) is None
    # a histogram with one value per bucket agrees with the list it was built from, to a bucket
    values = [10.0, 20.0, 40.0, 80.0]
    import math

    buckets = [(math.floor(math.log(v) * stats.LATENCY_BUCKETS_PER_E), 1) for v in values]
    got = stats.percentiles_from_histogram(buckets, (0.5,))[0]
    assert got == pytest.approx(stats.percentile(values, 0.5), rel=0.01)
