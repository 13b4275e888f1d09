"""The operator's questions, as queries that stay fast on a million checks.

``fakewatch ops`` and the web console both call these, so a number on the dashboard and in
the terminal is the same number. Every query is bounded by a time window or a page and
rides one of the indices declared on ``Check``. Percentiles are exact on both backends:
``percentile_cont`` on PostgreSQL, the same linear interpolation over an ordered scan on SQLite.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from db._constants import DEFAULT_PAGE_SIZE, EXPORT_BATCH_SIZE, MAX_PAGE_SIZE, VERDICTS
from db._models import Check, Feedback, UtcDateTime, utcnow


class FilterError(ValueError):
    """An operator filter that makes no sense (bad time, unknown verdict, page 0…)."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_when(text: str | None, *, now: dt.datetime | None = None) -> dt.datetime | None:
    """``7d``/``12h``/``30m``/``2w`` ago, ``now``, or an ISO date/time (UTC unless it says)."""
    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    now = now or utcnow()
    if text.lower() == "now":
        return now
    match = _DURATION.match(text)
    if match:
        amount, unit = float(match.group(1)), match.group(2).lower()
        return now - dt.timedelta(seconds=amount * _UNIT_SECONDS[unit])
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(
            f"cannot read time {text!r}: use 7d, 12h, 30m, 2w, now or an ISO date like 2026-01-31"
        ) from None
    return when.replace(tzinfo=dt.timezone.utc) if when.tzinfo is None else when.astimezone(dt.timezone.utc)


@dataclass(frozen=True)
class CheckFilter:
    """The check-log filters shared by ``ops checks``, ``ops export`` and the console."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    verdict: str | None = None
    chat_id: int | None = None
    user_pseudonym: str | None = None
    min_probability: float | None = None
    model_version: str | None = None

    def __post_init__(self) -> None:
        if self.verdict is not None and self.verdict not in VERDICTS:
            raise FilterError(f"unknown verdict {self.verdict!r}: one of {', '.join(VERDICTS)}")
        if self.min_probability is not None and not (0.0 <= float(self.min_probability) <= 1.0):
            raise FilterError("minimum probability must be between 0 and 1")
        if self.since and self.until and self.since > self.until:
            raise FilterError("since is after until")

    @classmethod
    def from_strings(cls, *, now: dt.datetime | None = None, **raw: str | None) -> "CheckFilter":
        """Build from text (command-line flags, query strings); empty values mean "any"."""
        value = {k: (v.strip() if isinstance(v, str) else v) or None for k, v in raw.items()}
        unknown = set(value) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise FilterError(f"unknown filters: {', '.join(sorted(unknown))}")
        try:
            chat_id = int(value["chat_id"]) if value.get("chat_id") is not None else None
        except ValueError:
            raise FilterError("chat must be a number (Telegram chat id)") from None
        try:
            min_p = float(value["min_probability"]) if value.get("min_probability") is not None else None
        except ValueError:
            raise FilterError("minimum probability must be a number between 0 and 1") from None
        if min_p is not None and math.isnan(min_p):
            raise FilterError("minimum probability must be a number between 0 and 1")
        return cls(
            since=parse_when(value.get("since"), now=now),
            until=parse_when(value.get("until"), now=now),
            verdict=value.get("verdict"),
            chat_id=chat_id,
            user_pseudonym=value.get("user_pseudonym"),
            min_probability=min_p,
            model_version=value.get("model_version"),
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.since is not None:
            out.append(Check.created_at >= self.since)
        if self.until is not None:
            out.append(Check.created_at < self.until)
        if self.verdict is not None:
            out.append(Check.verdict == self.verdict)
        if self.chat_id is not None:
            out.append(Check.chat_id == self.chat_id)
        if self.user_pseudonym is not None:
            out.append(Check.user_pseudonym == self.user_pseudonym)
        if self.min_probability is not None:
            out.append(Check.fake_probability >= float(self.min_probability))
        if self.model_version is not None:
            out.append(Check.model_version == self.model_version)
        return out


# What a check-log row shows (and what CSV export writes), in order.
LOG_COLUMNS: tuple[str, ...] = (
    "id", "created_at", "status", "source", "media_kind", "verdict", "fake_probability",
    "faces_count", "frames_sampled", "chat_id", "user_pseudonym", "model_name", "model_version",
    "latency_ms", "error_code",
)  # fmt: skip
EXPORT_COLUMNS: tuple[str, ...] = LOG_COLUMNS + (
    "file_unique_id", "sha256", "file_size", "finished_at", "error_message",
)  # fmt: skip


def _columns(names: Sequence[str]) -> list[Any]:
    return [getattr(Check, name) for name in names]


def _plain(value: Any) -> Any:
    """Row values as JSON/CSV-friendly scalars."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(getattr(value, "value"), str):  # our str enums
        return value.value
    return value


def _row(names: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    return {name: _plain(value) for name, value in zip(names, row)}


@dataclass
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    limit: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.limit)) if self.limit else 1

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "total": self.total, "page": self.page, "limit": self.limit,
                "pages": self.pages}  # fmt: skip


def _check_paging(limit: int, page: int) -> None:
    if not 1 <= int(limit) <= MAX_PAGE_SIZE:
        raise FilterError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    if int(page) < 1:
        raise FilterError("page numbers start at 1")


async def list_checks(
    session: AsyncSession, flt: CheckFilter | None = None, *, limit: int = DEFAULT_PAGE_SIZE, page: int = 1
) -> Page:
    """One page of the check log, newest first, with the total that matches."""
    flt = flt or CheckFilter()
    _check_paging(limit, page)
    where = flt.conditions()
    stmt = (
        select(*_columns(LOG_COLUMNS))
        .where(*where)
        .order_by(Check.created_at.desc(), Check.id.desc())
        .limit(limit)
        .offset((page - 1) * limit)
    )
    rows = (await session.execute(stmt)).all()
    total = (await session.execute(select(func.count()).select_from(Check).where(*where))).scalar_one()
    return Page([_row(LOG_COLUMNS, r) for r in rows], int(total), int(page), int(limit))


def _converter(name: str) -> Any:
    """Per-column conversion to plain values, decided once per export rather than per cell."""
    column = Check.__table__.c[name]
    if isinstance(column.type, UtcDateTime):
        return lambda v: None if v is None else v.isoformat(timespec="microseconds")
    if name in ("status", "source"):
        return lambda v: None if v is None else v.value
    return None


async def iter_check_batches(
    session: AsyncSession,
    flt: CheckFilter | None = None,
    *,
    columns: Sequence[str] = EXPORT_COLUMNS,
    batch_size: int = EXPORT_BATCH_SIZE,
) -> AsyncIterator[list[list[Any]]]:
    """Every matching check, newest first, as batches of plain value lists in ``columns`` order.

    Streamed with a server-side cursor, a batch at a time: exports of any size in flat memory.
    """
    flt = flt or CheckFilter()
    stmt = (
        select(*_columns(columns))
        .where(*flt.conditions())
        .order_by(Check.created_at.desc(), Check.id.desc())
        .execution_options(yield_per=batch_size)
    )
    converters = [(i, f) for i, f in enumerate(_converter(c) for c in columns) if f is not None]
    result = await session.stream(stmt)
    async for partition in result.partitions(batch_size):
        batch = [list(row) for row in partition]
        for row in batch:
            for i, convert in converters:
                row[i] = convert(row[i])
        yield batch


async def iter_checks(
    session: AsyncSession, flt: CheckFilter | None = None, *, with_result: bool = False
) -> AsyncIterator[dict[str, Any]]:
    """Every matching check as a dict (``EXPORT_COLUMNS``, plus ``result`` if asked)."""
    names = EXPORT_COLUMNS + (("result",) if with_result else ())
    async for batch in iter_check_batches(session, flt, columns=names):
        for row in batch:
            yield dict(zip(names, row))


# --- statistics ------------------------------------------------------------------------


def _window(since: dt.datetime | None, until: dt.datetime | None) -> list[ColumnElement[bool]]:
    return CheckFilter(since=since, until=until).conditions()


async def _count_by(session: AsyncSession, column: Any, where: list[ColumnElement[bool]]) -> dict[str, int]:
    stmt = select(column, func.count()).where(*where).group_by(column).order_by(func.count().desc())
    return {str(_plain(key)) if key is not None else "none": int(n) for key, n in (await session.execute(stmt)).all()}


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


def percentiles_from_histogram(
    buckets: Sequence[tuple[int, int]], quantiles: Sequence[float], per_e: int = LATENCY_BUCKETS_PER_E
) -> list[float | None]:
    """Percentiles from ``(bucket, count)`` pairs, bucket = floor(ln(ms) * per_e), ascending."""
    n = sum(count for _, count in buckets)
    if n == 0:
        return [None for _ in quantiles]

    def value_at(rank: int) -> float:
        """The rank-th smallest value, taking each bucket's values as evenly spread inside it."""
        seen = 0
        for bucket, count in buckets:
            if rank < seen + count:
                return math.exp((bucket + (rank - seen + 0.5) / count) / per_e)
            seen += count
        return math.exp((buckets[-1][0] + 1) / per_e)

    out: list[float | None] = []
    for q in quantiles:
        rank = q * (n - 1)  # interpolated between neighbours, as percentile_cont does
        low = int(rank)
        out.append(_interpolate(value_at(low), value_at(low + 1) if low + 1 < n else None, rank - low))
    return out


def _interpolate(lo: float, hi: float | None, frac: float) -> float:
    return lo if hi is None else lo + (hi - lo) * frac


async def latency_percentiles(
    session: AsyncSession,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    quantiles: Sequence[float] = (0.5, 0.95),
) -> dict[str, float | None]:
    """Latency percentiles (ms) of finished checks, keyed ``p50``, ``p95``…"""
    where = _window(since, until) + [Check.latency_ms.is_not(None)]
    keys = [f"p{round(q * 100):d}" for q in quantiles]
    if session.get_bind().dialect.name == "postgresql":
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
    n = int((await session.execute(select(func.count()).select_from(Check).where(*where))).scalar_one())
    out: dict[str, float | None] = {}
    for key, q in zip(keys, quantiles):
        if n == 0:
            out[key] = None
            continue
        pos = q * (n - 1)
        stmt = select(Check.latency_ms).where(*where).order_by(Check.latency_ms).offset(int(pos)).limit(2)
        values = [float(v) for v in (await session.execute(stmt)).scalars()]
        out[key] = _interpolate(values[0], values[1] if len(values) > 1 else None, pos - int(pos))
    return out


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
    return str(_plain(value)) if value is not None else "none"


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
# completion, a purge, a chat migration) delete its cached row (db.jobs), so it is never stale.
SETTLED_AFTER_DAYS = 2
STATS_CACHE_MIN_DAYS = 2


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.timezone.utc)


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
    from db._models import StatsDay
    from db.jobs import _insert

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
            counts = _jsonable(await _counts_postgres(session, _window(_midnight(day), _midnight(day) + dt.timedelta(days=1))))
            fresh.append({"day": day, "counts": counts, "computed_at": utcnow()})
        _merge(total, counts)
        day += dt.timedelta(days=1)
    if fresh:
        try:
            await session.execute(_insert(session, StatsDay).values(fresh).on_conflict_do_nothing(index_elements=["day"]))
            await session.commit()
        except SQLAlchemyError:  # e.g. a read-only operator role: answer anyway, just uncached
            await session.rollback()
    edges = []
    if since is not None and since < _midnight(first_day):
        edges.append((since, _midnight(first_day)))
    if until is None or _midnight(last_day + dt.timedelta(days=1)) < until:
        edges.append((_midnight(last_day + dt.timedelta(days=1)), until))
    for lo, hi in edges:
        _merge(total, _jsonable(await _counts_postgres(session, _window(lo, hi))))
    counts = {name: total.get(name, {}) for name in _STAT_COLUMNS if name != "by_chat"}
    counts["by_chat"] = [(chat, n, fakes) for chat, (n, fakes) in total.get("_chats", {}).items()]
    counts["latency_histogram"] = sorted(total.get("_hist", {}).items())
    return counts


def _jsonable(counts: dict[str, Any]) -> dict[str, Any]:
    out = {name: dict(counts[name]) for name in _STAT_COLUMNS if name != "by_chat"}
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
    where = _window(since, until)
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
        select(day, Check.verdict, func.count())
        .where(*_window(since, until))
        .group_by(day, Check.verdict)
        .order_by(day)
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
    where = _window(since, until) + [Check.latency_ms.is_not(None)]
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
        {"day": d, "p50": _percentile(v, 0.5), "p95": _percentile(v, 0.95), "checks": len(v)}
        for d, v in per_day.items()
    ]


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = sorted_values[lo + 1] if lo + 1 < len(sorted_values) else None
    return _interpolate(sorted_values[lo], hi, pos - lo)


# --- feedback ----------------------------------------------------------------------------

FEEDBACK_COLUMNS: tuple[str, ...] = (
    "check_id", "created_at", "verdict", "fake_probability", "media_kind", "chat_id",
    "model_version", "wrong_votes", "votes", "last_vote_at",
)  # fmt: skip


async def list_feedback(
    session: AsyncSession,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    wrong_only: bool = True,
    limit: int = DEFAULT_PAGE_SIZE,
    page: int = 1,
) -> Page:
    """Checks that got votes in the window (by default: where someone said we were wrong)."""
    _check_paging(limit, page)
    where = []
    if since is not None:
        where.append(Feedback.created_at >= since)
    if until is not None:
        where.append(Feedback.created_at < until)
    wrong = func.sum(case((Feedback.agrees, 0), else_=1))
    votes_q: Select[Any] = (
        select(
            Feedback.check_id.label("check_id"),
            wrong.label("wrong_votes"),
            func.count().label("votes"),
            func.max(Feedback.updated_at).label("last_vote_at"),
        )
        .where(*where)
        .group_by(Feedback.check_id)
    )
    if wrong_only:
        votes_q = votes_q.having(wrong > 0)
    votes = votes_q.subquery()
    stmt = (
        select(
            Check.id, Check.created_at, Check.verdict, Check.fake_probability, Check.media_kind,
            Check.chat_id, Check.model_version, votes.c.wrong_votes, votes.c.votes, votes.c.last_vote_at,
        )  # fmt: skip
        .join(votes, and_(votes.c.check_id == Check.id))
        .order_by(votes.c.last_vote_at.desc(), Check.id.desc())
        .limit(limit)
        .offset((page - 1) * limit)
    )
    rows = (await session.execute(stmt)).all()
    total = (await session.execute(select(func.count()).select_from(votes))).scalar_one()
    items = []
    for r in rows:
        item = _row(FEEDBACK_COLUMNS, r)
        item["wrong_votes"], item["votes"] = int(item["wrong_votes"]), int(item["votes"])
        items.append(item)
    return Page(items, int(total), int(page), int(limit))
