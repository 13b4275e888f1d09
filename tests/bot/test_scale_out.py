"""Scaling out: one polling bot plus a worker-only bot share one PostgreSQL job queue."""

from __future__ import annotations

import asyncio

from _bot_harness import ALICE, ALICE_CHAT, Harness, text_of

import db
from bot import build_application, running


async def test_worker_only_bot_takes_jobs_from_the_shared_queue(pg_harness: Harness, face_photo: bytes) -> None:
    """While the serving side holds every request, each bot's single worker loop is busy with a
    different job: the second job can only be running because the worker-only bot claimed it."""
    h = pg_harness
    h.serving.hold()
    extra = build_application(h.settings(), h.options)
    async with h.bot(), running(extra, polling=False):
        _, first = h.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="scale-1")
        _, second = h.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="scale-2")
        rows = await h.wait_checks(
            lambda r: len(r) == 2 and all(x.status == db.CheckStatus.RUNNING for x in r), timeout=60
        )
        assert len({r.worker_id for r in rows}) == 2, "both bot processes should hold one job each"
        h.serving.release()
        answers = await asyncio.gather(
            h.reply_to(ALICE_CHAT["id"], first["message_id"]),
            h.reply_to(ALICE_CHAT["id"], second["message_id"]),
        )
        done = await h.wait_checks(lambda r: all(x.status == db.CheckStatus.DONE for x in r))
    assert all("%" in text_of(a) for a in answers)
    assert [r.attempts for r in done] == [1, 1]  # each job ran once
    assert h.serving.calls == 2


async def test_an_album_split_between_two_processes_gets_one_reply(pg_harness: Harness, face_photo: bytes) -> None:
    """Album items checked by the polling bot and by a worker-only bot: one combined reply."""
    h = pg_harness
    h.serving.hold()
    extra = build_application(h.settings(), h.options)
    async with h.bot(), running(extra, polling=False):
        msgs = [h.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id=f"alb-{i}", media_group_id="two-procs")[1]
                for i in range(3)]  # fmt: skip
        rows = await h.wait_checks(
            lambda r: len(r) == 3 and sum(x.status == db.CheckStatus.RUNNING for x in r) == 2, timeout=60
        )
        assert len({r.worker_id for r in rows if r.worker_id}) == 2  # each process holds an item
        h.serving.release()
        answer = await h.reply_to(ALICE_CHAT["id"], msgs[0]["message_id"], timeout=60)
        await h.wait_checks(lambda r: all(x.status == db.CheckStatus.DONE for x in r))
        await asyncio.sleep(2.0)  # a second (or partial) album reply would come now
        async with h.sessions() as s:
            albums = list((await s.execute(db.Album.__table__.select())).all())
    replies = [c for c in h.telegram.sent("sendMessage", "sendPhoto") if c.params.get("reply_parameters")]
    assert len(replies) == 1 and "Album, 3 files" in text_of(answer)
    assert len(albums) == 1 and albums[0].replied_at is not None and albums[0].reply_claims == 1
