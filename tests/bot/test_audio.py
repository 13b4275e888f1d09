"""bot.audio: voice notes and audio files get "not checked yet", in the sender's language, over real
PTB polling against the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest
from fake_telegram import FakeTelegram, private_chat, user
from telegram import Update
from telegram.ext import Application, MessageHandler, filters

from bot.audio import AUDIO, audio_kind, audio_text, on_audio
from bot.i18n import Texts


def test_audio_kind() -> None:
    assert audio_kind(SimpleNamespace(voice=object(), audio=None, document=None)) == "voice"
    assert audio_kind(SimpleNamespace(voice=None, audio=object(), document=None)) == "audio"
    doc = SimpleNamespace(mime_type="audio/mpeg")
    assert audio_kind(SimpleNamespace(voice=None, audio=None, document=doc)) == "audio"
    video_doc = SimpleNamespace(mime_type="video/mp4")
    assert audio_kind(SimpleNamespace(voice=None, audio=None, document=video_doc)) is None
    assert audio_kind(None) is None


def test_audio_text_per_language() -> None:
    assert "can't check voice messages yet" in audio_text(Texts("en"), "voice")
    assert "Голосовые сообщения я пока не проверяю" in audio_text(Texts("ru"), "voice")
    assert "Аудіофайли я поки не перевіряю" in audio_text(Texts("uk"), "audio")
    assert "archivos de audio" in audio_text(Texts("es"), "audio")
    assert "Sprachnachrichten kann ich noch nicht prüfen" in audio_text(Texts("de"), "voice")


@pytest.fixture
async def bot_app() -> AsyncIterator[tuple[FakeTelegram, Application]]:
    telegram = await FakeTelegram().start()
    app = Application.builder().token(telegram.token).base_url(telegram.base_url).build()
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & AUDIO, on_audio))
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_polling(timeout=1, allowed_updates=Update.ALL_TYPES)
    await app.start()
    try:
        yield telegram, app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await telegram.close()


VOICE = {"file_id": "V1", "file_unique_id": "UV1", "duration": 3, "mime_type": "audio/ogg"}
AUDIO_DOC = {"file_id": "D1", "file_unique_id": "UD1", "file_name": "interview.mp3", "mime_type": "audio/mpeg"}


@pytest.mark.parametrize(
    ("language_code", "fields", "words"),
    [
        ("ru", {"voice": VOICE}, "Голосовые сообщения я пока не проверяю"),
        ("en-US", {"document": AUDIO_DOC}, "can't check audio files yet"),
        (None, {"audio": {**VOICE, "file_id": "A1"}}, "can't check audio files yet"),
        ("de", {"voice": VOICE}, "Sprachnachrichten"),
    ],
)
async def test_audio_messages_get_a_clear_answer(
    bot_app: tuple[FakeTelegram, Application], language_code: str | None, fields: dict, words: str
) -> None:
    telegram, _ = bot_app
    sender = user(7) if language_code is None else {**user(7), "language_code": language_code}
    _, message = telegram.push_message(private_chat(7), sender, **fields)
    (call,) = await telegram.wait_for("sendMessage", timeout=20)
    assert words in call.params["text"] and call.params["parse_mode"] == "HTML"
    assert call.params["reply_parameters"]["message_id"] == message["message_id"]
