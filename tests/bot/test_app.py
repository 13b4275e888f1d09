"""bot.app: wiring — commands registered, daily retention purge scheduled and working."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from _bot_harness import FAST, Harness
from sqlalchemy import update

import db
from bot import BotConfigError, build_application, purge_now, runtime
from db import jobs


async def test_retention_purge_is_scheduled_and_removes_old_checks(harness: Harness) -> None:
    async with harness.sessions() as s:
        old = await jobs.enqueue_check(s, source="private", file_unique_id="old", user_pseudonym="p")
        new = await jobs.enqueue_check(s, source="private", file_unique_id="new", user_pseudonym="p")
        await jobs.fail_check(s, old.id, error_code="x", message="x")
        await jobs.fail_check(s, new.id, error_code="x", message="x")
        await s.execute(update(db.Check).where(db.Check.id == old.id)
                        .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=45)))  # fmt: skip
        await s.commit()
    async with harness.bot(replace(FAST, run_purge=True)) as app:
        scheduled = app.job_queue.get_jobs_by_name("retention-purge")
        assert len(scheduled) == 1
        assert await purge_now(runtime(app)) == 1  # retention_days defaults to 30
    assert [r.file_unique_id for r in await harness.checks()] == ["new"]


def test_build_refuses_without_token(harness: Harness) -> None:
    settings = harness.settings().model_copy(update={"telegram_token": None})
    with pytest.raises(BotConfigError, match="FAKEWATCH_TELEGRAM_TOKEN"):
        build_application(settings)


async def test_expired_job_is_given_up_with_a_message(harness: Harness) -> None:
    async with harness.sessions() as s:
        job = await jobs.enqueue_check(s, source="private", chat_id=101, message_id=77,
                                       file_id="gone", file_unique_id="gone")  # fmt: skip
        await s.execute(update(db.Check).where(db.Check.id == job.id)
                        .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2)))  # fmt: skip
        await s.commit()
    async with harness.bot():
        answer = await harness.reply_to(101, 77)
        rows = await harness.wait_checks(lambda r: r[0].status == db.CheckStatus.FAILED)
    assert "couldn't check this in time" in answer.params["text"]
    assert rows[0].error_code == "expired" and harness.serving.calls == 0
