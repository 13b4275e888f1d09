"""Operator statistics with their settled-day cache and its invalidation, in one place.

Counts by verdict, kind, source, status, model version and chat; latency percentiles; feedback
agreement. On PostgreSQL, settled days come from ``stats_days`` (computed once); the writers in
``db.jobs`` call :func:`invalidate_day` / :func:`invalidate_all` / :func:`forget_days_until`
whenever a change touches a cached day, so a cached answer always equals a full scan.
Percentiles computed in Python all go through :func:`quantile` (``percentile_cont``'s rule).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from db._sql import dialect_insert, is_postgres, plain
from db.filters import window
from db.models import Check, Feedback, StatsDay, utcnow


async def _count_by(session: AsyncSession, column: Any, where: list[ColumnElement[bool]]) -> dict[str, int]:
    stmt = select(column, func.count()).where(*where).group_by(column).order_by(func.count().desc())
    return {str(plain(key)) if key is not None else "none": int(n) for key, n in (await session.execute(stmt)).all()}


# Percentiles are exact (percentile_cont) up to this many checks in the window; beyond it they
# come from a log-scale histogram whose buckets are 1/LATENCY_BUCKETS_PER_E wide in ln(ms),
# i.e. within 0.5% of the exact value, and cost a hash aggregate instead of a sort.
EXACT_PERCENTILE_MAX_ROWS = 100_000
LATENCY_BUCKETS_PER_E = 200


def _latency_bucket() -> Any:
    """floor(ln(ms) * LATENCY_BUCKETS_PER_E); NULL stays NULL (GREATEST would hide it)."""
    return case(
        (Check.latency_ms.is_(None), None),
        else_=func.floor(func.ln(func.greatest(Check.latency_ms, 0.001)) * LATENCY_BUCKETS_PER_E),
    )


def quantile(n: int, q: float, value_at: Callable[[int], float]) -> float | None:
    """The ``q`` quantile of ``n`` ordered values, ``value_at(rank)`` giving the rank-th smallest.

    Linear interpolation between the closest ranks, as PostgreSQL's ``percentile_cont`` does:
    the one implementation behind every percentile computed in Python (sorted lists, the
    SQLite log, the log-scale histogram).
    """
    if n <= 0:
        return None
    rank = q * (n - 1)
    low = int(rank)
    value = value_at(low)
    if low + 1 >= n:
        return value
    return value + (value_at(low + 1) - value) * (rank - low)


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile of already sorted values."""
    return quantile(len(sorted_values), q, sorted_values.__getitem__)


def percentiles_from_histogram(
    buckets: Sequence[tuple[int, int]], quantiles: Sequence[float], per_e: int = LATENCY_BUCKETS_PER_E
) -> list[float | None]:
    """Percentiles from ``(bucket, count)`` pairs, bucket = floor(ln(ms) * per_e), ascending."""
    n = sum(count for _, count in buckets)

    def value_at(rank: int) -> float:
        """The rank-th smallest value, taking each bucket's values as evenly spread inside it."""
        seen = 0
        for bucket, count in buckets:
            if rank < seen + count:
                return math.exp((bucket + (rank - seen + 0.5) / count) / per_e)
            seen += count
        return math.exp((buckets[-1][0] + 1) / per_e)

    return [quantile(n, q, value_at) for q in quantiles]


async def latency_percentiles(
    session: AsyncSession,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    quantiles: Sequence[float] = (0.5, 0.95),
) -> dict[str, float | None]:
    """Latency percentiles (ms) of finished checks, keyed ``p50``, ``p95``…"""
    where = window(since, until) + [Check.latency_ms.is_not(None)]
    keys = [f"p{round(q * 100):d}" for q in quantiles]
    if is_postgres(session):
        # A log-scale histogram first: one hash aggregate, no sort, however wide the window.
        bucket = _latency_bucket().label("b")
        hist = [(int(b), int(c)) for b, c in (await session.execute(
            select(bucket, func.count()).where(*where).group_by(bucket).order_by(bucket)
        )).all()]  # fmt: skip
        if sum(c for _, c in hist) > EXACT_PERCENTILE_MAX_ROWS:
            return dict(zip(keys, percentiles_from_histogram(hist, quantiles)))
        cols = [func.percentile_cont(q).within_group(Check.latency_ms) for q in quantiles]
        row = (await session.execute(select(*cols).where(*where))).one()
        return {k: (None if v is None else float(v)) for k, v in zip(keys, row)}
    # SQLite (the small embedded log): one ordered scan.
    values = [float(v) for v in (await session.execute(
        select(Check.latency_ms).where(*where).order_by(Check.latency_ms)
    )).scalars() if v is not None]  # fmt: skip
    return {key: percentile(values, q) for key, q in zip(keys, quantiles)}


async def feedback_summary(
    session: AsyncSession, *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> dict[str, Any]:
    """Votes in the window and the share that agreed with the verdict."""
    where = []
    if since is not None:
        where.append(Feedback.created_at >= since)
    if until is not None:
        where.append(Feedback.created_at < until)
    votes, agree = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(case((Feedback.agrees, 1), else_=0)), 0)).where(*where)
        )
    ).one()
    votes, agree = int(votes), int(agree)
    return {"votes": votes, "agree": agree, "disagree": votes - agree,
            "agreement_rate": (agree / votes) if votes else None}  # fmt: skip


@dataclass
class Stats:
    since: dt.datetime | None
    until: dt.datetime | None
    total: int
    by_verdict: dict[str, int]
    by_kind: dict[str, int]
    by_source: dict[str, int]
    by_status: dict[str, int]
    by_model_version: dict[str, int]
    by_chat: list[dict[str, Any]]
    latency_ms: dict[str, float | None]
    feedback: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["since"] = self.since.isoformat() if self.since else None
        out["until"] = self.until.isoformat() if self.until else None
        out.pop("extra")
        return out


_STAT_COLUMNS = {
    "by_verdict": Check.verdict,
    "by_kind": Check.media_kind,
    "by_source": Check.source,
    "by_status": Check.status,
    "by_model_version": Check.model_version,
    "by_chat": Check.chat_id,
}


def _key(value: Any) -> str:
    return str(plain(value)) if value is not None else "none"


async def _counts_postgres(session: AsyncSession, where: list[ColumnElement[bool]]) -> dict[str, Any]:
    """Every breakdown in one pass: GROUPING SETS over the (covering) created_at index."""
    columns = list(_STAT_COLUMNS.values()) + [_latency_bucket().label("latency_bucket")]
    fakes = func.sum(case((Check.verdict == "fake", 1), else_=0))
    stmt = (
        select(func.grouping(*columns), *columns, func.count(), fakes)
        .where(*where)
        .group_by(func.grouping_sets(*columns))
    )
    names = list(_STAT_COLUMNS) + ["latency_histogram"]
    counts: dict[str, Any] = {name: {} for name in names}
    chats: list[tuple[int, int, int]] = []
    histogram: list[tuple[int, int]] = []
    for bits, *values, n, fake in (await session.execute(stmt)).all():
        # GROUPING(...) has a 0 bit for the one column this row is grouped by (leftmost = high bit).
        index = next(i for i in range(len(names)) if not bits & (1 << (len(names) - 1 - i)))
        name, value = names[index], values[index]
        if name == "by_chat":
            if value is not None:
                chats.append((int(value), int(n), int(fake or 0)))
        elif name == "latency_histogram":
            if value is not None:
                histogram.append((int(value), int(n)))
        else:
            counts[name][_key(value)] = int(n)
    for name in _STAT_COLUMNS:
        counts[name] = dict(sorted(counts[name].items(), key=lambda kv: (-kv[1], kv[0])))
    counts["by_chat"] = chats
    counts["latency_histogram"] = sorted(histogram)
    return counts


# --- settled-day cache (PostgreSQL) ------------------------------------------------------
# A day is "settled" once it ended over a day ago; changes to its checks after that (a late
# completion, a purge, a chat migration) delete its cached row through the invalidation
# functions below, which every writer in ``db.jobs`` calls, so it is never stale.
SETTLED_AFTER_DAYS = 2
STATS_CACHE_MIN_DAYS = 2


async def invalidate_day(session: AsyncSession, created_at: dt.datetime | None) -> None:
    """A check of a settled day changed: that day's cached stats must be recomputed."""
    if created_at is not None and created_at.date() < utcnow().date() - dt.timedelta(days=1):
        await session.execute(delete(StatsDay).where(StatsDay.day == created_at.date()))


async def invalidate_all(session: AsyncSession) -> None:
    """Per-chat counts of any day may have moved (a chat migration): drop the whole cache."""
    await session.execute(delete(StatsDay))


async def forget_days_until(session: AsyncSession, day: dt.date) -> None:
    """Retention: cached days up to ``day`` describe purged checks."""
    await session.execute(delete(StatsDay).where(StatsDay.day <= day))


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def settled_before() -> dt.date:
    """Days strictly before this one may be cached."""
    return utcnow().date() - dt.timedelta(days=SETTLED_AFTER_DAYS - 1)


def _merge(total: dict[str, Any], part: dict[str, Any]) -> None:
    for name in _STAT_COLUMNS:
        if name == "by_chat":
            continue
        bucket = total.setdefault(name, {})
        for key, n in part[name].items():
            bucket[key] = bucket.get(key, 0) + int(n)
    chats = total.setdefault("_chats", {})
    for chat, n, fakes in part["by_chat"]:
        old = chats.get(int(chat), (0, 0))
        chats[int(chat)] = (old[0] + int(n), old[1] + int(fakes))
    hist = total.setdefault("_hist", {})
    for b, n in part["latency_histogram"]:
        hist[int(b)] = hist.get(int(b), 0) + int(n)


async def _counts_with_settled_days(
    session: AsyncSession, since: dt.datetime | None, until: dt.datetime | None
) -> dict[str, Any] | None:
    """Counts for the window from cached settled days plus live scans of the edges (or None)."""
    if since is None:
        first = (await session.execute(select(func.min(Check.created_at)))).scalar_one_or_none()
        if first is None:
            return None
        first_day = first.date()
    else:
        first_day = since.date() if since == _midnight(since.date()) else since.date() + dt.timedelta(days=1)
    end = (until or utcnow()).date()  # days before this one are whole inside the window
    last_day = min(end, settled_before()) - dt.timedelta(days=1)
    if (last_day - first_day).days + 1 < STATS_CACHE_MIN_DAYS:
        return None
    rows = (
        await session.execute(
            select(StatsDay.day, StatsDay.counts).where(StatsDay.day >= first_day, StatsDay.day <= last_day)
        )
    ).all()
    cached = {day: counts for day, counts in rows}
    total: dict[str, Any] = {}
    day = first_day
    fresh = []
    while day <= last_day:
        counts = cached.get(day)
        if counts is None:
            counts = _jsonable(
                await _counts_postgres(session, window(_midnight(day), _midnight(day) + dt.timedelta(days=1)))
            )
            fresh.append({"day": day, "counts": counts, "computed_at": utcnow()})
        _merge(total, counts)
        day += dt.timedelta(days=1)
    if fresh:
        try:
            await session.execute(
                dialect_insert(session, StatsDay).values(fresh).on_conflict_do_nothing(index_elements=["day"])
            )
            await session.commit()
        except SQLAlchemyError:  # e.g. a read-only operator role: answer anyway, just uncached
            await session.rollback()
    edges: list[tuple[dt.datetime, dt.datetime | None]] = []
    if since is not None and since < _midnight(first_day):
        edges.append((since, _midnight(first_day)))
    if until is None or _midnight(last_day + dt.timedelta(days=1)) < until:
        edges.append((_midnight(last_day + dt.timedelta(days=1)), until))
    for lo, hi in edges:
        _merge(total, _jsonable(await _counts_postgres(session, window(lo, hi))))
    counts = {name: total.get(name, {}) for name in _STAT_COLUMNS if name != "by_chat"}
    counts["by_chat"] = [(chat, n, fakes) for chat, (n, fakes) in total.get("_chats", {}).items()]
    counts["latency_histogram"] = sorted(total.get("_hist", {}).items())
    return counts


def _jsonable(counts: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {name: dict(counts[name]) for name in _STAT_COLUMNS if name != "by_chat"}
    out["by_chat"] = [list(c) for c in counts["by_chat"]]
    out["latency_histogram"] = [list(h) for h in counts["latency_histogram"]]
    return out


async def _counts_portable(session: AsyncSession, where: list[ColumnElement[bool]]) -> dict[str, Any]:
    counts: dict[str, Any] = {}
    for name, column in _STAT_COLUMNS.items():
        if name != "by_chat":
            counts[name] = await _count_by(session, column, where)
    chat_stmt = (
        select(Check.chat_id, func.count(), func.sum(case((Check.verdict == "fake", 1), else_=0)))
        .where(*where, Check.chat_id.is_not(None))
        .group_by(Check.chat_id)
    )
    counts["by_chat"] = [(int(c), int(n), int(f or 0)) for c, n, f in (await session.execute(chat_stmt)).all()]
    return counts


async def stats(
    session: AsyncSession,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    top_chats: int = 10,
    use_cache: bool = True,
) -> Stats:
    """Counts by verdict, kind, source, status, model version and chat; latency; agreement.

    On PostgreSQL, settled days inside the window come from ``stats_days`` (computed once);
    the result is identical to a full scan (``use_cache=False``), which a test holds it to.
    """
    where = window(since, until)
    counts = None
    if session.get_bind().dialect.name == "postgresql":
        if use_cache:
            counts = await _counts_with_settled_days(session, since, until)
        if counts is None:
            counts = await _counts_postgres(session, where)
    else:
        counts = await _counts_portable(session, where)
    for name in _STAT_COLUMNS:
        if name != "by_chat":
            counts[name] = dict(sorted(counts[name].items(), key=lambda kv: (-kv[1], kv[0])))
    busiest = sorted(counts.pop("by_chat"), key=lambda c: (-c[1], c[0]))[: max(0, top_chats)]
    histogram = counts.pop("latency_histogram", None)
    if histogram is not None and sum(c for _, c in histogram) > EXACT_PERCENTILE_MAX_ROWS:
        latency = dict(zip(("p50", "p95"), percentiles_from_histogram(histogram, (0.5, 0.95))))
    else:
        latency = await latency_percentiles(session, since=since, until=until)
    return Stats(
        since=since,
        until=until,
        total=sum(counts["by_verdict"].values()),
        by_chat=[{"chat_id": c, "checks": n, "fake": f} for c, n, f in busiest],
        latency_ms=latency,
        feedback=await feedback_summary(session, since=since, until=until),
        **counts,
    )


def _day(session: AsyncSession) -> Any:
    """The UTC calendar day of ``created_at`` as 'YYYY-MM-DD' on either backend."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", Check.created_at))
    return func.substr(Check.created_at, 1, 10)


def _day_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


async def checks_per_day(
    session: AsyncSession, *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """``[{"day": "2026-01-31", "verdict": "fake", "checks": 12}, …]`` oldest day first."""
    day = _day(session).label("day")
    stmt = (
        select(day, Check.verdict, func.count()).where(*window(since, until)).group_by(day, Check.verdict).order_by(day)
    )
    return [
        {"day": _day_text(d), "verdict": v or "none", "checks": int(n)}
        for d, v, n in (await session.execute(stmt)).all()
    ]


async def latency_per_day(
    session: AsyncSession, *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """``[{"day": …, "p50": ms, "p95": ms, "checks": n}, …]`` for the latency chart."""
    day = _day(session).label("day")
    where = window(since, until) + [Check.latency_ms.is_not(None)]
    if session.get_bind().dialect.name == "postgresql":
        stmt = (
            select(
                day,
                func.percentile_cont(0.5).within_group(Check.latency_ms),
                func.percentile_cont(0.95).within_group(Check.latency_ms),
                func.count(),
            )
            .where(*where)
            .group_by(day)
            .order_by(day)
        )
        return [
            {"day": _day_text(d), "p50": float(p50), "p95": float(p95), "checks": int(n)}
            for d, p50, p95, n in (await session.execute(stmt)).all()
        ]
    # SQLite (the small embedded log): one ordered pass, percentiles per day in Python.
    stmt = select(day, Check.latency_ms).where(*where).order_by(day, Check.latency_ms)
    per_day: dict[str, list[float]] = {}
    for d, ms in (await session.execute(stmt)).all():
        per_day.setdefault(d, []).append(float(ms))
    return [
        {"day": d, "p50": percentile(v, 0.5), "p95": percentile(v, 0.95), "checks": len(v)} for d, v in per_day.items()
    ]
