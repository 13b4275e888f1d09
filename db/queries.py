"""The operator's check-log and feedback listings, as queries that stay fast on a million checks.

``fakewatch ops`` and the web console both call these, so a row on the dashboard and in the
terminal is the same row. Every query is bounded by a page or streamed, and rides one of the
indices declared on ``Check``. Filters live in ``db.filters``; statistics (with their cache)
in ``db.stats``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db._sql import plain
from db.constants import DEFAULT_PAGE_SIZE, EXPORT_BATCH_SIZE, MAX_PAGE_SIZE
from db.filters import CheckFilter, FilterError
from db.models import Check, Feedback, UtcDateTime

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


def _row(names: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    return {name: plain(value) for name, value in zip(names, row)}


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
    votes_q: Any = (
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
            Check.id,
            Check.created_at,
            Check.verdict,
            Check.fake_probability,
            Check.media_kind,
            Check.chat_id,
            Check.model_version,
            votes.c.wrong_votes,
            votes.c.votes,
            votes.c.last_vote_at,
        )
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
