"""The update intake: an update is durable before Telegram is told it was received.

PTB's Updater confirms updates when it *fetches* the next batch, so a kill between fetch and
commit loses them. Instead this module runs its own ``getUpdates`` loop (the Application is
built with ``.updater(None)``): each update goes through the handlers (``process_update``), whose
durable part (duplicate marker + job row in one transaction) commits before the offset moves
past it; an update without a job row gets its marker right after its handlers ran. If the
database is away, the update is left unconfirmed and fetched again after a backoff.

Which updates need a job row: media to check (and ``/check``), because their answer is slow and
must survive a crash. Everything else is handled directly and is idempotent: settings commands
set a value, feedback replaces the voter's vote, membership and migration updates set state.
Their replies are at-least-once: a crash between a reply and the marker repeats that reply after
the restart (a repeated ``/help``), it never loses the update.

After a batch that drained Telegram's backlog, the poller also advances the ``telegram`` ingest
watermark: everything Telegram held until then is committed. Albums use it to know they are
complete (``bot.albums``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application

from bot._outage import is_outage
from bot.constants import GET_UPDATES_LIMIT, WATERMARK_MARGIN_S, WATERMARK_NAME
from bot.runtime import Runtime
from bot.telegram_io import seconds
from db import jobs

_LOGGER = logging.getLogger(__name__)


class Intake:
    """Runs one update through the handlers and says whether it is durable (may be confirmed)."""

    def __init__(self, app: Application, rt: Runtime) -> None:
        self.app = app
        self.rt = rt

    async def ingest(self, update: Update) -> bool:
        update_id = update.update_id
        self.rt.unconfirmed.pop(update_id, None)
        await self.app.process_update(update)
        failure = self.rt.unconfirmed.pop(update_id, None)
        if failure is not None:
            return False
        try:
            async with self.rt.sessions() as s:
                await jobs.record_update(s, update_id)  # no-op when its job row wrote it
        except Exception as exc:
            if not is_outage(exc):
                raise
            _LOGGER.warning("update %s handled but not marked, the database is away", update_id)
            return False
        return True

    async def advance_watermark(self, at: dt.datetime) -> bool:
        try:
            async with self.rt.sessions() as s:
                await jobs.set_ingest_mark(s, WATERMARK_NAME, at)
        except Exception as exc:
            if not is_outage(exc):
                raise
            return False
        return True


class Poller:
    """``getUpdates`` long polling that confirms (moves the offset past) only committed updates."""

    def __init__(self, intake: Intake, *, poll_timeout_s: float, retry_max_s: float,
                 limit: int = GET_UPDATES_LIMIT) -> None:  # fmt: skip
        self.intake = intake
        self.bot = intake.app.bot
        self.poll_timeout_s = poll_timeout_s
        self.retry_max_s = retry_max_s
        self.limit = limit
        self.offset: int | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="fakewatch-poller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        await self._drop_webhook()
        backoff = 0.5
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=self.offset, limit=self.limit, timeout=int(self.poll_timeout_s),
                    allowed_updates=Update.ALL_TYPES, read_timeout=self.poll_timeout_s + 10,
                )  # fmt: skip
            except RetryAfter as exc:
                await asyncio.sleep(min(seconds(exc.retry_after), self.retry_max_s))
                continue
            except TimedOut:
                continue
            except (Conflict, InvalidToken, NetworkError, TelegramError) as exc:
                _LOGGER.warning("getUpdates failed (%s: %s); retrying", type(exc).__name__, exc)
                await asyncio.sleep(min(backoff, self.retry_max_s))
                backoff = min(backoff * 2, self.retry_max_s)
                continue
            fetched_at = dt.datetime.now(dt.UTC)
            durable = True
            for update in updates:
                try:
                    stored = await self.intake.ingest(update)
                except Exception:  # a bug, not an outage: an incident, and the queue moves on
                    _LOGGER.exception("incident: update %s could not be taken in", update.update_id)
                    stored = True
                if not stored:
                    durable = False
                    break
                self.offset = update.update_id + 1  # confirmed by the next getUpdates
            if durable and len(updates) < self.limit:  # the backlog is drained up to fetched_at
                durable = await self.intake.advance_watermark(fetched_at - dt.timedelta(seconds=WATERMARK_MARGIN_S))
            if durable:
                backoff = 0.5
                continue
            _LOGGER.warning("the database is away: updates from %s stay unconfirmed; retrying in %.1fs",
                            self.offset, backoff)  # fmt: skip
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.retry_max_s)

    async def _drop_webhook(self) -> None:
        """Polling and a webhook exclude each other; keep pending updates either way."""
        while True:
            try:
                await self.bot.delete_webhook(drop_pending_updates=False)
                return
            except TelegramError as exc:
                _LOGGER.warning("deleteWebhook failed (%s); retrying", exc)
                await asyncio.sleep(1.0)
