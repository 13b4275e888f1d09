"""Scaling out: one polling bot plus a worker-only bot share one PostgreSQL job queue."""

from __future__ import annotations

import asyncio

import db
from _bot_harness import ALICE, ALICE_CHAT, Harness, text_of
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
