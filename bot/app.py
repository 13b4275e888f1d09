"""ApplicationBuilder wiring: handler groups, lifecycle hooks, and a polling runner for tests.

Handler groups (order matters, rules-bot style):
  -3  every update: drop duplicates (``record_update``)
  -1  private messages and commands: inbound rate limit
   0  commands, media, membership, migration, feedback buttons
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

import db
from db import jobs
from serving.client import ServingClient

from bot import handlers
from bot.albums import AlbumDebouncer
from bot.constants import FEEDBACK_PREFIX, PUBLIC_COMMANDS, PURGE_HOUR_UTC
from bot.options import BotOptions
from bot.ratelimit import InboundLimiter
from bot.runtime import BOT_DATA_KEY, Runtime
from bot.worker import Worker
from fakewatch.settings import Settings

_LOGGER = logging.getLogger(__name__)

#: What the bot checks; a document is checked whatever its claimed MIME type.
MEDIA = filters.PHOTO | filters.VIDEO | filters.ANIMATION | filters.VIDEO_NOTE | filters.Document.ALL


class BotConfigError(ValueError):
    """The settings cannot run a bot (e.g. no token)."""


def build_application(
    settings: Settings,
    options: BotOptions | None = None,
    *,
    client: ServingClient | None = None,
) -> Application:
    """The configured PTB Application; the database, worker and client start in ``post_init``."""
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
        raise BotConfigError("FAKEWATCH_TELEGRAM_TOKEN is not set")
    options = options or BotOptions()
    app = (
        Application.builder()
        .token(settings.telegram_token.get_secret_value())
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .local_mode(settings.telegram_local_mode)
        .rate_limiter(AIORateLimiter(max_retries=options.rate_limiter_max_retries))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
    app.bot_data["_settings"] = settings
    app.bot_data["_options"] = options
    app.bot_data["_client"] = client
    add_handlers(app)
    return app


def add_handlers(app: Application) -> None:
    # Note: order matters — within a group only the first matching handler runs.
    app.add_handler(TypeHandler(Update, handlers.drop_duplicates), group=-3)
    gated = (filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE) | (
        filters.ChatType.GROUPS & filters.COMMAND
    )
    app.add_handler(MessageHandler(gated, handlers.limit_inbound), group=-1)

    app.add_handler(CommandHandler("start", handlers.cmd_start))
    app.add_handler(CommandHandler("help", handlers.cmd_help))
    app.add_handler(CommandHandler("check", handlers.cmd_check))
    app.add_handler(CommandHandler("history", handlers.cmd_history))
    app.add_handler(CommandHandler("settings", handlers.cmd_settings))
    app.add_handler(CommandHandler("autocheck", handlers.cmd_autocheck))
    app.add_handler(CommandHandler("threshold", handlers.cmd_threshold))
    app.add_handler(CommandHandler("stats", handlers.cmd_stats))
    app.add_handler(CommandHandler("export", handlers.cmd_export))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, handlers.on_migrate))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & MEDIA, handlers.on_private_media))
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & MEDIA, handlers.on_group_media))
    app.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND,
            handlers.on_not_media,
        )
    )
    app.add_handler(ChatMemberHandler(handlers.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(CallbackQueryHandler(handlers.on_feedback, pattern=rf"^{FEEDBACK_PREFIX}:"))
    app.add_error_handler(handlers.on_error)


async def _post_init(app: Application) -> None:
    """Open the database and the serving client, start the worker, register the commands."""
    settings: Settings = app.bot_data["_settings"]
    options: BotOptions = app.bot_data["_options"]
    engine = db.create_engine(settings.database_url_or_default)
    client = app.bot_data.get("_client") or ServingClient(
        settings.serving_url,
        timeout_s=settings.request_timeout_s,
        retries=options.serving_retries,
        breaker_threshold=options.serving_breaker_threshold,
        breaker_reset_s=options.serving_breaker_reset_s,
    )
    rt = Runtime(
        settings=settings,
        options=options,
        bot=app.bot,
        engine=engine,
        sessions=db.session_factory(engine),
        client=client,
        limiter=InboundLimiter(
            user_burst=options.user_burst,
            user_per_minute=options.user_per_minute,
            chat_burst=options.chat_burst,
            chat_per_minute=options.chat_per_minute,
        ),
        albums=AlbumDebouncer(options.album_debounce_s, lambda key: rt.worker.finish_album(key)),
    )
    rt.worker = Worker(rt)
    app.bot_data[BOT_DATA_KEY] = rt
    await app.bot.set_my_commands([BotCommand(name, text) for name, text in PUBLIC_COMMANDS])
    if options.run_purge and app.job_queue is not None:
        app.job_queue.run_daily(
            _purge, time=dt.time(PURGE_HOUR_UTC, 0, tzinfo=dt.timezone.utc), name="retention-purge"
        )
    await rt.worker.start()


async def _post_stop(app: Application) -> None:
    rt: Runtime | None = app.bot_data.get(BOT_DATA_KEY)
    if rt is not None:
        await rt.worker.stop()
        rt.albums.close()


async def _post_shutdown(app: Application) -> None:
    rt: Runtime | None = app.bot_data.pop(BOT_DATA_KEY, None)
    if rt is not None:
        await rt.client.close()
        await rt.engine.dispose()


async def _purge(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Retention: drop checks older than ``settings.retention_days`` (JobQueue, daily)."""
    await purge_now(context.bot_data[BOT_DATA_KEY])


async def purge_now(rt: Runtime) -> int:
    async with rt.sessions() as s:
        deleted = await jobs.purge_older_than(s, rt.settings.retention_days)
    _LOGGER.info("retention purge removed %d checks", deleted)
    return deleted


@asynccontextmanager
async def running(
    app: Application, *, poll_timeout_s: float | None = None, polling: bool = True
) -> AsyncIterator[Application]:
    """Run ``app`` inside an existing event loop (what ``run_polling`` does).

    ``run_polling`` owns the loop and the signals, so tests and embedders use this instead.
    ``polling=False`` runs only the job worker: Telegram allows one ``getUpdates`` poller per
    token, so extra bot processes scale out by draining the shared database queue.
    """
    options: BotOptions = app.bot_data["_options"]
    await app.initialize()
    if app.post_init:
        await app.post_init(app)
    try:
        assert app.updater is not None
        if polling:
            await app.updater.start_polling(
                timeout=int(poll_timeout_s or options.poll_timeout_s),
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,
            )
        await app.start()
        yield app
    finally:
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        if app.post_stop:
            await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
