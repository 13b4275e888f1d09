"""The fake Bot API server speaks the protocol PTB expects (so the e2e tests mean something)."""

from __future__ import annotations

import asyncio
import time

import pytest
from fake_telegram import FakeTelegram, private_chat, user
from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, InvalidToken, RetryAfter


def make_bot(fake: FakeTelegram, token: str | None = None) -> Bot:
    return Bot(token or fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)


async def test_get_me_long_polling_and_offset_confirmation(telegram: FakeTelegram) -> None:
    async with make_bot(telegram) as bot:
        assert (await bot.get_me()).username == "fakewatch_test_bot"
        start = time.monotonic()
        assert await bot.get_updates(timeout=1) == ()  # long poll waits, then answers empty
        assert time.monotonic() - start >= 0.9
        waiting = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        update_id, _ = telegram.push_message(private_chat(1), user(1), text="hi")
        updates = await asyncio.wait_for(waiting, 2)  # delivered as soon as it exists
        assert [u.update_id for u in updates] == [update_id] and updates[0].message.text == "hi"
        again = await bot.get_updates(timeout=0)  # not confirmed yet: served again
        assert [u.update_id for u in again] == [update_id]
        assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()  # confirmed
        telegram.redeliver(update_id)
        assert [u.update_id for u in await bot.get_updates(offset=update_id + 1, timeout=0)] == [update_id]


async def test_files_errors_and_recording(telegram: FakeTelegram) -> None:
    file = telegram.add_file(b"hello bytes")
    async with make_bot(telegram) as bot:
        tg_file = await bot.get_file(file["file_id"])
        assert tg_file.file_unique_id == file["file_unique_id"] and tg_file.file_size == 11
        assert bytes(await tg_file.download_as_bytearray()) == b"hello bytes"
        with pytest.raises(BadRequest):
            await bot.get_file("nope")
        telegram.fail_next("sendMessage", retry_after=3)
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(5, "x")
        assert info.value.retry_after in (3, __import__("datetime").timedelta(seconds=3))
        telegram.fail_next("sendMessage", status=400, retry_after=None,
                           description="Bad Request: group chat was upgraded to a supergroup chat",
                           migrate_to_chat_id=-100123)  # fmt: skip
        with pytest.raises(ChatMigrated) as migrated:
            await bot.send_message(-5, "x")
        assert migrated.value.new_chat_id == -100123
        sent = await bot.send_message(5, "hello 42")
        assert sent.text == "hello 42" and sent.chat.id == 5
        await bot.send_photo(5, b"\xff\xd8jpeg", caption="c")
    assert telegram.sent("sendPhoto")[0].files["photo"] == b"\xff\xd8jpeg"
    assert telegram.sent("sendMessage", chat_id=5)[-1].params["text"] == "hello 42"  # not parsed as JSON


async def test_wrong_token_is_rejected(telegram: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with make_bot(telegram, token="1:wrong") as bot:
            await bot.get_me()


async def test_fault_plan_injects_429s_and_dropped_connections(telegram: FakeTelegram) -> None:
    from fake_telegram import FaultPlan
    from telegram.error import NetworkError

    telegram.faults = FaultPlan(seed=3, rate_429={"sendMessage": 0.3}, rate_drop={"sendMessage": 0.3})
    outcomes = {"ok": 0, "429": 0, "drop": 0}
    async with make_bot(telegram) as bot:
        for i in range(60):
            try:
                await bot.send_message(5, f"m{i}")
                outcomes["ok"] += 1
            except RetryAfter as exc:
                wait = exc.retry_after
                assert 1 <= (wait.total_seconds() if hasattr(wait, "total_seconds") else wait) <= 2
                outcomes["429"] += 1
            except NetworkError as exc:  # the connection died before the server did anything
                assert "httpx" in exc.message
                outcomes["drop"] += 1
    injected = telegram.faults.injected
    assert outcomes["429"] == injected["429:sendMessage"] > 5 and outcomes["drop"] == injected["drop:sendMessage"] > 5
    delivered = [c for c in telegram.sent("sendMessage") if isinstance(c.result, dict) and "message_id" in c.result]
    assert len(delivered) == outcomes["ok"]  # a failed call delivered nothing


async def test_push_edit_delivers_an_edited_message(telegram: FakeTelegram) -> None:
    _, message = telegram.push_message(private_chat(1), user(1), text="first")
    edit_id = telegram.push_edit(message, text="second")
    async with make_bot(telegram) as bot:
        updates = await bot.get_updates(timeout=0)
    edited = next(u for u in updates if u.update_id == edit_id).edited_message
    assert edited.message_id == message["message_id"] and edited.text == "second" and edited.edit_date
