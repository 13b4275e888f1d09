"""The durable job queue and the writes the bot makes, one committed unit of work per call.

The check log doubles as the queue: a check is ``queued`` until a worker claims it (a lease),
then ``done`` or ``failed``; a worker that dies simply lets its lease run out and another worker
takes the job over. Claiming is one ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)``:
on PostgreSQL concurrent workers skip each other's rows, on SQLite the statement takes the
single write lock, so in both cases no job is handed out twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db._constants import DEFAULT_THRESHOLD, THRESHOLDS, CheckStatus, Source
from db._models import ChatSettings, Check, Feedback, ProcessedUpdate, StatsDay, utcnow


class CheckNotFound(LookupError):
    """No check with this id (it may have been purged)."""

    def __init__(self, check_id: int) -> None:
        super().__init__(f"no check with id {check_id}")
        self.check_id = check_id


ENQUEUE_FIELDS = frozenset(
    {
        "source", "media_kind", "file_id", "file_unique_id", "file_size", "user_pseudonym",
        "chat_id", "message_id", "media_group_id", "update_id", "payload", "sha256",
    }
)  # fmt: skip
CHAT_SETTINGS_FIELDS = frozenset({"autocheck", "threshold", "added_at", "removed_at"})


def _insert(session: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT, which knows ``ON CONFLICT``."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def _touch_day(session: AsyncSession, created_at: dt.datetime | None) -> None:
    """A check of a settled day changed: that day's cached operator stats must be recomputed."""
    if created_at is not None and created_at.date() < utcnow().date() - dt.timedelta(days=1):
        await session.execute(delete(StatsDay).where(StatsDay.day == created_at.date()))


async def _get_check(session: AsyncSession, check_id: int) -> Check:
    check = await session.get(Check, check_id)
    if check is None:
        raise CheckNotFound(check_id)
    return check


async def record_update(session: AsyncSession, update_id: int) -> bool:
    """Remember a Telegram update; False means it was seen before and must be ignored."""
    stmt = (
        _insert(session, ProcessedUpdate)
        .values(update_id=int(update_id), seen_at=utcnow())
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(ProcessedUpdate.update_id)
    )
    inserted = (await session.execute(stmt)).scalar_one_or_none()
    await session.commit()
    return inserted is not None


async def enqueue_check(session: AsyncSession, **fields: Any) -> Check:
    """Write a new queued check (the job row is the first thing a handler persists)."""
    unknown = set(fields) - ENQUEUE_FIELDS
    if unknown:
        raise TypeError(f"enqueue_check() got unknown fields: {', '.join(sorted(unknown))}")
    if "source" not in fields:
        raise TypeError("enqueue_check() needs source= (private, group, api or web)")
    values = dict(fields)
    values["source"] = Source(values["source"])
    now = utcnow()
    check = Check(
        **values, status=CheckStatus.QUEUED, attempts=0, created_at=now, next_attempt_at=now
    )
    session.add(check)
    await session.commit()
    return check


async def claim_next(session: AsyncSession, *, worker_id: str, lease_s: float) -> Check | None:
    """Lease the oldest due job (queued and due, or running with an expired lease) to ``worker_id``.

    While running, ``next_attempt_at`` holds the lease end, so "due" is one indexed condition
    for both cases.
    """
    now = utcnow()
    lease_until = now + dt.timedelta(seconds=float(lease_s))
    due = (
        select(Check.id)
        .where(Check.status.in_([CheckStatus.QUEUED, CheckStatus.RUNNING]))
        .where(Check.next_attempt_at <= now)
        .order_by(Check.next_attempt_at, Check.id)
        .limit(1)
        .with_for_update(skip_locked=True)  # rendered on PostgreSQL only
        .scalar_subquery()
    )
    stmt = (
        update(Check)
        .where(Check.id == due)
        .values(
            status=CheckStatus.RUNNING,
            worker_id=worker_id,
            lease_until=lease_until,
            next_attempt_at=lease_until,
            attempts=Check.attempts + 1,
            started_at=case((Check.started_at.is_(None), now), else_=Check.started_at),
        )
        .returning(Check)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    check = (await session.execute(stmt)).scalar_one_or_none()
    if check is not None:
        await _touch_day(session, check.created_at)
    await session.commit()
    return check


def _latency(timings_ms: Mapping[str, Any] | None) -> float | None:
    if not timings_ms:
        return None
    if "total" in timings_ms:
        return float(timings_ms["total"])
    return float(sum(float(v) for v in timings_ms.values()))


async def _forget_raw_ids(session: AsyncSession, check_id: int) -> None:
    """Closed jobs keep no message id, nor the chat id of a private chat (that is the user's id).

    Done in SQL without touching the caller's ``Check`` object, so a worker can still reply
    with the ids it holds after recording the outcome.
    """
    await session.execute(
        update(Check)
        .where(Check.id == check_id)
        .values(
            message_id=None,
            chat_id=case((Check.source == Source.PRIVATE, None), else_=Check.chat_id),
        )
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Outcome:
    """What a finished check records: the result JSON as served, and the typed columns operators
    filter on (the caller reads them from its typed result; this package knows no contract)."""

    result: Mapping[str, Any]
    verdict: str
    fake_probability: float | None = None
    faces_count: int = 0
    frames_sampled: int | None = None
    media_kind: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    sha256: str | None = None


async def complete_check(session: AsyncSession, check_id: int, outcome: Outcome) -> None:
    """Store a finished check."""
    if not isinstance(outcome.result, Mapping):
        raise TypeError("outcome.result must be the check result JSON object (a dict)")
    check = await _get_check(session, check_id)
    check.status = CheckStatus.DONE
    check.result = dict(outcome.result)
    check.verdict = outcome.verdict
    check.fake_probability = None if outcome.fake_probability is None else float(outcome.fake_probability)
    check.faces_count = int(outcome.faces_count)
    check.frames_sampled = outcome.frames_sampled
    check.media_kind = outcome.media_kind or check.media_kind
    check.sha256 = outcome.sha256 or check.sha256
    check.model_name = outcome.model_name
    check.model_version = outcome.model_version
    check.timings_ms = dict(outcome.timings_ms)
    check.latency_ms = _latency(outcome.timings_ms)
    check.error_code = outcome.error_code
    check.error_message = outcome.error_message
    await _close(session, check)


async def _close(session: AsyncSession, check: Check) -> None:
    """The end of a job, done or failed: stamp it, drop its lease and raw ids, commit."""
    check.finished_at = utcnow()
    check.lease_until = None
    await session.flush()
    await _forget_raw_ids(session, check.id)
    await _touch_day(session, check.created_at)
    await session.commit()


async def retry_later(session: AsyncSession, check_id: int, *, error_code: str, delay_s: float) -> None:
    """Put a job back in the queue, due after ``delay_s`` (e.g. the serving app is down)."""
    check = await _get_check(session, check_id)
    check.status = CheckStatus.QUEUED
    check.error_code = error_code
    check.next_attempt_at = utcnow() + dt.timedelta(seconds=max(0.0, float(delay_s)))
    check.lease_until = None
    check.worker_id = None
    await _touch_day(session, check.created_at)
    await session.commit()


async def fail_check(session: AsyncSession, check_id: int, *, error_code: str, message: str) -> None:
    """Give up on a job for good, saying why."""
    check = await _get_check(session, check_id)
    check.status = CheckStatus.FAILED
    check.error_code = error_code
    check.error_message = message
    await _close(session, check)


async def find_cached(session: AsyncSession, *, file_unique_id: str, model_version: str) -> Check | None:
    """The newest finished check of the same file by the same model version, to answer again."""
    stmt = (
        select(Check)
        .where(Check.file_unique_id == file_unique_id, Check.model_version == model_version)
        .where(Check.status == CheckStatus.DONE)
        .order_by(Check.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def add_feedback(session: AsyncSession, check_id: int, voter_pseudonym: str, agrees: bool) -> bool:
    """Record a vote; True for a voter's first vote on this check, False when it replaced one."""
    await _get_check(session, check_id)
    now = utcnow()
    stmt = (
        _insert(session, Feedback)
        .values(check_id=check_id, voter_pseudonym=voter_pseudonym, agrees=bool(agrees),
                created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["check_id", "voter_pseudonym"])
        .returning(Feedback.id)
    )  # fmt: skip
    inserted = (await session.execute(stmt)).scalar_one_or_none()
    if inserted is None:
        await session.execute(
            update(Feedback)
            .where(Feedback.check_id == check_id, Feedback.voter_pseudonym == voter_pseudonym)
            .values(agrees=bool(agrees), updated_at=now)
            .execution_options(synchronize_session=False)
        )
    await session.commit()
    return inserted is not None


async def get_chat_settings(session: AsyncSession, chat_id: int) -> ChatSettings:
    """A chat's settings, created with the defaults the first time it is asked for."""
    now = utcnow()
    await session.execute(
        _insert(session, ChatSettings)
        .values(chat_id=chat_id, autocheck=False, threshold=DEFAULT_THRESHOLD, added_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["chat_id"])
    )  # fmt: skip
    settings = (
        await session.execute(
            select(ChatSettings).where(ChatSettings.chat_id == chat_id).execution_options(populate_existing=True)
        )
    ).scalar_one()
    await session.commit()
    return settings


async def set_chat_settings(session: AsyncSession, chat_id: int, **changes: Any) -> ChatSettings:
    """Change a chat's settings: ``autocheck``, ``threshold`` ('uncertain'|'fake'), ``added_at``, ``removed_at``."""
    unknown = set(changes) - CHAT_SETTINGS_FIELDS
    if unknown:
        raise TypeError(f"set_chat_settings() got unknown fields: {', '.join(sorted(unknown))}")
    if "threshold" in changes and changes["threshold"] not in THRESHOLDS:
        raise ValueError(f"threshold must be one of {', '.join(THRESHOLDS)}, not {changes['threshold']!r}")
    settings = await get_chat_settings(session, chat_id)
    for name, value in changes.items():
        setattr(settings, name, bool(value) if name == "autocheck" else value)
    settings.updated_at = utcnow()
    await session.commit()
    return settings


async def migrate_chat(session: AsyncSession, old_chat_id: int, new_chat_id: int) -> None:
    """A group became a supergroup: its settings and its checks move to the new chat id."""
    old = await session.get(ChatSettings, old_chat_id)
    new = await session.get(ChatSettings, new_chat_id)
    if old is not None:
        if new is None:
            session.add(
                ChatSettings(
                    chat_id=new_chat_id, autocheck=old.autocheck, threshold=old.threshold,
                    added_at=old.added_at, removed_at=old.removed_at, updated_at=utcnow(),
                )
            )  # fmt: skip
        await session.delete(old)
    await session.execute(
        update(Check)
        .where(Check.chat_id == old_chat_id)
        .values(chat_id=new_chat_id)
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(StatsDay))  # per-chat counts of any day may have moved
    await session.commit()


async def recent_checks(session: AsyncSession, user_pseudonym: str, limit: int = 10) -> list[Check]:
    """A user's latest checks, newest first (for /history)."""
    stmt = (
        select(Check)
        .where(Check.user_pseudonym == user_pseudonym)
        .order_by(Check.created_at.desc(), Check.id.desc())
        .limit(max(0, int(limit)))
    )
    return list((await session.execute(stmt)).scalars())


async def purge_older_than(session: AsyncSession, days: float) -> int:
    """Retention: delete checks (and their feedback) and processed updates older than ``days``.

    Returns how many checks were deleted.
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    cutoff = utcnow() - dt.timedelta(days=float(days))
    old_ids = select(Check.id).where(Check.created_at < cutoff)
    await session.execute(
        delete(Feedback).where(Feedback.check_id.in_(old_ids)).execution_options(synchronize_session=False)
    )
    deleted = await session.execute(
        delete(Check).where(Check.created_at < cutoff).execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(ProcessedUpdate)
        .where(ProcessedUpdate.seen_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(StatsDay).where(StatsDay.day <= cutoff.date()))
    await session.commit()
    return int(deleted.rowcount or 0)
