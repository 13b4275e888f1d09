"""The worker's Telegram I/O: fetch a job's file, show "checking…", send an answer.

Why apart from the queue loop: these calls are where Telegram says "wait" (429), drops a
connection or refuses for good, and each of those must become a *decision* for the job (postpone,
fail, or close unanswered), never a sleep inside the worker and never a silent success. Every
failure is therefore raised as one of the typed exceptions below.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from telegram import Bot, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

_LOGGER = logging.getLogger(__name__)


class TooLarge(Exception):
    def __init__(self, size: int | None) -> None:
        super().__init__(f"file too large ({size} bytes)")
        self.size = size


class DownloadFailed(Exception):
    """Telegram refused the file for good (bad file id, gone)."""


class TelegramBusy(Exception):
    """Telegram said wait (429) or could not be reached: try again later.

    ``retry_after_s``: Telegram's own hint. ``maybe_delivered``: the request may have reached
    Telegram before the connection failed (a send may then have happened).
    """

    def __init__(self, message: str, *, retry_after_s: float | None = None, maybe_delivered: bool = False) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.maybe_delivered = maybe_delivered


class Undeliverable(Exception):
    """The answer can never be delivered (the user blocked the bot, the chat is gone)."""


def seconds(value: float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def busy(exc: TelegramError) -> TelegramBusy:
    """A transient Telegram error as a decision: how long to wait, and whether a send may have landed."""
    if isinstance(exc, RetryAfter):
        return TelegramBusy(f"Telegram said retry after {exc.retry_after}", retry_after_s=seconds(exc.retry_after))
    text = exc.message or ""
    # PTB reports transport failures as NetworkError("httpx.<Error>: …") and timeouts as TimedOut;
    # a refused connection never reached Telegram, a reset or a timeout may have.
    never_sent = text.startswith(("httpx.ConnectError", "httpx.ConnectTimeout"))
    maybe = isinstance(exc, TimedOut) or (text.startswith("httpx.") and not never_sent)
    return TelegramBusy(f"{type(exc).__name__}: {text[:200]}", maybe_delivered=maybe)


class TelegramIO:
    """Download with a cap, chat actions, and sends that end in a decision."""

    def __init__(
        self,
        bot: Bot,
        *,
        download_limit: int,
        chat_action_every_s: float,
        send_timeout_s: float,
        on_migrated: Callable[[int, int], Awaitable[None]],
    ) -> None:
        self.bot = bot
        self.download_limit = download_limit
        self.chat_action_every_s = chat_action_every_s
        self.send_timeout_s = send_timeout_s
        self._on_migrated = on_migrated
        self._http: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # --- download --------------------------------------------------------------------------------
    async def download(self, file_id: str | None, file_size: int | None) -> bytes:
        """getFile, then a capped download (PTB's own download reads any size into memory)."""
        limit = self.download_limit
        try:
            file = await self.bot.get_file(str(file_id))
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                raise TooLarge(file_size) from None
            raise DownloadFailed(exc.message) from None
        except (RetryAfter, NetworkError) as exc:
            raise busy(exc) from None
        if file.file_size and file.file_size > limit:
            raise TooLarge(file.file_size)
        path = str(file.file_path or "")
        if not path:
            raise DownloadFailed("Telegram returned no file path")
        if not path.startswith(("http://", "https://")):  # local Bot API server: a local path
            local = Path(path)
            if local.stat().st_size > limit:
                raise TooLarge(local.stat().st_size)
            return local.read_bytes()
        assert self._http is not None, "TelegramIO.start() was not called"
        chunks: list[bytes] = []
        total = 0
        try:
            async with self._http.stream("GET", path) as response:
                if response.status_code in (400, 403, 404):
                    raise DownloadFailed(f"file download answered {response.status_code}")
                if response.status_code == 429 or response.status_code >= 500:
                    raise TelegramBusy(f"file download answered {response.status_code}")
                response.raise_for_status()
                async for chunk in response.aiter_bytes():
                    total += len(chunk)
                    if total > limit:
                        raise TooLarge(total)
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise TelegramBusy(f"file download failed: {type(exc).__name__}") from None
        return b"".join(chunks)

    # --- "checking…" -------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def chat_action(self, chat_id: int | None, *, silent: bool) -> AsyncIterator[None]:
        """Show "typing…" (our "checking…") in the chat while the job runs."""
        if silent or not chat_id:
            yield
            return

        async def keep_showing() -> None:
            while True:
                with contextlib.suppress(TelegramError):
                    await self.bot.send_chat_action(chat_id, ChatAction.TYPING)
                await asyncio.sleep(self.chat_action_every_s)

        task = asyncio.create_task(keep_showing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- answers -------------------------------------------------------------------------------------
    async def send(
        self, chat_id: int, reply_to: int | None, text: str, *, markup: Any = None, photo: bytes | None = None
    ) -> None:
        """Reply (photo with caption, or text); follows a group→supergroup migration once.

        Returns only when Telegram accepted the message. Raises :class:`TelegramBusy` (postpone:
        429, network, timeout) or :class:`Undeliverable` (give up answering); never sleeps longer
        than ``send_timeout_s``.
        """
        reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
        for _ in range(3):
            try:
                async with asyncio.timeout(self.send_timeout_s):
                    if photo is not None:
                        await self.bot.send_photo(
                            chat_id, photo, caption=text, parse_mode=ParseMode.HTML,
                            reply_parameters=reply, reply_markup=markup,
                        )  # fmt: skip
                    else:
                        await self.bot.send_message(
                            chat_id, text, parse_mode=ParseMode.HTML,
                            reply_parameters=reply, reply_markup=markup,
                        )  # fmt: skip
                return
            except TimeoutError:
                raise TelegramBusy(f"no answer from Telegram within {self.send_timeout_s:g}s",
                                   maybe_delivered=True) from None  # fmt: skip
            except ChatMigrated as exc:
                await self._on_migrated(chat_id, exc.new_chat_id)
                chat_id = exc.new_chat_id
            except Forbidden as exc:  # blocked by the user / removed from the group
                raise Undeliverable(exc.message) from None
            except BadRequest as exc:  # before NetworkError: PTB's BadRequest subclasses it
                if photo is not None:  # e.g. the annotated image was refused: fall back to text
                    photo = None
                    continue
                raise Undeliverable(exc.message) from None
            except (RetryAfter, NetworkError) as exc:
                raise busy(exc) from None
        raise Undeliverable("the chat kept moving")
