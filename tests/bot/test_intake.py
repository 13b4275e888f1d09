"""bot.intake: an update is confirmed to Telegram only once it is committed.

A PostgreSQL of the test's own (``_pg_instance``) is stopped while updates arrive: they are
fetched again and again but never confirmed, nothing is answered, and once the database is back
each is answered exactly once.
"""

from __future__ import annotations

import asyncio

import pytest
from _bot_harness import ALICE, ALICE_CHAT, FAST, Harness, text_of
from _pg_instance import PgInstance, pg_bin_dir
from engine_http import EngineHTTP
from fake_telegram import FakeTelegram

import db

pytestmark = pytest.mark.skipif(pg_bin_dir() is None, reason="PostgreSQL server binaries not installed")


async def test_updates_stay_unconfirmed_while_the_database_is_away(
    telegram: FakeTelegram, serving: EngineHTTP, own_pg: PgInstance, face_photo: bytes
) -> None:
    url = await own_pg.create_database("intake")
    await db.upgrade(url)
    engine = db.create_engine(url)
    h = Harness(telegram, serving, url, db.session_factory(engine), FAST)
    try:
        async with h.bot():
            _, before = h.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="U-before")
            await h.reply_to(ALICE_CHAT["id"], before["message_id"])
            await asyncio.to_thread(own_pg.stop, "fast")
            media_update, media = h.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="U-during")
            help_update, _ = telegram.push_message(ALICE_CHAT, ALICE, text="/help",
                                                   entities=[{"type": "bot_command", "offset": 0, "length": 5}])  # fmt: skip
            await telegram.wait_for(  # served again and again: never confirmed
                lambda c: c.method == "getUpdates" and media_update in (c.result or []), count=3, timeout=60
            )
            assert not [c for c in telegram.calls if "How to use me" in text_of(c)]
            assert not [c for c in telegram.sent("sendMessage", "sendPhoto")
                        if (c.params.get("reply_parameters") or {}).get("message_id") == media["message_id"]]  # fmt: skip
            await asyncio.to_thread(own_pg.start)
            answer = await h.reply_to(ALICE_CHAT["id"], media["message_id"], timeout=60)
            await telegram.wait_for(lambda c: "How to use me" in text_of(c), timeout=30)
            rows = await h.wait_checks(lambda r: len(r) == 2 and all(x.status == db.CheckStatus.DONE for x in r))
            await asyncio.sleep(1.5)  # a duplicate would come now
    finally:
        await engine.dispose()
    assert "Chance of manipulation" in text_of(answer) or "No faces found" in text_of(answer)
    assert [r.update_id for r in rows][1] == media_update
    helps = [c for c in telegram.calls if "How to use me" in text_of(c)]
    answers = [c for c in telegram.sent("sendMessage", "sendPhoto")
               if (c.params.get("reply_parameters") or {}).get("message_id") == media["message_id"]]  # fmt: skip
    assert len(helps) == 1 and len(answers) == 1
    async with db.session_factory(db.create_engine(url))() as s:
        assert await db.jobs.update_seen(s, help_update)
