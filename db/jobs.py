"""The durable job queue and the writes the bot makes, one committed unit of work per call.

The check log doubles as the queue: a check is ``queued`` until a worker claims it (a lease),
then ``done`` or ``failed``; a worker that dies simply lets its lease run out and another worker
takes the job over. Claiming is one ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)``:
on PostgreSQL concurrent workers skip each other's rows, on SQLite the statement takes the
single write lock, so in both cases no job is handed out twice.

Fencing: each claim gets a fresh ``lease_token``; every later write of the holder (renewal,
outcome, answer claim, finish, retry) is conditional on ``worker_id``, ``lease_token`` and
``status = 'running'`` and returns False when the lease was lost, so a stale worker changes
nothing and must not answer. Intake: the duplicate marker (``processed_updates``), the job row
and its album membership are written in one transaction (:func:`ingest_check`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, delete, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from db import stats
from db._sql import dialect_insert
from db.constants import DEFAULT_THRESHOLD, THRESHOLDS, CheckStatus, Source
from db.models import Album, ChatSettings, Check, Feedback, IngestMark, ProcessedUpdate, utcnow


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


async def _get_check(session: AsyncSession, check_id: int) -> Check:
    check = await session.get(Check, check_id)
    if check is None:
        raise CheckNotFound(check_id)
    return check


# --- intake ------------------------------------------------------------------------------------
async def record_update(session: AsyncSession, update_id: int) -> bool:
    """Remember a Telegram update; False means it was seen before and must be ignored."""
    inserted = await _mark_update(session, update_id)
    await session.commit()
    return inserted


async def _mark_update(session: AsyncSession, update_id: int) -> bool:
    stmt = (
        dialect_insert(session, ProcessedUpdate)
        .values(update_id=int(update_id), seen_at=utcnow())
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(ProcessedUpdate.update_id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def update_seen(session: AsyncSession, update_id: int) -> bool:
    """Was this update handled (committed) before? A read: it marks nothing."""
    found = await session.execute(select(ProcessedUpdate.update_id).where(ProcessedUpdate.update_id == int(update_id)))
    return found.scalar_one_or_none() is not None


def _new_check(fields: Mapping[str, Any]) -> Check:
    unknown = set(fields) - ENQUEUE_FIELDS
    if unknown:
        raise TypeError(f"enqueue_check() got unknown fields: {', '.join(sorted(unknown))}")
    if "source" not in fields:
        raise TypeError("enqueue_check() needs source= (private, group, api or web)")
    values = dict(fields)
    values["source"] = Source(values["source"])
    now = utcnow()
    return Check(
        **values, status=CheckStatus.QUEUED, attempts=0, timeouts=0, answer_claims=0,
        created_at=now, next_attempt_at=now,
    )  # fmt: skip


async def enqueue_check(session: AsyncSession, **fields: Any) -> Check:
    """Write a new queued check (API, web, tests; the bot's intake uses :func:`ingest_check`)."""
    check = _new_check(fields)
    session.add(check)
    await session.commit()
    return check


@dataclass(frozen=True)
class AlbumItem:
    """The album (media group) a new job belongs to, as the intake saw it."""

    chat_id: int
    media_group_id: str
    message_id: int
    private: bool
    silent: bool = False
    threshold: str = DEFAULT_THRESHOLD

    @property
    def key(self) -> str:
        return album_key(self.chat_id, self.media_group_id)


def album_key(chat_id: int, media_group_id: str) -> str:
    """One album's key (a media group id is unique per chat only)."""
    return hashlib.sha256(f"{int(chat_id)}:{media_group_id}".encode()).hexdigest()


async def ingest_check(
    session: AsyncSession, *, update_id: int, album: AlbumItem | None = None, **fields: Any
) -> Check | None:
    """The duplicate marker, the job row and its album membership in ONE transaction.

    None when ``update_id`` was handled before (nothing is written). An item of an album whose
    reply is already claimed or sent is checked and answered on its own instead.
    """
    check = _new_check({**fields, "update_id": int(update_id)})
    try:
        if not await _mark_update(session, update_id):
            await session.rollback()
            return None
        if album is not None and await _join_album(session, album):
            check.album_key = album.key
        session.add(check)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return check


async def _join_album(session: AsyncSession, item: AlbumItem) -> bool:
    """Count an item in its album (created on the first); False when the album is closed."""
    existing = (
        await session.execute(
            select(Album.reply_claimed_at, Album.replied_at)
            .where(Album.album_key == item.key)
            .with_for_update()  # serialises with a reply claim on PostgreSQL
        )
    ).first()
    if existing is not None and (existing.reply_claimed_at is not None or existing.replied_at is not None):
        return False
    now = utcnow()
    stmt = dialect_insert(session, Album).values(
        album_key=item.key, chat_id=item.chat_id, reply_to_message_id=item.message_id,
        private=item.private, silent=item.silent, threshold=item.threshold, items=1,
        first_item_at=now, last_item_at=now, next_attempt_at=now, reply_claims=0,
    )  # fmt: skip
    stmt = stmt.on_conflict_do_update(
        index_elements=["album_key"],
        set_={
            "items": Album.items + 1,
            "last_item_at": stmt.excluded.last_item_at,
            "reply_to_message_id": case(
                (stmt.excluded.reply_to_message_id < Album.reply_to_message_id, stmt.excluded.reply_to_message_id),
                else_=Album.reply_to_message_id,
            ),
        },
    )
    await session.execute(stmt)
    return True


async def set_ingest_mark(session: AsyncSession, name: str, at: dt.datetime) -> None:
    """Everything the source ``name`` held up to ``at`` is committed (never moves back)."""
    stmt = dialect_insert(session, IngestMark).values(name=name, at=at)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"at": case((stmt.excluded.at > IngestMark.at, stmt.excluded.at), else_=IngestMark.at)},
    )
    await session.execute(stmt)
    await session.commit()


async def get_ingest_mark(session: AsyncSession, name: str) -> dt.datetime | None:
    return (await session.execute(select(IngestMark.at).where(IngestMark.name == name))).scalar_one_or_none()


# --- the queue -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lease:
    """Who holds a claimed job: the fencing token every later write of the holder names."""

    check_id: int
    worker_id: str
    token: str

    @classmethod
    def of(cls, check: Check) -> Lease:
        if check.worker_id is None or check.lease_token is None:
            raise ValueError(f"check {check.id} is not claimed")
        return cls(int(check.id), check.worker_id, check.lease_token)


async def claim_next(session: AsyncSession, *, worker_id: str, lease_s: float) -> Check | None:
    """Lease the oldest due job (queued and due, or running with an expired lease) to ``worker_id``.

    While running, ``next_attempt_at`` holds the lease end, so "due" is one indexed condition
    for both cases. The returned check carries a fresh ``lease_token`` (see :class:`Lease`).
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
            lease_token=uuid.uuid4().hex,
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
        await stats.invalidate_day(session, check.created_at)
    await session.commit()
    return check


def _held(check_id: int, lease: Lease | None) -> list[ColumnElement[bool]]:
    """The fence: this check, and (with a lease) still claimed by exactly this holder."""
    where: list[ColumnElement[bool]] = [Check.id == int(check_id)]
    if lease is not None:
        where += [
            Check.worker_id == lease.worker_id,
            Check.lease_token == lease.token,
            Check.status == CheckStatus.RUNNING,
        ]
    return where


async def _write(
    session: AsyncSession,
    check_id: int,
    lease: Lease | None,
    values: Mapping[str, Any],
    *extra: ColumnElement[bool],
) -> bool:
    """One conditional UPDATE, committed. Without a lease a missing check raises CheckNotFound;
    with one, False says the lease was lost (nothing was written)."""
    stmt = (
        update(Check)
        .where(*_held(check_id, lease), *extra)
        .values(**values)
        .returning(Check.created_at)
        .execution_options(synchronize_session=False)
    )
    try:
        created_at = (await session.execute(stmt)).scalar_one_or_none()
        if created_at is None:  # nothing matched, nothing changed (no rollback: it would expire
            await session.commit()  # the caller's loaded objects)
            if lease is None and await session.get(Check, int(check_id)) is None:
                raise CheckNotFound(int(check_id))
            return False
        await stats.invalidate_day(session, created_at)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return True


async def renew_lease(session: AsyncSession, lease: Lease, lease_s: float) -> bool:
    """The heartbeat: push the lease end out again; False when the job was taken over."""
    until = utcnow() + dt.timedelta(seconds=float(lease_s))
    return await _write(session, lease.check_id, lease, {"lease_until": until, "next_attempt_at": until})


def _latency(timings_ms: Mapping[str, Any] | None) -> float | None:
    if not timings_ms:
        return None
    if "total" in timings_ms:
        return float(timings_ms["total"])
    return float(sum(float(v) for v in timings_ms.values()))


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


def _outcome_values(outcome: Outcome) -> dict[str, Any]:
    if not isinstance(outcome.result, Mapping):
        raise TypeError("outcome.result must be the check result JSON object (a dict)")
    values: dict[str, Any] = {
        "result": dict(outcome.result),
        "verdict": outcome.verdict,
        "fake_probability": None if outcome.fake_probability is None else float(outcome.fake_probability),
        "faces_count": int(outcome.faces_count),
        "frames_sampled": outcome.frames_sampled,
        "model_name": outcome.model_name,
        "model_version": outcome.model_version,
        "timings_ms": dict(outcome.timings_ms),
        "latency_ms": _latency(outcome.timings_ms),
        "error_code": outcome.error_code,
        "error_message": outcome.error_message,
        "outcome_at": utcnow(),
    }
    if outcome.media_kind:
        values["media_kind"] = outcome.media_kind
    if outcome.sha256:
        values["sha256"] = outcome.sha256
    return values


def _failure_values(error_code: str, message: str) -> dict[str, Any]:
    return {"result": null(), "verdict": None, "error_code": str(error_code), "error_message": message,
            "outcome_at": utcnow()}  # fmt: skip


def _claim_answer_values(lease: Lease) -> dict[str, Any]:
    return {"answer_claimed_at": utcnow(), "answer_token": lease.token, "answer_claims": Check.answer_claims + 1}


def _finish_values(*, answered: bool) -> dict[str, Any]:
    """The end of a job: done when it has a result, failed otherwise; no lease, no raw ids.

    Closed jobs keep no message id, nor the chat id of a private chat (that is the user's id).
    """
    now = utcnow()
    values: dict[str, Any] = {
        # a result always has a verdict (even "invalid"); a failure has none
        "status": case((Check.verdict.is_not(None), CheckStatus.DONE), else_=CheckStatus.FAILED),
        "finished_at": now,
        "lease_until": None,
        "lease_token": None,
        "message_id": None,
        "chat_id": case((Check.source == Source.PRIVATE, None), else_=Check.chat_id),
    }
    if answered:
        values["answered_at"] = now
    return values


async def store_outcome(session: AsyncSession, lease: Lease, outcome: Outcome, *, claim_answer: bool = False) -> bool:
    """Keep the result while the job still runs (only the answer is left); optionally claim the
    answer in the same commit. False: the lease was lost."""
    values = _outcome_values(outcome)
    if claim_answer:
        values.update(_claim_answer_values(lease))
    return await _write(session, lease.check_id, lease, values)


async def store_failure(
    session: AsyncSession, lease: Lease, *, error_code: str, message: str, claim_answer: bool = False
) -> bool:
    """Keep a failure while the job still runs (only the answer is left)."""
    values = _failure_values(error_code, message)
    if claim_answer:
        values.update(_claim_answer_values(lease))
    return await _write(session, lease.check_id, lease, values)


async def claim_answer(session: AsyncSession, lease: Lease, *, answer_lease_s: float) -> bool:
    """Claim the right to send this job's answer, committed BEFORE the send.

    Succeeds for the lease holder while no answer is stamped and no other claim is live (younger
    than ``answer_lease_s``: its sender may still stamp it); ``answer_claims`` counts the claims,
    so a second claim after a sender that never stamped is visible."""
    stale = utcnow() - dt.timedelta(seconds=float(answer_lease_s))
    return await _write(
        session, lease.check_id, lease, _claim_answer_values(lease), Check.answered_at.is_(None),
        (Check.answer_claimed_at.is_(None)) | (Check.answer_claimed_at <= stale),
    )  # fmt: skip


async def stamp_answered(session: AsyncSession, check_id: int, answer_token: str) -> bool:
    """The sender of an answer records that Telegram accepted it — by the answer claim's token,
    so it works after the job's lease was lost (a database outage outlasting it). True also when
    the answer was already recorded; False when another sender took the claim over."""
    stmt = (
        update(Check)
        .where(Check.id == int(check_id), Check.answer_token == answer_token, Check.answered_at.is_(None))
        .values(answered_at=utcnow())
        .returning(Check.id)
        .execution_options(synchronize_session=False)
    )
    done = (await session.execute(stmt)).scalar_one_or_none() is not None
    if not done:
        row = (
            await session.execute(select(Check.answered_at, Check.answer_token).where(Check.id == int(check_id)))
        ).first()
        done = row is not None and row.answered_at is not None and row.answer_token == answer_token
    await session.commit()
    return done


async def finish(session: AsyncSession, lease: Lease, *, answered: bool) -> bool:
    """Close a job whose outcome is stored: done or failed, ``answered_at`` stamped if sent."""
    return await _write(session, lease.check_id, lease, _finish_values(answered=answered),
                        Check.outcome_at.is_not(None))  # fmt: skip


async def complete_check(session: AsyncSession, check_id: int, outcome: Outcome, *, lease: Lease | None = None) -> bool:
    """Store a finished check and close it in one commit (fenced when ``lease`` is given)."""
    values = _outcome_values(outcome)
    values.update(_finish_values(answered=False))
    values["status"] = CheckStatus.DONE
    return await _write(session, check_id, lease, values)


async def fail_check(
    session: AsyncSession, check_id: int, *, error_code: str, message: str, lease: Lease | None = None
) -> bool:
    """Give up on a job for good, saying why (fenced when ``lease`` is given)."""
    values = _failure_values(error_code, message)
    values.update(_finish_values(answered=False))
    values["status"] = CheckStatus.FAILED
    return await _write(session, check_id, lease, values)


async def retry_later(
    session: AsyncSession,
    check_id: int,
    *,
    error_code: str,
    delay_s: float,
    lease: Lease | None = None,
    release_answer: bool = False,
    keep_answer_claim: bool = False,
    timed_out: bool = False,
) -> bool:
    """Put a job back in the queue, due after ``delay_s`` (serving down, Telegram said wait…).

    A stored outcome is kept (the next holder only answers). A claimed answer is given up (its
    sender will not stamp it, so the next holder may send at once); ``release_answer``: it surely
    did not reach Telegram, so the claim is not counted either. ``keep_answer_claim``: a holder
    that found another sender's live claim waits it out. ``timed_out``: count a serving timeout
    against the file.
    """
    values: dict[str, Any] = {
        "status": CheckStatus.QUEUED,
        "error_code": case((Check.outcome_at.is_(None), str(error_code)), else_=Check.error_code),
        "next_attempt_at": utcnow() + dt.timedelta(seconds=max(0.0, float(delay_s))),
        "lease_until": None,
        "worker_id": None,
        "lease_token": None,
    }
    if not keep_answer_claim:  # ``keep_answer_claim``: another sender's live claim is waited out
        values.update(answer_claimed_at=None, answer_token=None)
    if release_answer:
        values["answer_claims"] = case((Check.answer_claims > 0, Check.answer_claims - 1), else_=0)
    if timed_out:
        values["timeouts"] = Check.timeouts + 1
    return await _write(session, check_id, lease, values)


# --- albums ------------------------------------------------------------------------------------
async def claim_album_reply(
    session: AsyncSession, *, complete_before: dt.datetime, lease_s: float, token: str
) -> Album | None:
    """Claim the reply of one complete album: quiet since ``complete_before``, every item finished,
    not replied, not held by another claimer (a claim is a lease of ``lease_s``)."""
    now = utcnow()
    open_items = (
        select(Check.id)
        .where(Check.album_key == Album.album_key, Check.status.in_([CheckStatus.QUEUED, CheckStatus.RUNNING]))
        .exists()
    )
    due = (
        select(Album.album_key)
        .where(Album.replied_at.is_(None), Album.last_item_at <= complete_before, Album.next_attempt_at <= now)
        .where(~open_items)
        .order_by(Album.last_item_at)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    stmt = (
        update(Album)
        .where(Album.album_key == due)
        .values(
            reply_token=token,
            reply_claimed_at=now,
            reply_claims=Album.reply_claims + 1,
            next_attempt_at=now + dt.timedelta(seconds=float(lease_s)),
        )
        .returning(Album)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    album = (await session.execute(stmt)).scalar_one_or_none()
    await session.commit()
    return album


async def album_items(session: AsyncSession, key: str) -> list[Check]:
    """An album's checks in the order they arrived."""
    return list((await session.execute(select(Check).where(Check.album_key == key).order_by(Check.id))).scalars())


async def finish_album(session: AsyncSession, key: str, token: str) -> bool:
    """Stamp an album replied (fenced by the claim's token); a private chat's id is dropped."""
    stmt = (
        update(Album)
        .where(Album.album_key == key, Album.reply_token == token, Album.replied_at.is_(None))
        .values(
            replied_at=utcnow(),
            reply_to_message_id=None,
            chat_id=case((Album.private.is_(True), None), else_=Album.chat_id),
        )
        .returning(Album.album_key)
        .execution_options(synchronize_session=False)
    )
    done = (await session.execute(stmt)).scalar_one_or_none() is not None
    await session.commit()
    return done


async def release_album(session: AsyncSession, key: str, token: str, *, delay_s: float, sent_maybe: bool) -> bool:
    """Give an album's reply claim back, due again after ``delay_s``. ``sent_maybe``: the send
    may have reached Telegram (a network error), so the claim stays counted."""
    values: dict[str, Any] = {
        "reply_token": None,
        "next_attempt_at": utcnow() + dt.timedelta(seconds=max(0.0, float(delay_s))),
    }
    if not sent_maybe:
        values["reply_claimed_at"] = None
        values["reply_claims"] = case((Album.reply_claims > 0, Album.reply_claims - 1), else_=0)
    stmt = (
        update(Album)
        .where(Album.album_key == key, Album.reply_token == token, Album.replied_at.is_(None))
        .values(**values)
        .returning(Album.album_key)
        .execution_options(synchronize_session=False)
    )
    done = (await session.execute(stmt)).scalar_one_or_none() is not None
    await session.commit()
    return done


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
        dialect_insert(session, Feedback)
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
        dialect_insert(session, ChatSettings)
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
    await session.execute(
        update(Album)
        .where(Album.chat_id == old_chat_id)
        .values(chat_id=new_chat_id)
        .execution_options(synchronize_session=False)
    )
    await stats.invalidate_all(session)  # per-chat counts of any day may have moved
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
        delete(ProcessedUpdate).where(ProcessedUpdate.seen_at < cutoff).execution_options(synchronize_session=False)
    )
    await session.execute(delete(Album).where(Album.last_item_at < cutoff).execution_options(synchronize_session=False))
    await stats.forget_days_until(session, cutoff.date())
    await session.commit()
    return int(getattr(deleted, "rowcount", 0) or 0)
