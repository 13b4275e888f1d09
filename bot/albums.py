"""Albums (media groups): one combined reply per album, from whichever bot process gets there.

Telegram sends an album as one update per item with no end marker. Each item's job row joins
its album in the database in the same transaction as the duplicate marker (``db.jobs.ingest_check``),
so every process (polling or ``--worker-only``) sees the same album. An album is *complete*
when the intake watermark — everything Telegram held up to then is committed — has passed its
last item by ``debounce_s`` (a bot that was down cannot cut an album in two) and every item is
finished. The reply is then claimed in the database (its own short lease, fenced by a token),
sent, and stamped: nobody answers an album partially or twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import db
from bot import wording
from bot._outage import retry_while_away
from bot.constants import DB_RETRY_S, WATERMARK_NAME
from bot.i18n import Texts
from bot.telegram_io import TelegramBusy, TelegramIO, Undeliverable
from db import jobs
from serving.contract import CheckResult, ErrorCode

_LOGGER = logging.getLogger(__name__)


def stored_result(row: Any) -> CheckResult:
    """A stored check as a result: its check result, or an ``invalid`` one saying why not."""
    if row.result:
        return CheckResult.model_validate(row.result)
    code = row.error_code if row.error_code in set(ErrorCode) else ErrorCode.INTERNAL
    return CheckResult.invalid(None, code, row.error_message or "")


def worst_of(rows: Sequence[Any]) -> Any | None:
    """The scored check with the highest fake probability (its buttons go under an album reply)."""
    scored = [r for r in rows if r.verdict in ("real", "uncertain", "fake")]
    return max(scored, key=lambda r: r.fake_probability or 0.0, default=None)


class AlbumReplies:
    """Claims complete albums and sends their one reply."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        telegram: TelegramIO,
        debounce_s: float,
        lease_s: float,
        retry_base_s: float,
        retry_max_s: float,
    ) -> None:
        self.sessions = sessions
        self.telegram = telegram
        self.debounce_s = debounce_s
        self.lease_s = lease_s
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.sent = 0

    async def sweep(self) -> int:
        """Answer every album that is complete now; returns how many were closed."""
        async with self.sessions() as s:
            watermark = await jobs.get_ingest_mark(s, WATERMARK_NAME)
        if watermark is None:
            return 0
        complete_before = watermark - dt.timedelta(seconds=self.debounce_s)
        closed = 0
        while True:
            token = uuid.uuid4().hex
            async with self.sessions() as s:
                album = await jobs.claim_album_reply(
                    s, complete_before=complete_before, lease_s=self.lease_s, token=token
                )
            if album is None:
                return closed
            await self._reply(album, token)
            closed += 1

    async def _reply(self, album: db.Album, token: str) -> None:
        async with self.sessions() as s:
            rows = await jobs.album_items(s, album.album_key)
        results = [stored_result(r) for r in rows]
        speaks = not album.silent or any(wording.speaks_in_group(str(r.verdict), album.threshold) for r in results)
        if rows and speaks and album.chat_id:
            # the language of whoever sent the album's first item (stored with each job)
            texts = Texts.for_language((rows[0].payload or {}).get("lang"))
            worst = worst_of(rows)
            markup = wording.feedback_markup(worst.id, texts) if worst is not None else None
            photos = [(r.payload or {}).get("attachment") == "photo" for r in rows]
            text = wording.album_text(results, texts, from_compressed_photo=photos)
            try:
                await self.telegram.send(int(album.chat_id), album.reply_to_message_id, text, markup=markup)
            except TelegramBusy as exc:
                delay = max(exc.retry_after_s or 0.0, self.retry_base_s)
                _LOGGER.warning("album reply postponed %.1fs: %s", delay, exc)
                async with self.sessions() as s:
                    await jobs.release_album(s, album.album_key, token, delay_s=min(delay, self.retry_max_s),
                                             sent_maybe=exc.maybe_delivered)  # fmt: skip
                return
            except Undeliverable as exc:
                _LOGGER.info("album reply cannot be delivered: %s", exc)
            else:
                self.sent += 1
        deadline = asyncio.get_running_loop().time() + self.lease_s

        async def stamp() -> bool:
            async with self.sessions() as s:
                return await jobs.finish_album(s, album.album_key, token)

        if not await retry_while_away(stamp, deadline=deadline, every_s=DB_RETRY_S):
            _LOGGER.warning("album reply claim was lost before it was stamped")
