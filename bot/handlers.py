"""PTB handlers: small functions that gate an update, persist a job, and get out of the way.

Order of work for media (why): the duplicate gate (a read of ``processed_updates``) and the
inbound rate limit run first; then the duplicate marker, the job row and its album membership
are written in ONE transaction (``db.jobs.ingest_check``). The intake (``bot.intake``) confirms
the update to Telegram only after that commit; when the database is away the handler records
the update as unconfirmed and Telegram delivers it again. The worker does the rest.

Edits never start work (every handler takes new messages only), so a caption edit is neither a
new job nor a way around the per-user and per-chat limits. Operator commands answer only in a
private chat.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import uuid
from typing import Any

from sqlalchemy import select
from telegram import Message, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

import db
from bot import wording
from bot._outage import is_outage
from bot.audio import audio_kind, audio_text
from bot.constants import ADMIN_STATUSES, EXPORT_LIMIT, FEEDBACK_PREFIX, HISTORY_LIMIT, Attachment, Threshold
from bot.i18n import Texts, negotiate
from bot.links import links_in
from bot.runtime import Runtime, runtime
from db import jobs, stats

_LOGGER = logging.getLogger(__name__)

_VIDEO_LIKE = {Attachment.VIDEO, Attachment.ANIMATION, Attachment.VIDEO_NOTE}


def attachment_of(message: Message | None) -> tuple[Attachment, Any] | None:
    """The media to check in a message. Animation first: a GIF also sets ``document``."""
    if message is None:
        return None
    if message.photo:
        return Attachment.PHOTO, message.photo[-1]  # the largest size
    if message.animation:
        return Attachment.ANIMATION, message.animation
    if message.video:
        return Attachment.VIDEO, message.video
    if message.video_note:
        return Attachment.VIDEO_NOTE, message.video_note
    if message.document:
        return Attachment.DOCUMENT, message.document  # decided by decoding, not by MIME
    return None


def texts_for(update: Update) -> Texts:
    """The catalogue for whoever sent the update (Telegram's ``language_code``, else English)."""
    return Texts.for_user(update.effective_user)


async def reply(message: Message, text: str, **kwargs: Any) -> Any:
    """Every catalogue text is Telegram HTML (arguments escaped), so it goes with the HTML parse mode."""
    return await message.reply_text(text, parse_mode=ParseMode.HTML, **kwargs)


# --- gates (groups -3 and -1) ------------------------------------------------------------------
async def drop_duplicates(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A redelivered update (same update_id) does nothing at all.

    Only a read: the marker is written with the update's durable effect (the job row) or, for
    updates without one, by the intake after the handlers ran.
    """
    rt = runtime(context)
    try:
        async with rt.sessions() as s:
            seen = await jobs.update_seen(s, update.update_id)
    except Exception as exc:
        if not is_outage(exc):
            raise
        rt.unconfirmed[update.update_id] = exc  # nothing else runs; Telegram delivers it again
        raise ApplicationHandlerStop from None
    if seen:
        _LOGGER.info("update %s seen before: ignored", update.update_id)
        raise ApplicationHandlerStop


async def limit_inbound(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Inbound limit for private chats and commands anywhere (group media: in the handler)."""
    if not _allowed(update, context, silent=False):
        raise ApplicationHandlerStop


def _allowed(update: Update, context: ContextTypes.DEFAULT_TYPE, *, silent: bool) -> bool:
    rt = runtime(context)
    user, chat = update.effective_user, update.effective_chat
    decision = rt.limiter.check(user.id if user else None, chat.id if chat else None)
    if decision.allowed:
        return True
    if decision.notify and not silent and update.effective_message is not None:
        text = texts_for(update).t("rate-limited" if decision.scope == "user" else "rate-limited-chat")
        context.application.create_task(reply(update.effective_message, text, do_quote=True), update=update)
    return False


# --- media ---------------------------------------------------------------------------------------
async def enqueue(
    rt: Runtime,
    update: Update,
    media_message: Message,
    *,
    silent: bool,
    threshold: str = Threshold.UNCERTAIN,
    via: str,
) -> db.Check | None:
    """Write the job row for ``media_message`` (with the update's marker) and wake the worker.

    None when there is nothing to check or the update was handled before.
    """
    found = attachment_of(media_message)
    if found is None:
        return None
    attachment, media = found
    chat = media_message.chat
    user = update.effective_user
    source = db.Source.PRIVATE if chat.type == ChatType.PRIVATE else db.Source.GROUP
    kind = "image" if attachment == Attachment.PHOTO else "video" if attachment in _VIDEO_LIKE else None
    # /check on one album item checks that item alone (its album may have been answered already)
    album = media_message.media_group_id if via != "command" else None
    item = (
        db.AlbumItem(chat_id=chat.id, media_group_id=album, message_id=media_message.message_id,
                     private=chat.type == ChatType.PRIVATE, silent=silent, threshold=str(threshold))
        if album else None
    )  # fmt: skip
    async with rt.sessions() as s:
        check = await jobs.ingest_check(
            s,
            update_id=update.update_id,
            album=item,
            source=source,
            media_kind=kind,
            file_id=media.file_id,
            file_unique_id=media.file_unique_id,
            file_size=media.file_size,
            user_pseudonym=rt.pseudonym(user.id) if user else None,
            chat_id=chat.id,
            message_id=media_message.message_id,
            media_group_id=album,
            payload={
                "attachment": str(attachment),
                "silent": silent,
                "threshold": str(threshold),
                "via": via,
                "lang": negotiate(user.language_code if user else None),
            },
        )
    if check is not None:
        rt.wake_worker()
    return check


async def enqueue_links(rt: Runtime, update: Update, message: Message, urls: list[str], *, via: str) -> db.Check | None:
    """A job for the links in ``message``: the worker fetches them (durably, like a download).

    No file id, so no result cache; the URLs stay in the payload until the retention purge.
    """
    user = update.effective_user
    chat = message.chat
    source = db.Source.PRIVATE if chat.type == ChatType.PRIVATE else db.Source.GROUP
    async with rt.sessions() as s:
        check = await jobs.ingest_check(
            s,
            update_id=update.update_id,
            source=source,
            media_kind=None,
            file_id=None,
            file_unique_id=None,
            file_size=None,
            user_pseudonym=rt.pseudonym(user.id) if user else None,
            chat_id=chat.id,
            message_id=message.message_id,
            payload={
                "attachment": "link",
                "links": urls,
                "silent": False,
                "via": via,
                "lang": negotiate(user.language_code if user else None),
            },
        )
    if check is not None:
        rt.wake_worker()
    return check


async def on_private_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo/video/GIF/video note/file (forwarded or not) in a private chat: check it."""
    message = update.effective_message
    assert message is not None
    await enqueue(runtime(context), update, message, silent=False, via="message")


async def on_group_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Group media: checked silently only when the group's admins turned auto-check on."""
    message = update.effective_message
    chat = update.effective_chat
    assert message is not None and chat is not None
    rt = runtime(context)
    async with rt.sessions() as s:
        settings = await jobs.get_chat_settings(s, chat.id)
    if not settings.autocheck:
        return
    if not _allowed(update, context, silent=True):
        return
    await enqueue(rt, update, message, silent=True, threshold=settings.threshold, via="auto")


async def on_private_link(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A private message with a link: check the photo or video it points to."""
    message = update.effective_message
    assert message is not None
    urls = links_in(message)
    if not urls:
        await reply(message, texts_for(update).t("not-media"))
        return
    await enqueue_links(runtime(context), update, message, urls, via="message")


async def on_not_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Anything else in a private chat gets a hint instead of silence."""
    if update.effective_message is not None:
        await reply(update.effective_message, texts_for(update).t("not-media"))


# --- commands ------------------------------------------------------------------------------------
async def cmd_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: what the bot does."""
    await reply(update.effective_message, texts_for(update).t("start"))  # type: ignore[arg-type]


async def cmd_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: how to use it, privacy mode, what is kept."""
    days = runtime(context).settings.retention_days
    await reply(update.effective_message, texts_for(update).t("help", days=days))  # type: ignore[arg-type]


async def cmd_check(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/check as a reply to a media message (or a message with links) checks it (any chat)."""
    message = update.effective_message
    assert message is not None
    target = message.reply_to_message
    texts = texts_for(update)
    kind = audio_kind(target)
    if kind is not None:  # voice notes and audio files are not checked (yet)
        await reply(message, audio_text(texts, kind))
        return
    if target is not None and attachment_of(target) is None:
        urls = links_in(target)
        if urls:
            await enqueue_links(runtime(context), update, target, urls, via="command")
            return
    if target is None or attachment_of(target) is None:
        await reply(message, texts.t("check-needs-reply"))
        return
    await enqueue(runtime(context), update, target, silent=False, via="command")


async def cmd_history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/history: the caller's last checks (looked up by pseudonym)."""
    rt = runtime(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and update.effective_message is not None
    texts = texts_for(update)
    if chat is not None and chat.type != ChatType.PRIVATE:  # a history is nobody else's business
        await reply(update.effective_message, texts.t("history-private-only"))
        return
    async with rt.sessions() as s:
        rows = await jobs.recent_checks(s, rt.pseudonym(user.id), limit=HISTORY_LIMIT)
    await reply(update.effective_message, wording.history_text(rows, texts))


async def cmd_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/settings: this chat's auto-check and threshold (groups) or what happens here (private)."""
    rt = runtime(context)
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    texts = texts_for(update)
    days = rt.settings.retention_days
    if chat.type == ChatType.PRIVATE:
        text = wording.settings_text(texts, private=True, retention_days=days)
    else:
        async with rt.sessions() as s:
            cs = await jobs.get_chat_settings(s, chat.id)
        text = wording.settings_text(
            texts, private=False, retention_days=days, autocheck=cs.autocheck, threshold=cs.threshold
        )
    await reply(message, text)


async def _is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    rt = runtime(context)
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None or user is None:
        return False
    if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
        return True  # an anonymous admin posts as the group itself
    cached = rt.cached_admin(chat.id, user.id)
    if cached is not None:
        return cached
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError as exc:
        _LOGGER.warning("getChatMember failed: %s", exc.message)
        return False
    is_admin = member.status in ADMIN_STATUSES
    rt.remember_admin(chat.id, user.id, is_admin)
    return is_admin


async def _group_admin_setting(
    update: Update, context: ContextTypes.DEFAULT_TYPE, usage: str, allowed: set[str]
) -> str | None:
    """Shared checks of /autocheck and /threshold: group, argument (``usage``: a message id), admin."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    texts = texts_for(update)
    if chat.type == ChatType.PRIVATE:
        await reply(message, texts.t("groups-only"))
        return None
    args = [a.lower() for a in (context.args or [])]
    if len(args) != 1 or args[0] not in allowed:
        await reply(message, texts.t(usage))
        return None
    if not await _is_admin(update, context):
        await reply(message, texts.t("admins-only"))
        return None
    return args[0]


async def cmd_autocheck(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/autocheck on|off (group admins only)."""
    value = await _group_admin_setting(update, context, "autocheck-usage", {"on", "off"})
    if value is None:
        return
    rt = runtime(context)
    chat_id = update.effective_chat.id  # type: ignore[union-attr]
    async with rt.sessions() as s:
        cs = await jobs.set_chat_settings(s, chat_id, autocheck=value == "on")
    texts = texts_for(update)
    text = texts.t("autocheck-on", threshold=cs.threshold) if cs.autocheck else texts.t("autocheck-off")
    await reply(update.effective_message, text)  # type: ignore[arg-type]


async def cmd_threshold(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/threshold uncertain|fake (group admins only)."""
    allowed = {str(t) for t in Threshold}
    value = await _group_admin_setting(update, context, "threshold-usage", allowed)
    if value is None:
        return
    rt = runtime(context)
    async with rt.sessions() as s:
        await jobs.set_chat_settings(s, update.effective_chat.id, threshold=value)  # type: ignore[union-attr]
    await reply(update.effective_message, texts_for(update).t("threshold-set", threshold=value))  # type: ignore[arg-type]


async def _operator_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Message | None:
    """The command's message when an operator sent it in a private chat; else a short refusal
    (operator data never goes to a group, whoever asks)."""
    message = update.effective_message
    assert message is not None
    if message.chat.type != ChatType.PRIVATE:
        await reply(message, texts_for(update).t("operators-private-only"))
        return None
    if runtime(context).is_operator(update.effective_user.id if update.effective_user else None):
        return message
    await reply(message, texts_for(update).t("operators-only"))
    return None


async def cmd_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats (operators): verdicts, queue depth, latency."""
    message = await _operator_message(update, context)
    if message is None:
        return
    rt = runtime(context)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    async with rt.sessions() as s:  # the operators' own query: indexed, windowed, cached per day
        day = await stats.stats(s, since=since)
    await reply(message, wording.stats_text(day, rt.inferences(), texts_for(update)))


async def cmd_export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/export (operators): the latest checks as JSON (pseudonyms only, no chat ids)."""
    message = await _operator_message(update, context)
    if message is None:
        return
    rt = runtime(context)
    async with rt.sessions() as s:
        rows = list((await s.execute(select(db.Check).order_by(db.Check.id.desc()).limit(EXPORT_LIMIT))).scalars())
    records = [
        {
            "id": r.id,
            "created_at": r.created_at.isoformat() if r.created_at else None,
            "status": str(r.status),
            "source": str(r.source),
            "media_kind": r.media_kind,
            "verdict": r.verdict,
            "fake_probability": r.fake_probability,
            "faces_count": r.faces_count,
            "model_version": r.model_version,
            "latency_ms": r.latency_ms,
            "error_code": r.error_code,
            "user_pseudonym": r.user_pseudonym,
            "sha256": r.sha256,
        }
        for r in rows
    ]
    data = json.dumps(records, indent=1).encode()
    caption = texts_for(update).plain("export-caption", count=len(records))
    await message.reply_document(io.BytesIO(data), filename="fakewatch-checks.json", caption=caption)


# --- groups: membership, migration -------------------------------------------------------------
async def on_my_chat_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Track where the bot is: added → settings row; removed → marked removed."""
    change = update.my_chat_member
    if change is None or change.chat.type == ChatType.PRIVATE:
        return
    rt = runtime(context)
    now = dt.datetime.now(dt.UTC)
    present = {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
    was, is_now = change.old_chat_member.status in present, change.new_chat_member.status in present
    async with rt.sessions() as s:
        if is_now and not was:
            await jobs.set_chat_settings(s, change.chat.id, added_at=now, removed_at=None)
        elif was and not is_now:
            await jobs.set_chat_settings(s, change.chat.id, removed_at=now)
    if is_now and not was:
        try:
            texts = Texts.for_user(change.from_user)  # whoever added the bot
            await context.bot.send_message(change.chat.id, texts.t("group-greeting"), parse_mode=ParseMode.HTML)
        except TelegramError as exc:
            _LOGGER.info("could not greet the group: %s", exc.message)


async def on_migrate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group became a supergroup: move its settings and open jobs to the new id."""
    message = update.effective_message
    if message is None or not message.migrate_to_chat_id:
        return  # the twin message in the new supergroup (migrate_from_chat_id) needs nothing
    rt = runtime(context)
    async with rt.sessions() as s:
        await jobs.migrate_chat(s, message.chat.id, message.migrate_to_chat_id)


# --- feedback ----------------------------------------------------------------------------------------
async def on_feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Right"/"Wrong" under a verdict: one vote per voter and check (a new press replaces it)."""
    query = update.callback_query
    assert query is not None
    rt = runtime(context)
    try:
        prefix, check_id, vote = str(query.data).split(":")
        if prefix != FEEDBACK_PREFIX or vote not in ("0", "1"):
            raise ValueError(query.data)
        check_id_int = int(check_id)
    except ValueError:
        await query.answer()
        return
    texts = Texts.for_user(query.from_user)
    try:
        async with rt.sessions() as s:
            first = await jobs.add_feedback(s, check_id_int, rt.pseudonym(query.from_user.id), vote == "1")
    except db.CheckNotFound:
        await query.answer(texts.plain("feedback-gone"))
        return
    await query.answer(texts.plain("feedback-thanks" if first else "feedback-already"))


# --- errors ------------------------------------------------------------------------------------------
async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log a redacted summary with an incident id; never ship update contents anywhere.

    The database being away is no incident: the update stays unconfirmed (the intake sees it in
    ``unconfirmed``) and comes back. A direct reply that Telegram refused or did not receive
    is logged in one line; anything else is a bug, logged with its traceback.
    """
    error = context.error
    kind = type(update).__name__ if update is not None else "none"
    update_id = getattr(update, "update_id", None)
    if is_outage(error) and not isinstance(error, TelegramError) and isinstance(update_id, int):
        runtime(context).unconfirmed[update_id] = error  # type: ignore[assignment]
        _LOGGER.warning("update %s not stored, the database is away: %s", update_id, type(error).__name__)
        return
    if isinstance(error, (RetryAfter, NetworkError, Forbidden)):
        _LOGGER.warning("a reply to update %s failed: %s: %s", update_id, type(error).__name__, error)
        return
    incident = uuid.uuid4().hex[:8]
    _LOGGER.error("incident %s while handling %s %s", incident, kind, update_id, exc_info=error)
