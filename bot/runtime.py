"""What the handlers share, kept in ``application.bot_data`` under one key.

Why one object: handlers are plain functions (PTB style); they reach the database, the limiter
and the settings through ``runtime(context)`` instead of globals, so two bots (a test restarting
one) never share state. It holds no worker: the worker is built with its own dependencies
(``bot.worker.Worker``) and the handlers only get its wake-up call and a counter.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.ext import ContextTypes

from bot.constants import ADMIN_CACHE_S, DOWNLOAD_LIMIT_BYTES
from bot.options import BotOptions
from bot.privacy import pseudonym
from bot.ratelimit import InboundLimiter
from fakewatch.settings import Settings

BOT_DATA_KEY = "fakewatch"


def download_limit(settings: Settings, options: BotOptions) -> int:
    """20 MB from api.telegram.org; the intake cap when a local Bot API server is used."""
    if options.download_limit_bytes is not None:
        return options.download_limit_bytes
    if settings.telegram_local_mode:
        return settings.max_file_bytes
    return DOWNLOAD_LIMIT_BYTES


def _nothing() -> None:
    return None


@dataclass
class Runtime:
    settings: Settings
    options: BotOptions
    bot: Bot
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    limiter: InboundLimiter
    #: Wakes this process's worker when a job was written (a no-op when none runs here).
    wake_worker: Callable[[], None] = _nothing
    #: Serving calls this process's worker made, for /stats.
    inferences: Callable[[], int] = lambda: 0
    #: Updates whose durable part failed because the database was away (by update_id); the
    #: intake leaves them unconfirmed so Telegram delivers them again.
    unconfirmed: dict[int, BaseException] = field(default_factory=dict)
    _admins: dict[tuple[int, int], tuple[bool, float]] = field(default_factory=dict)

    @property
    def download_limit(self) -> int:
        return download_limit(self.settings, self.options)

    def pseudonym(self, user_id: int) -> str:
        return pseudonym(user_id, self.settings.pseudonym_secret.get_secret_value())

    def is_operator(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in set(self.settings.operator_ids)

    def cached_admin(self, chat_id: int, user_id: int) -> bool | None:
        hit = self._admins.get((chat_id, user_id))
        if hit is None or time.monotonic() - hit[1] > ADMIN_CACHE_S:
            return None
        return hit[0]

    def remember_admin(self, chat_id: int, user_id: int, is_admin: bool) -> None:
        now = time.monotonic()
        if len(self._admins) > 10_000:  # bound memory: expired answers are worthless anyway
            self._admins = {k: v for k, v in self._admins.items() if now - v[1] <= ADMIN_CACHE_S}
        self._admins[(chat_id, user_id)] = (is_admin, now)


def runtime(context: ContextTypes.DEFAULT_TYPE | Any) -> Runtime:
    return context.bot_data[BOT_DATA_KEY]
