"""Shared helpers of the bot tests: fast options, the test world (``Harness``), test users.

A plain module (not conftest) so test files import it unambiguously.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine_http import EngineHTTP
from fake_telegram import Call, FakeTelegram, private_chat, user
from sqlalchemy import select

import db
from bot import BotOptions, build_application, running
from fakewatch.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "bot-tests-pseudonym-secret"
OPERATOR_ID = 900

#: Fast, small knobs: everything that waits in production waits a fraction of a second here.
FAST = BotOptions(
    worker_concurrency=1,
    lease_s=60.0,
    poll_interval_s=0.2,
    retry_base_s=0.3,
    retry_max_s=1.0,
    album_debounce_s=0.8,
    poll_timeout_s=1.0,
    serving_retries=0,
    serving_breaker_threshold=1,
    serving_breaker_reset_s=0.3,
    stop_grace_s=3.0,
    chat_action_every_s=1.0,
    models_refresh_s=0.5,
    run_purge=False,
)


def bot_settings(telegram: FakeTelegram, serving_url: str, database_url: str, **extra: Any) -> Settings:
    return Settings(
        environment="test",
        telegram_token=telegram.token,
        telegram_base_url=telegram.base_url,
        telegram_base_file_url=telegram.base_file_url,
        database_url=database_url,
        serving_url=serving_url,
        operator_ids=[OPERATOR_ID],
        pseudonym_secret=SECRET,
        **extra,
    )


@dataclass
class Harness:
    """One test's world: the fake Telegram, the serving stand-in, the database, the bot."""

    telegram: FakeTelegram
    serving: EngineHTTP
    db_url: str
    sessions: Any
    options: BotOptions

    def settings(self, **extra: Any) -> Settings:
        return bot_settings(self.telegram, self.serving.url, self.db_url, **extra)

    @asynccontextmanager
    async def bot(self, options: BotOptions | None = None, **extra: Any) -> AsyncIterator[Any]:
        app = build_application(self.settings(**extra), options or self.options)
        async with running(app) as running_app:
            yield running_app

    def send_media(
        self,
        chat: dict[str, Any],
        from_user: dict[str, Any],
        data: bytes,
        kind: str,
        *,
        unique_id: str | None = None,
        **fields: Any,
    ) -> tuple[int, dict[str, Any]]:
        """Queue a message carrying ``data`` as a photo/video/animation/video_note/document."""
        file = self.telegram.add_file(data, unique_id=unique_id)
        if kind == "photo":
            fields["photo"] = self.telegram.photo_sizes(file)
        elif kind == "video":
            fields["video"] = {**file, "width": 640, "height": 480, "duration": 12}
        elif kind == "animation":
            fields["animation"] = {**file, "width": 320, "height": 240, "duration": 2}
            fields["document"] = {**file}
        elif kind == "video_note":
            fields["video_note"] = {**file, "length": 240, "duration": 3}
        elif kind == "document":
            fields["document"] = {**file, **fields.pop("document_extra", {})}
        else:  # pragma: no cover - test bug
            raise ValueError(kind)
        return self.telegram.push_message(chat, from_user, **fields)

    async def reply_to(self, chat_id: int, message_id: int, *, timeout: float = 60.0) -> Call:
        """The bot's answer (text or photo) that replies to ``message_id``."""

        def answers(call: Call) -> bool:
            if call.method not in ("sendMessage", "sendPhoto") or call.params.get("chat_id") != chat_id:
                return False
            reply = call.params.get("reply_parameters") or {}
            return reply.get("message_id") == message_id

        calls = await self.telegram.wait_for(answers, timeout=timeout)
        return calls[0]

    async def checks(self) -> list[db.Check]:
        async with self.sessions() as s:
            return list((await s.execute(select(db.Check).order_by(db.Check.id))).scalars())

    async def wait_checks(self, predicate: Callable[[list[db.Check]], bool], timeout: float = 30.0) -> list[db.Check]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            rows = await self.checks()
            if predicate(rows):
                return rows
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"database never matched; rows: {rows}")
            await asyncio.sleep(0.1)


ALICE = user(101, "Alice")
ALICE_CHAT = private_chat(101, "Alice")


def text_of(call: Call) -> str:
    return str(call.params.get("text") or call.params.get("caption") or "")
