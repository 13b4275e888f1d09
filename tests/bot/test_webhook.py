"""bot.webhook: Telegram posts updates; 200 only after the commit, 403 without the secret.

The fake Telegram switches to webhook delivery on ``setWebhook`` and retries every update until
it gets a 2xx, as Telegram does; a PostgreSQL of the test's own is stopped to show that an
update the bot could not commit is answered 503, delivered again, and answered once.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from _bot_harness import ALICE, ALICE_CHAT, FAST, Harness, text_of
from _pg_instance import PgInstance
from _serve_process import free_port
from engine_http import EngineHTTP
from fake_telegram import FakeTelegram

import db
from fakewatch.settings import Settings

SECRET = "webhook-test-secret-0123456789"


def _webhook(port: int) -> dict[str, object]:
    return {"telegram_webhook_url": f"http://127.0.0.1:{port}/telegram/hook",
            "telegram_webhook_secret": SECRET, "telegram_webhook_port": port}  # fmt: skip


def test_a_webhook_needs_a_real_secret() -> None:
    with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
        Settings(telegram_webhook_url="https://bot.example.org/hook")
    with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
        Settings(telegram_webhook_url="https://bot.example.org/hook", telegram_webhook_secret="short")
    assert Settings(telegram_webhook_url="https://x/hook", telegram_webhook_secret=SECRET).telegram_webhook_port


async def test_webhook_answers_after_the_commit_and_refuses_strangers(harness: Harness, face_photo: bytes) -> None:
    port = free_port()
    async with harness.bot(**_webhook(port)):
        assert harness.telegram.webhook == {"url": f"http://127.0.0.1:{port}/telegram/hook", "secret": SECRET}
        _, msg = harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo")
        answer = await harness.reply_to(ALICE_CHAT["id"], msg["message_id"])
        _, first = harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="wa", media_group_id="wh")
        harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="wb", media_group_id="wh")
        album = await harness.reply_to(ALICE_CHAT["id"], first["message_id"])
        forged = {"update_id": 999_999, "message": {"message_id": 5, "date": 1, "chat": ALICE_CHAT, "from": ALICE,
                                                    "text": "/start"}}  # fmt: skip
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{port}/telegram/hook"
            statuses = []
            for headers, body in (({}, forged), ({"X-Telegram-Bot-Api-Secret-Token": "wrong-secret-0123456789"}, forged),
                                  ({"X-Telegram-Bot-Api-Secret-Token": SECRET}, "not json")):  # fmt: skip
                kwargs = {"json": body} if isinstance(body, dict) else {"data": body}
                async with http.post(url, headers=headers, **kwargs) as resp:
                    statuses.append(resp.status)
        await asyncio.sleep(0.5)
        rows = await harness.checks()
    assert "Chance of manipulation" in text_of(answer) or "No faces found" in text_of(answer)
    assert "Album, 2 files" in text_of(album)
    assert statuses == [403, 403, 400]
    assert not [c for c in harness.telegram.calls if "I check photos and videos" in text_of(c)]  # forged /start
    assert len(rows) == 3 and all(status == 200 for _, status in harness.telegram.webhook_deliveries)
    assert not harness.telegram.sent("getUpdates")  # no polling in webhook mode


async def test_webhook_answers_503_while_the_database_is_away_then_the_update_comes_back(
    telegram: FakeTelegram, serving: EngineHTTP, own_pg: PgInstance, face_photo: bytes
) -> None:
    url = await own_pg.create_database("webhook")
    await db.upgrade(url)
    engine = db.create_engine(url)
    h = Harness(telegram, serving, url, db.session_factory(engine), FAST)
    try:
        async with h.bot(**_webhook(free_port())):
            await asyncio.to_thread(own_pg.stop, "fast")
            update_id, msg = h.send_media(ALICE_CHAT, ALICE, face_photo, "photo")
            for _ in range(300):
                if sum(1 for u, s in telegram.webhook_deliveries if u == update_id and s == 503) >= 2:
                    break
                await asyncio.sleep(0.1)
            assert [s for u, s in telegram.webhook_deliveries if u == update_id][:2] == [503, 503]
            await asyncio.to_thread(own_pg.start)
            answer = await h.reply_to(ALICE_CHAT["id"], msg["message_id"], timeout=60)
            await h.wait_checks(lambda r: len(r) == 1 and r[0].status == db.CheckStatus.DONE)
            await asyncio.sleep(1.0)
    finally:
        await engine.dispose()
    answers = [c for c in telegram.sent("sendMessage", "sendPhoto")
               if (c.params.get("reply_parameters") or {}).get("message_id") == msg["message_id"]]  # fmt: skip
    assert len(answers) == 1 and ("Chance of manipulation" in text_of(answer) or "No faces found" in text_of(answer))
    assert [s for u, s in telegram.webhook_deliveries if u == update_id][-1] == 200
