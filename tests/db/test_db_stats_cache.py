"""Settled-day stats cache (PostgreSQL): always equal to a full scan, even after later writes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

import db
from db import jobs, stats
from db.models import Check, StatsDay

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])

WINDOWS = [
    (None, None),
    (dt.datetime(2026, 1, 13, 12, tzinfo=dt.UTC), dt.datetime(2026, 1, 20, 12, tzinfo=dt.UTC)),
    (dt.datetime(2026, 1, 10, tzinfo=dt.UTC), dt.datetime(2026, 1, 19, tzinfo=dt.UTC)),
    (dt.datetime(2026, 1, 14, 6, tzinfo=dt.UTC), None),
]


async def _agree(session) -> None:
    for since, until in WINDOWS:
        cached = (await stats.stats(session, since=since, until=until)).to_dict()
        live = (await stats.stats(session, since=since, until=until, use_cache=False)).to_dict()
        assert cached == live, (since, until)


async def test_cached_stats_equal_a_full_scan(session, seeded, backend, monkeypatch) -> None:
    await _agree(session)
    days = (await session.execute(select(func.count()).select_from(StatsDay))).scalar()
    assert days >= 8  # settled days were stored...
    await _agree(session)  # ...and answering from them changes nothing
    monkeypatch.setattr(stats, "EXACT_PERCENTILE_MAX_ROWS", 3)  # merged histograms too
    await _agree(session)


async def test_writes_to_settled_days_invalidate_them(session, seeded, backend) -> None:
    await _agree(session)
    ids = seeded["ids"]
    old = await session.get(Check, ids[3])
    day = old.created_at.date()
    assert await session.get(StatsDay, day) is not None
    await jobs.complete_check(session, ids[3], db.Outcome(result={"verdict": "fake"}, verdict="fake",
                                                          fake_probability=0.99, model_name="m", model_version="v9",
                                                          timings_ms={"total": 5.0}))  # fmt: skip
    assert await session.get(StatsDay, day) is None
    await _agree(session)
    await jobs.migrate_chat(session, -100, -1009)
    assert (await session.execute(select(func.count()).select_from(StatsDay))).scalar() == 0
    await _agree(session)
    await jobs.purge_older_than(session, (dt.datetime.now(dt.UTC) - seeded["now"]).days + 5)
    await _agree(session)
    assert (await stats.stats(session)).by_model_version.get("v9") == 1
