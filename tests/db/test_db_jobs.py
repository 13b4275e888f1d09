"""The job queue and the bot's writes, on both backends."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select, text

import db
from db import jobs
from db.models import Check, Feedback, ProcessedUpdate


def _outcome(**columns: Any) -> db.Outcome:
    """What the bot records for RESULT (the typed columns as the bot reads them from it)."""
    return db.Outcome(
        result=RESULT, verdict="fake", fake_probability=0.91, faces_count=1, media_kind="image", **columns
    )


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
        await jobs.complete_check(
            s,
            claimed.id,
            _outcome(
                sha256="ab" * 32,
                model_name="efficientnet_lite0",
                model_version="v1",
                timings_ms={"download": 10.0, "total": 55.5},
            ),
        )
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
    await jobs.complete_check(
        session, claimed.id, _outcome(sha256=None, model_name="m", model_version="v1", timings_ms={"total": 1.0})
    )
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
    row = (
        await session.execute(select(Check.status, Check.error_code, Check.chat_id).where(Check.id == check.id))
    ).one()
    assert tuple(row) == (db.CheckStatus.FAILED, "download_failed", None)
    assert await jobs.claim_next(session, worker_id="w", lease_s=60) is None


async def test_find_cached_only_returns_done_checks_of_that_version(session) -> None:
    assert await jobs.find_cached(session, file_unique_id="U1", model_version="v1") is None
    check = await jobs.enqueue_check(session, **_fields())
    assert await jobs.find_cached(session, file_unique_id="U1", model_version="v1") is None  # queued
    await jobs.complete_check(
        session, check.id, _outcome(sha256=None, model_name="m", model_version="v1", timings_ms={})
    )
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
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
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
        await jobs.complete_check(
            session, 424242, _outcome(sha256=None, model_name="m", model_version="v", timings_ms={})
        )
    with pytest.raises(ValueError):
        await jobs.purge_older_than(session, -1)


# --- fencing: a worker whose lease was taken over writes nothing ---------------------------------
async def test_stale_lease_writes_nothing_and_the_new_holder_wins(sessions) -> None:
    async with sessions() as s:
        await jobs.enqueue_check(s, **_fields())
        first = await jobs.claim_next(s, worker_id="slow", lease_s=0)  # its lease ends at once
        stale = jobs.Lease.of(first)
        second = await jobs.claim_next(s, worker_id="fresh", lease_s=60)
        live = jobs.Lease.of(second)
    assert stale.check_id == live.check_id and stale.token != live.token
    async with sessions() as s:
        assert await jobs.renew_lease(s, stale, 60) is False
        assert await jobs.store_outcome(s, stale, _outcome(), claim_answer=True) is False
        assert await jobs.claim_answer(s, stale, answer_lease_s=0) is False
        assert await jobs.complete_check(s, first.id, _outcome(), lease=stale) is False
        assert await jobs.fail_check(s, first.id, error_code="x", message="x", lease=stale) is False
        assert await jobs.retry_later(s, first.id, error_code="x", delay_s=0, lease=stale) is False
        row = await s.get(Check, first.id, populate_existing=True)
        assert row.status == db.CheckStatus.RUNNING and row.worker_id == "fresh" and row.answer_claims == 0
        assert await jobs.renew_lease(s, live, 60) is True
        assert await jobs.store_outcome(s, live, _outcome(), claim_answer=True) is True
        assert await jobs.finish(s, live, answered=True) is True
        assert await jobs.finish(s, live, answered=True) is False  # closed: the lease is gone
        row = await s.get(Check, first.id, populate_existing=True)
    assert row.status == db.CheckStatus.DONE and row.answered_at is not None and row.answer_claims == 1
    assert row.lease_token is None and row.chat_id is None and row.message_id is None  # private ids dropped


async def test_an_answer_claimed_by_a_holder_that_died_is_claimed_again_and_counted(sessions) -> None:
    async with sessions() as s:
        await jobs.enqueue_check(s, **_fields())
        dead = jobs.Lease.of(await jobs.claim_next(s, worker_id="dead", lease_s=0))
        assert await jobs.store_failure(s, dead, error_code="download_failed", message="gone", claim_answer=True)
        again = await jobs.claim_next(s, worker_id="next", lease_s=60)
        assert again.outcome_at is not None and again.answer_claims == 1  # only the answer is left
        live = jobs.Lease.of(again)
        assert await jobs.claim_answer(s, live, answer_lease_s=60) is False  # the dead one's claim is live
        assert await jobs.claim_answer(s, live, answer_lease_s=0)  # ...until it is a lease old
        assert not await jobs.stamp_answered(s, again.id, dead.token)  # taken over: too late to stamp
        assert await jobs.finish(s, live, answered=True)
        row = await s.get(Check, again.id, populate_existing=True)
    assert row.status == db.CheckStatus.FAILED and row.answer_claims == 2 and row.error_code == "download_failed"


async def test_the_sender_stamps_its_answer_after_losing_the_job(sessions) -> None:
    """A database outage outlasted the job's lease: the sender still records its send by the answer
    claim's token, and the next holder only closes the job."""
    async with sessions() as s:
        await jobs.enqueue_check(s, **_fields())
        sender = jobs.Lease.of(await jobs.claim_next(s, worker_id="sender", lease_s=0))
        assert await jobs.store_outcome(s, sender, _outcome(), claim_answer=True)
        taker = jobs.Lease.of(await jobs.claim_next(s, worker_id="taker", lease_s=60))
        assert await jobs.finish(s, sender, answered=True) is False  # the job is no longer the sender's
        assert await jobs.stamp_answered(s, sender.check_id, sender.token)
        assert await jobs.stamp_answered(s, sender.check_id, sender.token)  # idempotent
        assert await jobs.claim_answer(s, taker, answer_lease_s=0) is False  # answered: nothing to send
        assert await jobs.finish(s, taker, answered=True)
        row = await s.get(Check, sender.check_id, populate_existing=True)
    assert row.status == db.CheckStatus.DONE and row.answer_claims == 1 and row.answered_at is not None


async def test_a_sender_that_gives_up_releases_its_claim(sessions) -> None:
    async with sessions() as s:
        await jobs.enqueue_check(s, **_fields())
        first = jobs.Lease.of(await jobs.claim_next(s, worker_id="a", lease_s=60))
        await jobs.store_outcome(s, first, _outcome(), claim_answer=True)
        # a dropped connection: maybe delivered, so still counted, but the claim is no longer live
        assert await jobs.retry_later(s, first.check_id, error_code="telegram_busy", delay_s=0, lease=first)
        second = jobs.Lease.of(await jobs.claim_next(s, worker_id="b", lease_s=60))
        assert await jobs.claim_answer(s, second, answer_lease_s=3600)  # at once
        assert not await jobs.stamp_answered(s, first.check_id, first.token)
        row = await s.get(Check, first.check_id, populate_existing=True)
    assert row.answer_claims == 2 and row.answer_token == second.token


async def test_retry_later_keeps_a_stored_outcome_and_can_release_the_answer(sessions) -> None:
    async with sessions() as s:
        await jobs.enqueue_check(s, **_fields())
        lease = jobs.Lease.of(await jobs.claim_next(s, worker_id="w", lease_s=60))
        await jobs.store_outcome(s, lease, _outcome(), claim_answer=True)
        assert await jobs.retry_later(s, lease.check_id, error_code="telegram_busy", delay_s=0, lease=lease,
                                      release_answer=True, timed_out=True)  # fmt: skip
        row = await jobs.claim_next(s, worker_id="w", lease_s=60)
    assert row.status == db.CheckStatus.RUNNING and row.verdict == "fake" and row.outcome_at is not None
    assert row.answer_claims == 0 and row.answer_claimed_at is None and row.timeouts == 1
    assert row.error_code is None  # the stored outcome's error code, not the postponement's


# --- intake: the marker, the job and its album in one transaction ----------------------------------
def _intake(**over):
    fields = _fields(**over)
    fields.pop("update_id")
    return fields


async def test_ingest_check_is_atomic_and_idempotent(sessions) -> None:
    item = db.AlbumItem(chat_id=42, media_group_id="g1", message_id=9, private=True)
    async with sessions() as s:
        first = await jobs.ingest_check(s, update_id=500, album=item, **_intake(message_id=9))
        again = await jobs.ingest_check(s, update_id=500, album=item, **_intake(message_id=9))
        second = await jobs.ingest_check(
            s,
            update_id=501,
            **_intake(),
            album=db.AlbumItem(chat_id=42, media_group_id="g1", message_id=8, private=True),
        )
        with pytest.raises(TypeError):  # a bad job row takes its marker down with it
            await jobs.ingest_check(s, update_id=502, bogus=1, **_intake())
        assert await jobs.update_seen(s, 500) and await jobs.update_seen(s, 501)
        assert not await jobs.update_seen(s, 502)
        rows = list((await s.execute(select(Check).order_by(Check.id))).scalars())
        album = await s.get(db.Album, item.key)
    assert first is not None and again is None and second is not None
    assert [r.update_id for r in rows] == [500, 501] and {r.album_key for r in rows} == {item.key}
    assert album.items == 2 and album.reply_to_message_id == 8 and album.replied_at is None


async def test_album_reply_is_claimed_once_when_complete(sessions) -> None:
    item = db.AlbumItem(chat_id=-100, media_group_id="g2", message_id=3, private=False, silent=True, threshold="fake")
    async with sessions() as s:
        for update_id in (600, 601):
            await jobs.ingest_check(s, update_id=update_id, album=item, **_intake(source="group"))
        later = db.models.utcnow() + dt.timedelta(seconds=30)
        assert await jobs.claim_album_reply(s, complete_before=later, lease_s=60, token="t1") is None  # items open
        while (job := await jobs.claim_next(s, worker_id="w", lease_s=60)) is not None:
            assert await jobs.complete_check(s, job.id, _outcome(), lease=jobs.Lease.of(job))
        early = db.models.utcnow() - dt.timedelta(seconds=30)
        assert await jobs.claim_album_reply(s, complete_before=early, lease_s=60, token="t1") is None  # not quiet
        album = await jobs.claim_album_reply(s, complete_before=later, lease_s=60, token="t1")
        assert album is not None and album.silent and album.threshold == "fake"
        assert await jobs.claim_album_reply(s, complete_before=later, lease_s=60, token="t2") is None  # held
        assert len(await jobs.album_items(s, album.album_key)) == 2
        assert not await jobs.finish_album(s, album.album_key, "t2")  # not the claimer
        assert await jobs.finish_album(s, album.album_key, "t1")
        assert not await jobs.finish_album(s, album.album_key, "t1")  # once
        # an item that arrives after the reply is checked on its own
        late = await jobs.ingest_check(s, update_id=602, album=item, **_intake(source="group"))
        row = await s.get(db.Album, album.album_key, populate_existing=True)
    assert late is not None and late.album_key is None and row.items == 2 and row.chat_id == -100


async def test_a_released_album_claim_is_due_again_after_its_delay(sessions) -> None:
    item = db.AlbumItem(chat_id=7, media_group_id="g3", message_id=1, private=True)
    async with sessions() as s:
        job = await jobs.ingest_check(s, update_id=700, album=item, **_intake())
        await jobs.fail_check(s, job.id, error_code="download_failed", message="gone")
        later = db.models.utcnow() + dt.timedelta(seconds=30)
        album = await jobs.claim_album_reply(s, complete_before=later, lease_s=60, token="a")
        assert await jobs.release_album(s, album.album_key, "a", delay_s=0, sent_maybe=False)
        again = await jobs.claim_album_reply(s, complete_before=later, lease_s=60, token="b")
        assert again is not None and again.reply_claims == 1  # a surely unsent claim is not counted
        assert await jobs.release_album(s, album.album_key, "b", delay_s=0, sent_maybe=True)
        third = await jobs.claim_album_reply(s, complete_before=later, lease_s=60, token="c")
        assert third is not None and third.reply_claims == 2
        assert await jobs.finish_album(s, album.album_key, "c")
        row = await s.get(db.Album, album.album_key, populate_existing=True)
    assert row.chat_id is None and row.reply_to_message_id is None  # a private chat id is dropped


async def test_ingest_watermark_never_moves_back(session) -> None:
    t1 = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    assert await jobs.get_ingest_mark(session, "telegram") is None
    await jobs.set_ingest_mark(session, "telegram", t1)
    await jobs.set_ingest_mark(session, "telegram", t1 - dt.timedelta(minutes=5))
    assert await jobs.get_ingest_mark(session, "telegram") == t1
    await jobs.set_ingest_mark(session, "telegram", t1 + dt.timedelta(seconds=1))
    assert await jobs.get_ingest_mark(session, "telegram") == t1 + dt.timedelta(seconds=1)
