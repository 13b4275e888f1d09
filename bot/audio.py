"""Voice notes and audio files: a clear "audio is not checked yet" instead of a generic error.

Without this, a voice note in a private chat gets the "send a photo or video" hint and an audio
file sent as a document is queued, downloaded and refused by the decoder as ``unsupported``.
"""

from __future__ import annotations

from typing import Any, Literal

from markupsafe import Markup
from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes, filters

from bot.i18n import Texts

AudioKind = Literal["voice", "audio"]

#: Voice notes, music/audio files, and documents whose MIME type is audio/*. Register the handler
#: before the media handler (a document filter would otherwise take audio documents).
AUDIO = filters.VOICE | filters.AUDIO | filters.Document.AUDIO


def audio_kind(message: Message | Any | None) -> AudioKind | None:
    """Which audio a message carries: a voice note, an audio file (also as a document), or none."""
    if message is None:
        return None
    if getattr(message, "voice", None):
        return "voice"
    if getattr(message, "audio", None):
        return "audio"
    document = getattr(message, "document", None)
    if document is not None and str(document.mime_type or "").lower().startswith("audio/"):
        return "audio"
    return None


def audio_text(texts: Texts, kind: AudioKind) -> Markup:
    return texts.t("audio-not-checked", kind=kind)


async def on_audio(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Private chats (and /check on an audio message): answer in the user's language."""
    message = update.effective_message
    kind = audio_kind(message)
    if message is None or kind is None:
        return
    texts = Texts.for_user(update.effective_user)
    await message.reply_text(audio_text(texts, kind), parse_mode=ParseMode.HTML, do_quote=True)
