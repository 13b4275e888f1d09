"""Operator queries on a small known log, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest

from db import queries
from db.queries import CheckFilter, FilterError


def test_parse_when() -> None:
    now = dt.datetime(2026, 1, 20, 12, tzinfo=dt.timezone.utc)
    assert queries.parse_when("7d", now=now) == now - dt.timedelta(days=7)
    assert queries.parse_when("12h", now=now) == now - dt.timedelta(hours=12)
    assert queries.parse_when("2w", now=now) == now - dt.timedelta(days=14)
    assert queries.parse_when("now", now=now) == now
    assert queries.parse_when("2026-01-01", now=now) == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert queries.parse_when("", now=now) is None
    with pytest.raises(FilterError, match="cannot read time"):
        queries.parse_when("last tuesday", now=now)


def test_filter_validation() -> None:
    with pytest.raises(FilterError, match="unknown verdict"):
        CheckFilter(verdict="maybe")
    with pytest.raises(FilterError, match="between 0 and 1"):
        CheckFilter.from_strings(min_probability="1.5")
    with pytest.raises(FilterError, match="between 0 and 1"):
        CheckFilter.from_strings(min_probability="nan")
    with pytest.raises(FilterError, match="chat must be a number"):
        CheckFilter.from_strings(chat_id="general")
    with pytest.raises(FilterError, match="since is after until"):
        CheckFilter.from_strings(since="2026-02-01", until="2026-01-01")
    assert CheckFilter.from_strings(verdict="", chat_id=" ") == CheckFilter()


async def test_stats_over_a_window(session, seeded) -> None:
    now = seeded["now"]
    st = await queries.stats(session, since=now - dt.timedelta(days=7), until=now)
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


async def test_list_checks_filters_and_pages(session, seeded) -> None:
    page = await queries.list_checks(session, CheckFilter(), limit=4, page=1)
    assert page.total == 11 and page.pages == 3 and len(page.items) == 4
    assert page.items[0]["id"] == seeded["ids"][0]  # newest first
    last = await queries.list_checks(session, CheckFilter(), limit=4, page=3)
    assert [i["id"] for i in last.items] == seeded["ids"][8:11]
    fakes = await queries.list_checks(session, CheckFilter(verdict="fake", chat_id=-200))
    assert [i["id"] for i in fakes.items] == seeded["ids"][0:2]
    assert fakes.items[0]["verdict"] == "fake" and fakes.items[0]["source"] == "group"
    bob = await queries.list_checks(session, CheckFilter(user_pseudonym="bob"))
    assert {i["id"] for i in bob.items} == {seeded["ids"][1], seeded["ids"][9]}
    sure = await queries.list_checks(session, CheckFilter(min_probability=0.9))
    assert [i["id"] for i in sure.items] == [seeded["ids"][0], seeded["ids"][6], seeded["ids"][10]]
    v2 = await queries.list_checks(session, CheckFilter(model_version="v2", since=seeded["now"] - dt.timedelta(days=3)))
    assert [i["id"] for i in v2.items] == [seeded["ids"][4]]
    with pytest.raises(FilterError):
        await queries.list_checks(session, CheckFilter(), page=0)
    with pytest.raises(FilterError):
        await queries.list_checks(session, CheckFilter(), limit=100_000)


async def test_iter_checks_streams_everything(session, seeded) -> None:
    rows = [r async for r in queries.iter_checks(session, CheckFilter(verdict="real"), with_result=True)]
    assert len(rows) == 4 and rows[0]["result"] == {"verdict": "real"}
    assert set(queries.EXPORT_COLUMNS) <= set(rows[0])


async def test_wrong_feedback(session, seeded) -> None:
    ids = seeded["ids"]
    wrong = await queries.list_feedback(session)
    assert [i["check_id"] for i in wrong.items] == [ids[0], ids[1]]  # latest vote first
    by_id = {i["check_id"]: i for i in wrong.items}
    assert by_id[ids[0]]["wrong_votes"] == 1 and by_id[ids[0]]["votes"] == 2
    assert by_id[ids[1]]["verdict"] == "fake" and wrong.total == 2
    everything = await queries.list_feedback(session, wrong_only=False)
    assert everything.total == 4


async def test_charts_per_day(session, seeded) -> None:
    now = seeded["now"]
    per_day = await queries.checks_per_day(session, since=now - dt.timedelta(days=7), until=now)
    assert sum(r["checks"] for r in per_day) == 10
    assert {"day": "2026-01-20", "verdict": "fake", "checks": 2} in per_day
    lat = await queries.latency_per_day(session, since=now - dt.timedelta(days=7), until=now)
    today = next(r for r in lat if r["day"] == "2026-01-20")
    assert today["checks"] == 2 and today["p50"] == pytest.approx(15.0)


def test_histogram_percentiles_are_within_half_a_percent() -> None:
    import math
    import random

    rng = random.Random(7)
    values = sorted(rng.lognormvariate(6, 0.8) for _ in range(50_000))
    counts: dict[int, int] = {}
    for v in values:
        b = math.floor(math.log(v) * queries.LATENCY_BUCKETS_PER_E)
        counts[b] = counts.get(b, 0) + 1
    approx = queries.percentiles_from_histogram(sorted(counts.items()), (0.5, 0.95, 0.99))
    for q, got in zip((0.5, 0.95, 0.99), approx):
        exact = queries._percentile(values, q)
        assert abs(got - exact) / exact < 0.005, (q, got, exact)
    assert queries.percentiles_from_histogram([], (0.5,)) == [None]


async def test_large_windows_use_the_histogram(session, seeded, backend, monkeypatch) -> None:
    monkeypatch.setattr(queries, "EXACT_PERCENTILE_MAX_ROWS", 3)
    now = seeded["now"]
    got = await queries.latency_percentiles(session, since=now - dt.timedelta(days=7), until=now)
    # PostgreSQL switches to the histogram (within a bucket of exact); SQLite stays exact.
    assert got["p50"] == pytest.approx(55.0, rel=0.01) and got["p95"] == pytest.approx(95.5, rel=0.01)


async def test_stats_takes_percentiles_from_its_own_pass_on_wide_windows(session, seeded, monkeypatch) -> None:
    monkeypatch.setattr(queries, "EXACT_PERCENTILE_MAX_ROWS", 3)
    now = seeded["now"]
    st = await queries.stats(session, since=now - dt.timedelta(days=7), until=now)
    assert st.total == 10
    assert st.latency_ms["p50"] == pytest.approx(55.0, rel=0.01)
    assert st.latency_ms["p95"] == pytest.approx(95.5, rel=0.01)
