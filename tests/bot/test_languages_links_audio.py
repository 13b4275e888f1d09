"""The wired bot end to end: a Russian-speaking user gets Russian, a compressed photo gets the tip to
send the file, voice notes get the audio answer, links are checked (and private ones refused) —
real PTB polling, the fake Bot API, the database and the real engine."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from _bot_harness import Harness, text_of
from aiohttp import web
from fake_telegram import private_chat, user

import db

IVAN = {**user(202, "Ivan"), "language_code": "ru"}
IVAN_CHAT = private_chat(202, "Ivan")
HANS = {**user(303, "Hans"), "language_code": "de-AT"}
HANS_CHAT = private_chat(303, "Hans")


@pytest.fixture
async def media_site(face_photo: bytes) -> AsyncIterator[str]:
    """A real local web server: the photo itself, and a page whose og:image names it."""

    async def photo(_: web.Request) -> web.Response:
        return web.Response(body=face_photo, content_type="image/jpeg")

    async def page(_: web.Request) -> web.Response:
        head = '<meta property="og:image" content="/face.jpg">'
        return web.Response(text=f"<html><head>{head}</head></html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/face.jpg", photo)
    app.router.add_get("/story", page)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_russian_user_gets_russian_and_the_photo_tip(harness: Harness, face_photo: bytes) -> None:
    async with harness.bot():
        _, msg = harness.send_media(IVAN_CHAT, IVAN, face_photo, "photo")
        answer = await harness.reply_to(IVAN_CHAT["id"], msg["message_id"], timeout=120)
        harness.telegram.push_message(IVAN_CHAT, IVAN, text="привет")
        hint = await harness.telegram.wait_for(lambda c: "Отправьте фото или видео" in text_of(c))
    text = text_of(answer)
    assert "Вероятность подмены" in text or "Лиц не найдено" in text, text
    assert "отправьте его файлом" in text  # a compressed photo carries no credentials
    assert answer.params["parse_mode"] == "HTML" and hint
    buttons = answer.params["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["👍 Верно", "👎 Неверно"]
    commands = harness.telegram.sent("setMyCommands")
    assert {c.params.get("language_code") for c in commands} == {None, "ru", "uk", "es", "de"}


async def test_a_document_gets_no_photo_tip(harness: Harness, face_photo: bytes) -> None:
    async with harness.bot():
        _, msg = harness.send_media(HANS_CHAT, HANS, face_photo, "document",
                                    document_extra={"file_name": "face.jpg", "mime_type": "image/jpeg"})  # fmt: skip
        answer = await harness.reply_to(HANS_CHAT["id"], msg["message_id"], timeout=120)
    text = text_of(answer)
    assert "Wahrscheinlichkeit einer Manipulation" in text or "Keine Gesichter gefunden" in text, text
    assert "als Datei" not in text


async def test_voice_note_is_answered_not_queued(harness: Harness) -> None:
    async with harness.bot():
        voice = {"file_id": "V1", "file_unique_id": "UV1", "duration": 2, "mime_type": "audio/ogg"}
        _, msg = harness.telegram.push_message(IVAN_CHAT, IVAN, voice=voice)
        answer = await harness.reply_to(IVAN_CHAT["id"], msg["message_id"], timeout=30)
    assert "Голосовые сообщения я пока не проверяю" in text_of(answer)
    assert await harness.checks() == []


async def test_link_to_a_photo_is_checked(harness: Harness, media_site: str) -> None:
    url = f"{media_site}/story"
    async with harness.bot(allow_private_links=True):
        _, msg = harness.telegram.push_message(
            HANS_CHAT, HANS, text=f"schau mal {url}", entities=[{"type": "url", "offset": 10, "length": len(url)}]
        )
        answer = await harness.reply_to(HANS_CHAT["id"], msg["message_id"], timeout=120)
        rows = await harness.wait_checks(lambda r: r and r[0].status == db.CheckStatus.DONE)
    text = text_of(answer)
    assert "Wahrscheinlichkeit einer Manipulation" in text or "Keine Gesichter gefunden" in text, text
    assert rows[0].sha256 and rows[0].file_id is None and rows[0].media_kind == "image"


async def test_link_to_a_private_address_is_refused(harness: Harness, media_site: str) -> None:
    async with harness.bot():  # allow_private_links stays False: 127.0.0.1 is refused
        _, msg = harness.telegram.push_message(IVAN_CHAT, IVAN, text=f"{media_site}/face.jpg")
        answer = await harness.reply_to(IVAN_CHAT["id"], msg["message_id"], timeout=60)
        rows = await harness.wait_checks(lambda r: r and r[0].status == db.CheckStatus.FAILED)
    assert "частной или локальной сети" in text_of(answer)
    assert rows[0].error_code == "link_refused" and harness.serving.calls == 0
