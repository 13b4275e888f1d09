"""ApplicationBuilder wiring: handler groups, lifecycle hooks, and the runner.

Handler groups (order matters, rules-bot style):
  -3  every update: drop duplicates (a read of ``processed_updates``)
  -1  new private messages and new commands: inbound rate limit
   0  commands, media, membership, migration, feedback buttons (new messages only: edits
      never start work)

The Application has no PTB Updater: ``bot.intake`` polls ``getUpdates`` itself and confirms
an update only once it is committed. The worker and its parts are built here, each with its
dependencies handed in (``bot.worker``, ``bot.albums``, ``bot.telegram_io``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TelegramError
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
from bot import audio, handlers
from bot.albums import AlbumReplies
from bot.constants import FEEDBACK_PREFIX, PURGE_HOUR_UTC
from bot.i18n import register_bot_profiles
from bot.intake import Intake, Poller
from bot.links import LinkFetcher, link_filter
from bot.options import BotOptions
from bot.ratelimit import InboundLimiter
from bot.result_cache import ResultCache
from bot.runtime import BOT_DATA_KEY, Runtime, download_limit
from bot.telegram_io import TelegramIO
from bot.webhook import WebhookServer
from bot.worker import Worker
from db import jobs
from fakewatch.settings import Settings
from serving.client import ServingClient

_LOGGER = logging.getLogger(__name__)

#: What the bot checks; a document is checked whatever its claimed MIME type (audio aside:
#: voice notes and audio files, documents included, get ``bot.audio``'s answer instead).
MEDIA = filters.PHOTO | filters.VIDEO | filters.ANIMATION | filters.VIDEO_NOTE | filters.Document.ALL
#: New messages only: an edited message (a caption edit…) starts no work and costs no token.
NEW = filters.UpdateType.MESSAGE
WORKER_KEY = "fakewatch-worker"
WEBHOOK_KEY = "fakewatch-webhook"
_PARTS_KEY = "fakewatch-parts"

COMMANDS = {
    "start": handlers.cmd_start,
    "help": handlers.cmd_help,
    "check": handlers.cmd_check,
    "history": handlers.cmd_history,
    "settings": handlers.cmd_settings,
    "autocheck": handlers.cmd_autocheck,
    "threshold": handlers.cmd_threshold,
    "stats": handlers.cmd_stats,
    "export": handlers.cmd_export,
}


class BotConfigError(ValueError):
    """The settings cannot run a bot (e.g. no token)."""


class _RetryAfterIsNoIncident(logging.Filter):
    """AIORateLimiter logs a 429 it does not retry as an exception; for us it is a decision (the
    job is postponed), so the record becomes one warning line without a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], RetryAfter):
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


logging.getLogger("telegram.ext.AIORateLimiter").addFilter(_RetryAfterIsNoIncident())


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
        .updater(None)
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
    gated = NEW & (filters.ChatType.PRIVATE | (filters.ChatType.GROUPS & filters.COMMAND))
    app.add_handler(MessageHandler(gated, handlers.limit_inbound), group=-1)

    for name, callback in COMMANDS.items():
        app.add_handler(CommandHandler(name, callback, filters=NEW))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, handlers.on_migrate))
    # audio before media: MEDIA takes every document, audio files sent as documents included
    app.add_handler(MessageHandler(NEW & filters.ChatType.PRIVATE & audio.AUDIO, audio.on_audio))
    app.add_handler(MessageHandler(NEW & filters.ChatType.PRIVATE & MEDIA, handlers.on_private_media))
    # groups: no silent download of audio; links are fetched only on /check (load, privacy)
    app.add_handler(MessageHandler(NEW & filters.ChatType.GROUPS & MEDIA & ~audio.AUDIO, handlers.on_group_media))
    private_text = NEW & filters.ChatType.PRIVATE & ~filters.COMMAND
    app.add_handler(MessageHandler(private_text & link_filter(), handlers.on_private_link))
    app.add_handler(MessageHandler(private_text, handlers.on_not_media))
    app.add_handler(ChatMemberHandler(handlers.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(CallbackQueryHandler(handlers.on_feedback, pattern=rf"^{FEEDBACK_PREFIX}:"))
    app.add_error_handler(handlers.on_error)


def worker_of(app: Application) -> Worker:
    """This application's job worker (tests and /stats look at its counters)."""
    return app.bot_data[WORKER_KEY]


async def _post_init(app: Application) -> None:
    """Open the database, the serving client and the link fetcher, build and start the worker,
    register the command menu and profile in every language."""
    settings: Settings = app.bot_data["_settings"]
    options: BotOptions = app.bot_data["_options"]
    engine = db.create_engine(settings.database_url_or_default)
    sessions = db.session_factory(engine)
    client = app.bot_data.get("_client") or ServingClient(
        settings.serving_url,
        timeout_s=settings.request_timeout_s,
        retries=options.serving_retries,
        breaker_threshold=options.serving_breaker_threshold,
        breaker_reset_s=options.serving_breaker_reset_s,
        api_key=settings.serving_api_key,
    )
    # tests only may fetch links on loopback/private addresses (production refuses the setting)
    links = LinkFetcher(allow_private=settings.allow_private_links)

    async def moved(old_chat_id: int, new_chat_id: int) -> None:
        async with sessions() as s:
            await jobs.migrate_chat(s, old_chat_id, new_chat_id)

    telegram = TelegramIO(
        app.bot,
        download_limit=download_limit(settings, options),
        chat_action_every_s=options.chat_action_every_s,
        send_timeout_s=options.send_timeout_s,
        on_migrated=moved,
    )
    await telegram.start()
    albums = AlbumReplies(
        sessions=sessions, telegram=telegram, debounce_s=options.album_debounce_s, lease_s=options.lease_s,
        retry_base_s=options.retry_base_s, retry_max_s=options.retry_max_s,
    )  # fmt: skip
    cache = ResultCache(sessions=sessions, client=client, refresh_s=options.models_refresh_s)
    worker = Worker(
        sessions=sessions, client=client, telegram=telegram, albums=albums, cache=cache, options=options, links=links
    )
    rt = Runtime(
        settings=settings,
        options=options,
        bot=app.bot,
        engine=engine,
        sessions=sessions,
        limiter=InboundLimiter(
            user_burst=options.user_burst,
            user_per_minute=options.user_per_minute,
            chat_burst=options.chat_burst,
            chat_per_minute=options.chat_per_minute,
        ),
        wake_worker=worker.wake,
        inferences=lambda: worker.inferences,
    )
    app.bot_data[BOT_DATA_KEY] = rt
    app.bot_data[WORKER_KEY] = worker
    app.bot_data[_PARTS_KEY] = (telegram, client, engine, links)
    try:  # the command menu and profile per language; cosmetic: the bot works without them
        await register_bot_profiles(app.bot)
    except TelegramError as exc:
        _LOGGER.warning("could not register the bot profile: %s", exc)
    if options.run_purge and app.job_queue is not None:
        app.job_queue.run_daily(_purge, time=dt.time(PURGE_HOUR_UTC, 0, tzinfo=dt.UTC), name="retention-purge")
    await worker.start()


async def _post_stop(app: Application) -> None:
    worker: Worker | None = app.bot_data.get(WORKER_KEY)
    if worker is not None:
        await worker.stop()


async def _post_shutdown(app: Application) -> None:
    app.bot_data.pop(BOT_DATA_KEY, None)
    app.bot_data.pop(WORKER_KEY, None)
    parts = app.bot_data.pop(_PARTS_KEY, None)
    if parts is not None:
        telegram, client, engine, links = parts
        await telegram.close()
        await client.close()
        await links.close()
        await engine.dispose()


async def _purge(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Retention: drop checks older than ``settings.retention_days`` (JobQueue, daily)."""
    await purge_now(context.bot_data[BOT_DATA_KEY])


async def purge_now(rt: Runtime) -> int:
    async with rt.sessions() as s:
        deleted = await jobs.purge_older_than(s, rt.settings.retention_days)
    _LOGGER.info("retention purge removed %d checks", deleted)
    return deleted


async def _initialize(app: Application, *, retry_max_s: float) -> None:
    """``Application.initialize`` (it asks Telegram ``getMe``), retried while Telegram is away."""
    delay = 0.5
    while True:
        try:
            await app.initialize()
            return
        except (NetworkError, RetryAfter) as exc:
            _LOGGER.warning("Telegram not reachable at start (%s); retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, retry_max_s)


@asynccontextmanager
async def running(
    app: Application, *, poll_timeout_s: float | None = None, polling: bool = True
) -> AsyncIterator[Application]:
    """Run ``app`` inside an existing event loop: the worker, and (``polling``) the intake —
    long polling, or the webhook server when ``FAKEWATCH_TELEGRAM_WEBHOOK_URL`` is set.

    ``polling=False`` runs only the job worker: Telegram allows one intake per token, so extra
    bot processes scale out by draining the shared database queue.
    """
    options: BotOptions = app.bot_data["_options"]
    settings: Settings = app.bot_data["_settings"]
    await _initialize(app, retry_max_s=options.ingest_retry_max_s)
    poller: Poller | None = None
    webhook: WebhookServer | None = None
    try:
        if app.post_init:
            await app.post_init(app)
        await app.start()
        if polling:
            intake = Intake(app, app.bot_data[BOT_DATA_KEY])
            if settings.telegram_webhook_url:
                assert settings.telegram_webhook_secret is not None  # the settings refuse one without
                webhook = WebhookServer(
                    intake, url=settings.telegram_webhook_url,
                    secret=settings.telegram_webhook_secret.get_secret_value(),
                    host=settings.telegram_webhook_host, port=settings.telegram_webhook_port,
                )  # fmt: skip
                await webhook.start()
                app.bot_data[WEBHOOK_KEY] = webhook
            else:
                poller = Poller(intake, poll_timeout_s=poll_timeout_s or options.poll_timeout_s,
                                retry_max_s=options.ingest_retry_max_s)  # fmt: skip
                poller.start()
        yield app
    finally:
        if poller is not None:
            await poller.stop()
        if webhook is not None:
            await webhook.stop()
        if app.running:
            await app.stop()
        if app.post_stop:
            await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
