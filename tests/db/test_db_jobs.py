"""The job queue and the bot's writes, on both backends."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select, text

import db
from db import jobs
from db._models import Check, Feedback, ProcessedUpdate

def _outcome(**columns: Any) -> db.Outcome:
    """What the bot records for RESULT (the typed columns as the bot reads them from it)."""
    return db.Outcome(result=RESULT, verdict="fake", fake_probability=0.91, faces_count=1, media_kind="image",
                      **columns)


RESULT = {
    "path": None,
    "kind": "image",
    "verdict": "fake",
    "fake_probability": 0.91,
    "faces": [{"box": [1, 2, 3, 4], "fake_probability": 0.91, "frame": None, "track": None}],
    "frames_sampled": None,
    "timeline": [],
    "model": {"name": "efficientnet_lite0", "version": "v1", "trained": True},
    "timings_ms": {"decode": 3.0, "total": 40.0},
    "error": None,
}


def _fields(**over):
    base = dict(source="private", media_kind="image", file_id="F1", file_unique_id="U1",
                file_size=1234, user_pseudonym="user-a", chat_id=42, message_id=7, update_id=100,
                payload={"reply_to": 7})  # fmt: skip
    base.update(over)
    return base


async def test_record_update_is_idempotent(session) -> None:
    assert await jobs.record_update(session, 5) is True
    assert await jobs.record_update(session, 5) is False
    assert await jobs.record_update(session, 6) is True
    assert (await session.execute(select(func.count()).select_from(ProcessedUpdate))).scalar() == 2


async def test_enqueue_claim_complete_roundtrip(sessions) -> None:
    async with sessions() as s:
        check = await jobs.enqueue_check(s, **_fields())
    assert check.id and check.status == db.CheckStatus.QUEUED and check.payload == {"reply_to": 7}
    async with sessions() as s:
        claimed = await jobs.claim_next(s, worker_id="w1", lease_s=60)
        assert claimed is not None and claimed.id == check.id
        assert claimed.status == db.CheckStatus.RUNNING and claimed.attempts == 1
        assert claimed.worker_id == "w1" and claimed.lease_until > claimed.created_at
        assert await jobs.claim_next(s, worker_id="w2", lease_s=60) is None  # nothing else is due
        await jobs.complete_check(s, claimed.id, _outcome(sha256="ab" * 32, model_name="efficientnet_lite0", model_version="v1", timings_ms={"download": 10.0, "total": 55.5}))
        # The worker's object still has what it needs to reply...
        assert claimed.chat_id == 42 and claimed.message_id == 7
    async with sessions() as s:
        stored = await s.get(Check, check.id)
    assert stored.status == db.CheckStatus.DONE and stored.verdict == "fake"
    assert stored.fake_probability == pytest.approx(0.91) and stored.faces_count == 1
    assert stored.latency_ms == pytest.approx(55.5) and stored.result["verdict"] == "fake"
    assert stored.model_version == "v1" and stored.sha256 == "ab" * 32
    # ...but the stored row keeps no raw message id, nor a private chat's id (the user's id).
    assert stored.message_id is None and stored.chat_id is None
    assert stored.finished_at >= stored.started_at >= stored.created_at
    assert stored.created_at.tzinfo is not None


async def test_group_chat_id_is_kept_for_operator_stats(session) -> None:
    check = await jobs.enqueue_check(session, **_fields(source="group", chat_id=-100123))
    claimed = await jobs.claim_next(session, worker_id="w", lease_s=30)
    await jobs.complete_check(session, claimed.id, _outcome(sha256=None, model_name="m", model_version="v1", timings_ms={"total": 1.0}))
    row = (await session.execute(text("SELECT chat_id, message_id FROM checks WHERE id = :i"), {"i": check.id})).one()
    assert tuple(row) == (-100123, None)


async def test_expired_lease_is_taken_over(session) -> None:
    await jobs.enqueue_check(session, **_fields())
    first = await jobs.claim_next(session, worker_id="dead-worker", lease_s=0)
    await asyncio.sleep(0.01)
    second = await jobs.claim_next(session, worker_id="w2", lease_s=60)
    assert second is not None and second.id == first.id
    assert second.worker_id == "w2" and second.attempts == 2
    assert await jobs.claim_next(session, worker_id="w3", lease_s=60) is None


async def test_retry_later_delays_the_job(session) -> None:
    await jobs.enqueue_check(session, **_fields())
    claimed = await jobs.claim_next(session, worker_id="w", lease_s=60)
    await jobs.retry_later(session, claimed.id, error_code="overloaded", delay_s=3600)
    assert await jobs.claim_next(session, worker_id="w", lease_s=60) is None
    await jobs.retry_later(session, claimed.id, error_code="overloaded", delay_s=0)
    again = await jobs.claim_next(session, worker_id="w", lease_s=60)
    assert again.id == claimed.id and again.attempts == 2 and again.error_code == "overloaded"


async def test_claim_order_is_oldest_due_first(session) -> None:
    a = await jobs.enqueue_check(session, **_fields(file_unique_id="A"))
    b = await jobs.enqueue_check(session, **_fields(file_unique_id="B"))
    assert (await jobs.claim_next(session, worker_id="w", lease_s=60)).id == a.id
    assert (await jobs.claim_next(session, worker_id="w", lease_s=60)).id == b.id


async def test_fail_check(session) -> None:
    check = await jobs.enqueue_check(session, **_fields())
    await jobs.fail_check(session, check.id, error_code="download_failed", message="file gone")
    row = (await session.execute(select(Check.status, Check.error_code, Check.chat_id).where(Check.id == check.id))).one()
    assert tuple(row) == (db.CheckStatus.FAILED, "download_failed", None)
    assert await jobs.claim_next(session, worker_id="w", lease_s=60) is None


async def test_find_cached_only_returns_done_checks_of_that_version(session) -> None:
    assert await jobs.find_cached(session, file_unique_id="U1", model_version="v1") is None
    check = await jobs.enqueue_check(session, **_fields())
    assert await jobs.find_cached(session, file_unique_id="U1", model_version="v1") is None  # queued
    await jobs.complete_check(session, check.id, _outcome(sha256=None, model_name="m", model_version="v1", timings_ms={}))
    hit = await jobs.find_cached(session, file_unique_id="U1", model_version="v1")
    assert hit is not None and hit.id == check.id and hit.result["verdict"] == "fake"
    assert await jobs.find_cached(session, file_unique_id="U1", model_version="v2") is None


async def test_feedback_is_one_vote_per_voter(session) -> None:
    check = await jobs.enqueue_check(session, **_fields())
    assert await jobs.add_feedback(session, check.id, "voter-1", True) is True
    assert await jobs.add_feedback(session, check.id, "voter-1", False) is False  # changed vote
    assert await jobs.add_feedback(session, check.id, "voter-2", True) is True
    votes = dict((await session.execute(select(Feedback.voter_pseudonym, Feedback.agrees))).all())
    assert votes == {"voter-1": False, "voter-2": True}
    with pytest.raises(db.CheckNotFound):
        await jobs.add_feedback(session, 999_999, "voter-1", True)


async def test_chat_settings_defaults_changes_and_migration(session) -> None:
    settings = await jobs.get_chat_settings(session, -1)
    assert settings.autocheck is False and settings.threshold == "uncertain"
    settings = await jobs.set_chat_settings(session, -1, autocheck=True, threshold="fake")
    assert settings.autocheck is True and settings.threshold == "fake"
    with pytest.raises(ValueError, match="threshold"):
        await jobs.set_chat_settings(session, -1, threshold="real")
    with pytest.raises(TypeError, match="title"):
        await jobs.set_chat_settings(session, -1, title="no titles kept")
    check = await jobs.enqueue_check(session, **_fields(source="group", chat_id=-1))
    await jobs.migrate_chat(session, -1, -1001)
    moved = await jobs.get_chat_settings(session, -1001)
    assert moved.autocheck is True and moved.threshold == "fake"
    assert (await session.execute(select(Check.chat_id).where(Check.id == check.id))).scalar() == -1001
    assert await session.get(db.ChatSettings, -1) is None


async def test_recent_checks_newest_first(session) -> None:
    for n in range(3):
        await jobs.enqueue_check(session, **_fields(file_unique_id=f"F{n}"))
    await jobs.enqueue_check(session, **_fields(user_pseudonym="someone-else"))
    recent = await jobs.recent_checks(session, "user-a", limit=2)
    assert [c.file_unique_id for c in recent] == ["F2", "F1"]


async def test_purge_removes_old_checks_feedback_and_updates(session) -> None:
    old = await jobs.enqueue_check(session, **_fields())
    new = await jobs.enqueue_check(session, **_fields())
    await jobs.add_feedback(session, old.id, "v", True)
    await jobs.record_update(session, 1)
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40)
    old.created_at = long_ago
    await session.commit()
    await session.execute(ProcessedUpdate.__table__.update().values(seen_at=long_ago))
    await session.commit()
    assert await jobs.purge_older_than(session, 30) == 1
    ids = set((await session.execute(select(Check.id))).scalars())
    assert ids == {new.id}
    assert (await session.execute(select(func.count()).select_from(Feedback))).scalar() == 0
    assert (await session.execute(select(func.count()).select_from(ProcessedUpdate))).scalar() == 0


async def test_bad_input_gets_typed_errors(session) -> None:
    with pytest.raises(TypeError, match="unknown fields: bogus"):
        await jobs.enqueue_check(session, source="private", bogus=1)
    with pytest.raises(TypeError, match="source"):
        await jobs.enqueue_check(session, file_id="x")
    with pytest.raises(ValueError):
        await jobs.enqueue_check(session, source="carrier-pigeon")
    with pytest.raises(db.CheckNotFound):
        await jobs.complete_check(session, 424242, _outcome(sha256=None, model_name="m", model_version="v", timings_ms={}))
    with pytest.raises(ValueError):
        await jobs.purge_older_than(session, -1)
