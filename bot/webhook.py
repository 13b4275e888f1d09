"""Webhook intake: Telegram posts each update; the bot answers 200 only after it is committed.

An aiohttp server (behind your TLS proxy) checks the secret header with a constant-time compare,
runs the update through the same :class:`bot.intake.Intake` as long polling, and answers
200 when the update is durable or 503 when the database is away — Telegram then delivers it
again. ``setWebhook`` asks for one connection at a time, so updates are taken in their order.
The album watermark advances when ``getWebhookInfo`` reports no pending update: everything
Telegram held before that moment has been committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import logging
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.error import TelegramError

from bot.constants import WATERMARK_MARGIN_S
from bot.intake import Intake

_LOGGER = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024  # an update is JSON, never media


class WebhookServer:
    """``start()`` listens and registers the webhook; ``stop()`` stops listening (the webhook
    stays registered: Telegram keeps the updates and retries until the bot is back)."""

    def __init__(self, intake: Intake, *, url: str, secret: str, host: str, port: int,
                 watermark_every_s: float = 1.0) -> None:  # fmt: skip
        self.intake = intake
        self.bot = intake.app.bot
        self.url = url
        self.path = urlsplit(url).path or "/"
        self._secret = secret.encode()
        self.host, self.port = host, port
        self.watermark_every_s = watermark_every_s
        self._lock = asyncio.Lock()
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_UPDATE_BYTES)
        app.router.add_post(self.path, self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if not self.port:
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        while True:
            try:
                await self.bot.set_webhook(
                    self.url, secret_token=self._secret.decode(), allowed_updates=Update.ALL_TYPES,
                    max_connections=1, drop_pending_updates=False,
                )  # fmt: skip
                break
            except TelegramError as exc:
                _LOGGER.warning("setWebhook failed (%s); retrying", exc)
                await asyncio.sleep(1.0)
        self._ticker = asyncio.create_task(self._advance_watermark(), name="fakewatch-webhook-watermark")
        _LOGGER.info("webhook intake listening on %s:%s%s", self.host, self.port, self.path)

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            return web.Response(status=403, text="forbidden")
        try:
            update = Update.de_json(await request.json(), self.bot)
        except Exception:  # not JSON, or not an update: nothing Telegram would send
            return web.Response(status=400, text="not a Telegram update")
        if update is None:
            return web.Response(status=400, text="not a Telegram update")
        async with self._lock:
            try:
                stored = await self.intake.ingest(update)
            except Exception:  # a bug, not an outage: an incident, and the queue moves on
                _LOGGER.exception("incident: update %s could not be taken in", update.update_id)
                stored = True
        if not stored:
            return web.Response(status=503, text="try again", headers={"Retry-After": "1"})
        return web.Response(status=200)

    async def _advance_watermark(self) -> None:
        while True:
            asked_at = dt.datetime.now(dt.UTC)
            try:
                info = await self.bot.get_webhook_info()
                if info.pending_update_count == 0:
                    await self.intake.advance_watermark(asked_at - dt.timedelta(seconds=WATERMARK_MARGIN_S))
            except TelegramError as exc:
                _LOGGER.debug("getWebhookInfo failed: %s", exc)
            await asyncio.sleep(self.watermark_every_s)
