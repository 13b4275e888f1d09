"""bot.worker end to end: cache, outages, 429s, size caps, and a bot killed mid-job."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from dataclasses import replace
from typing import Any

import pytest
from _bot_harness import ALICE, ALICE_CHAT, FAST, REPO_ROOT, Harness, text_of
from fake_telegram import user

import db
from bot import worker_of

NOT_MEDIA = b"this is a text file pretending to be a video\n" * 10


async def test_same_file_forwarded_twice_is_inferred_once(harness: Harness, face_photo: bytes) -> None:
    async with harness.bot() as app:
        _, first = harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="U-viral")
        await harness.reply_to(ALICE_CHAT["id"], first["message_id"])
        bob = user(102, "Bob")
        bob_chat = {"id": 102, "type": "private", "first_name": "Bob"}
        _, second = harness.send_media(bob_chat, bob, face_photo, "photo", unique_id="U-viral")
        answer = await harness.reply_to(102, second["message_id"])
        rows = await harness.wait_checks(lambda r: len(r) == 2 and all(x.status == db.CheckStatus.DONE for x in r))
        worker = worker_of(app)
    assert worker.inferences == 1 and worker._file_locks == {}  # per-file locks do not pile up
    assert harness.serving.calls == 1  # the second answer came from the stored result
    assert rows[1].timings_ms == {"cached": 0.0}
    assert rows[1].verdict == rows[0].verdict and rows[1].sha256 == rows[0].sha256
    assert "Chance of manipulation" in text_of(answer) or "No faces found" in text_of(answer)


async def test_serving_down_then_up_reply_arrives(harness: Harness, face_photo: bytes) -> None:
    await harness.serving.stop()  # connection refused
    async with harness.bot():
        _, msg = harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo")
        queued = await harness.reply_to(ALICE_CHAT["id"], msg["message_id"])
        assert "queued" in text_of(queued)
        rows = await harness.wait_checks(lambda r: r and r[0].attempts >= 3)  # retried with backoff
        assert rows[0].status in (db.CheckStatus.QUEUED, db.CheckStatus.RUNNING)
        assert rows[0].error_code == "unavailable"
        await harness.serving.start()
        answer = await harness.telegram.wait_for(
            lambda c: (
                c.method in ("sendMessage", "sendPhoto")
                and ("Chance of manipulation" in text_of(c) or "No faces found" in text_of(c))
            ),
            timeout=30,
        )
        rows = await harness.wait_checks(lambda r: r[0].status == db.CheckStatus.DONE)
    told = [c for c in harness.telegram.calls if "queued" in text_of(c)]
    assert len(told) == 1  # told once, not once per retry
    assert answer and rows[0].verdict is not None


async def test_telegram_429_postpones_the_answer_by_retry_after(harness: Harness) -> None:
    """A 429 on the answer puts the job back (its result kept); the next claim only sends."""
    harness.telegram.fail_next("sendMessage", retry_after=1)
    async with harness.bot():
        _, msg = harness.send_media(ALICE_CHAT, ALICE, NOT_MEDIA, "document",
                                    document_extra={"file_name": "a.mp4"})  # fmt: skip
        attempts = await harness.telegram.wait_for(
            lambda c: c.method == "sendMessage" and bool(c.params.get("reply_parameters")), count=2
        )
        rows = await harness.wait_checks(lambda r: r and r[0].status == db.CheckStatus.DONE)
    assert len(attempts) == 2 and attempts[0].result == {"error_code": 429}
    assert attempts[1].at - attempts[0].at >= 1.0  # retry_after honoured
    assert "not an image or video" in text_of(attempts[1])
    assert harness.serving.calls == 1  # the stored result was answered, not checked again
    assert rows[0].attempts == 2 and rows[0].answer_claims == 1 and rows[0].answered_at is not None


async def test_getfile_429_postpones_instead_of_failing(harness: Harness, face_photo: bytes) -> None:
    harness.telegram.fail_next("getFile", count=2, retry_after=1)
    async with harness.bot():
        _, msg = harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo")
        answer = await harness.reply_to(ALICE_CHAT["id"], msg["message_id"])
        rows = await harness.wait_checks(lambda r: r and r[0].status == db.CheckStatus.DONE)
    assert "Chance of manipulation" in text_of(answer) or "No faces found" in text_of(answer)
    assert rows[0].attempts == 3 and len(harness.telegram.sent("getFile")) == 3


async def test_too_large_is_refused_before_getfile(harness: Harness) -> None:
    async with harness.bot():
        file = harness.telegram.add_file(b"\x00" * 1000)
        file["file_size"] = 25_000_000  # what Telegram reports; the bytes are never fetched
        _, msg = harness.telegram.push_message(
            ALICE_CHAT, ALICE, video={**file, "width": 1, "height": 1, "duration": 1}
        )
        answer = await harness.reply_to(ALICE_CHAT["id"], msg["message_id"])
        rows = await harness.wait_checks(lambda r: r and r[0].status == db.CheckStatus.FAILED)
    assert "too large" in text_of(answer) and "20 MB" in text_of(answer)
    assert not harness.telegram.sent("getFile") and harness.serving.calls == 0
    assert rows[0].error_code == "too_large"


async def test_local_mode_lifts_the_20mb_cap(harness: Harness, face_photo: bytes) -> None:
    """With a local Bot API server the cap is the intake cap, not 20 MB."""
    async with harness.bot(telegram_local_mode=True) as app:
        from bot import runtime

        assert runtime(app).download_limit == app.bot_data["_settings"].max_file_bytes > 20_000_000


async def test_download_is_capped_when_file_size_is_missing(harness: Harness, face_photo: bytes) -> None:
    options = replace(FAST, download_limit_bytes=len(face_photo) - 1)
    async with harness.bot(options):
        file = harness.telegram.add_file(face_photo)
        file.pop("file_size")
        _, msg = harness.telegram.push_message(ALICE_CHAT, ALICE, document=file)
        answer = await harness.reply_to(ALICE_CHAT["id"], msg["message_id"])
    assert "too large" in text_of(answer) and harness.serving.calls == 0


def _bot_env(harness: Harness) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKEWATCH_")}
    env.update(
        FAKEWATCH_ENVIRONMENT="test",
        FAKEWATCH_TELEGRAM_TOKEN=harness.telegram.token,
        FAKEWATCH_TELEGRAM_BASE_URL=harness.telegram.base_url,
        FAKEWATCH_TELEGRAM_BASE_FILE_URL=harness.telegram.base_file_url,
        FAKEWATCH_DATABASE_URL=harness.db_url,
        FAKEWATCH_SERVING_URL=harness.serving.url,
        FAKEWATCH_PSEUDONYM_SECRET="bot-tests-pseudonym-secret",
    )
    return env


async def test_bot_killed_mid_job_completes_after_restart(harness: Harness, face_photo: bytes) -> None:
    harness.serving.hold()  # the first check hangs inside the serving call
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fakewatch.cli", "bot", "--no-migrate", "--log-level", "DEBUG",
        "--lease-s", "2", "--poll-interval-s", "0.2", "--poll-timeout-s", "1",
        "--worker-concurrency", "1",
        cwd=REPO_ROOT, env=_bot_env(harness),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        _, msg = harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo")
        await asyncio.wait_for(harness.serving.started_checks.wait(), 60)
        rows = await harness.wait_checks(lambda r: r and r[0].status == db.CheckStatus.RUNNING)
        first_worker = rows[0].worker_id
        proc.send_signal(signal.SIGKILL)  # no cleanup at all: the lease is left behind
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    output = (await proc.stdout.read()).decode(errors="replace") if proc.stdout else ""
    harness.serving.release()
    assert harness.telegram.token not in output  # DEBUG logging, still no token
    assert "getUpdates" in output or "polling" in output.lower()
    replies = [c for c in harness.telegram.sent("sendMessage", "sendPhoto") if c.params.get("reply_parameters")]
    assert replies == []  # the killed bot never answered

    async with harness.bot(replace(FAST, lease_s=2.0)):
        answer = await harness.reply_to(ALICE_CHAT["id"], msg["message_id"], timeout=30)
        rows = await harness.wait_checks(lambda r: r[0].status == db.CheckStatus.DONE)
    assert rows[0].attempts == 2 and rows[0].worker_id != first_worker
    assert "Chance of manipulation" in text_of(answer) or "No faces found" in text_of(answer)


async def test_graceful_stop_requeues_running_job(harness: Harness, face_photo: bytes) -> None:
    harness.serving.hold()
    async with harness.bot(replace(FAST, stop_grace_s=0.5)):
        harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo")
        await asyncio.wait_for(harness.serving.started_checks.wait(), 30)
    rows = await harness.checks()
    harness.serving.release()
    assert rows[0].status == db.CheckStatus.QUEUED and rows[0].error_code == "interrupted"


def test_cli_refuses_without_token(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from bot.cli import bot_main
    from fakewatch.settings import get_settings

    monkeypatch.delenv("FAKEWATCH_TELEGRAM_TOKEN", raising=False)
    monkeypatch.chdir(REPO_ROOT / "tests")  # no .env here
    get_settings.cache_clear()
    try:
        assert bot_main(["--no-migrate"]) == 2
    finally:
        get_settings.cache_clear()
    assert "FAKEWATCH_TELEGRAM_TOKEN" in capsys.readouterr().err


async def test_on_postgresql_two_workers_cache_and_album(pg_harness: Harness, face_photo: bytes) -> None:
    """PostgreSQL: two worker loops claim with SKIP LOCKED; duplicates still hit the cache."""
    h = pg_harness
    async with h.bot(replace(FAST, worker_concurrency=2)):
        _, a = h.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="U-pg")
        await h.reply_to(ALICE_CHAT["id"], a["message_id"])
        _, b = h.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="U-pg")
        _, c = h.send_media(ALICE_CHAT, ALICE, NOT_MEDIA, "document", media_group_id="pg-album")
        _, d = h.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="U-pg", media_group_id="pg-album")
        await h.reply_to(ALICE_CHAT["id"], b["message_id"])
        album = await h.reply_to(ALICE_CHAT["id"], c["message_id"])
        rows = await h.wait_checks(lambda r: len(r) == 4 and all(x.status == db.CheckStatus.DONE for x in r))
    assert h.serving.calls == 2  # the photo once, the text file once
    assert "Album, 2 files" in text_of(album) and "not an image or video" in text_of(album)
    assert {r.attempts for r in rows} == {1}


async def test_answer_follows_a_group_migration(harness: Harness) -> None:
    """Telegram says the group became a supergroup: answer there and move the stored chat id."""
    from fake_telegram import group_chat

    group = group_chat(-4242, type_="group")
    member = user(701, "Carol")
    harness.telegram.fail_next("sendMessage", status=400, retry_after=None, migrate_to_chat_id=-1004242,
                               description="Bad Request: group chat was upgraded to a supergroup chat")  # fmt: skip
    async with harness.bot():
        _, media = harness.send_media(group, member, NOT_MEDIA, "document")
        harness.telegram.push_message(group, member, text="/check", reply_to_message=media,
                                      entities=[{"type": "bot_command", "offset": 0, "length": 6}])  # fmt: skip
        answer = await harness.telegram.wait_for(
            lambda c: c.method == "sendMessage" and c.params.get("chat_id") == -1004242
        )
        rows = await harness.wait_checks(lambda r: r and r[0].status == db.CheckStatus.DONE)
    assert "not an image or video" in text_of(answer[0])
    assert rows[0].chat_id == -1004242 and rows[0].source == db.Source.GROUP


async def test_a_worker_that_lost_its_lease_does_not_answer(harness: Harness, face_photo: bytes) -> None:
    """Another holder took the job over while the check ran: the stale worker stores and sends
    nothing; when that holder's lease runs out, the job is answered exactly once."""
    from sqlalchemy import update

    harness.serving.hold()
    async with harness.bot(replace(FAST, lease_s=60.0)):
        _, msg = harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo")
        await asyncio.wait_for(harness.serving.started_checks.wait(), 30)
        rows = await harness.wait_checks(lambda r: r and r[0].status == db.CheckStatus.RUNNING)
        async with harness.sessions() as s:  # a second worker claims it (as after an expired lease)
            await s.execute(update(db.Check).where(db.Check.id == rows[0].id)
                            .values(worker_id="other-bot", lease_token="other-token"))  # fmt: skip
            await s.commit()
        harness.serving.release()
        await asyncio.sleep(2.0)
        replies = [c for c in harness.telegram.sent("sendMessage", "sendPhoto") if c.params.get("reply_parameters")]
        assert replies == []  # the stale worker did not answer
        stale = (await harness.checks())[0]
        assert stale.outcome_at is None and stale.answer_claims == 0 and stale.worker_id == "other-bot"
        async with harness.sessions() as s:  # ...and the other holder dies: its lease runs out
            await s.execute(update(db.Check).where(db.Check.id == rows[0].id)
                            .values(next_attempt_at=dt.datetime.now(dt.UTC)))  # fmt: skip
            await s.commit()
        answer = await harness.reply_to(ALICE_CHAT["id"], msg["message_id"])
        done = await harness.wait_checks(lambda r: r[0].status == db.CheckStatus.DONE)
        await asyncio.sleep(1.0)
    replies = [c for c in harness.telegram.sent("sendMessage", "sendPhoto") if c.params.get("reply_parameters")]
    assert len(replies) == 1 and ("Chance of manipulation" in text_of(answer) or "No faces found" in text_of(answer))
    assert done[0].attempts == 2 and done[0].answer_claims == 1 and done[0].answered_at is not None


async def test_a_file_that_keeps_timing_out_fails_clearly_without_opening_the_breaker(
    harness: Harness, face_photo: bytes
) -> None:
    harness.serving.hold()  # serving never answers this file
    options = replace(FAST, serving_breaker_threshold=1, max_timeouts=3)
    async with harness.bot(options, request_timeout_s=0.5) as app:
        _, msg = harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo")
        answer = await harness.reply_to(ALICE_CHAT["id"], msg["message_id"], timeout=60)
        rows = await harness.wait_checks(lambda r: r and r[0].status == db.CheckStatus.FAILED)
        breaker = worker_of(app).client.breaker
        assert breaker.state.value == "closed"  # one slow file does not cut everyone off
    assert "took too long" in text_of(answer)
    assert rows[0].error_code == "check_timeout" and rows[0].timeouts == 2 and rows[0].attempts == 3
    assert harness.serving.calls == 3  # one try per claim, no retries inside a claim
    assert not [c for c in harness.telegram.calls if "queued" in text_of(c)]


async def test_an_open_breaker_postpones_before_downloading(harness: Harness, face_photo: bytes) -> None:
    await harness.serving.stop()
    async with harness.bot(replace(FAST, serving_breaker_reset_s=60.0)):
        harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="U-a")
        harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="U-b")
        rows = await harness.wait_checks(lambda r: len(r) == 2 and all(x.attempts >= 2 for x in r))
    assert all(r.error_code == "unavailable" and r.status != db.CheckStatus.FAILED for r in rows)
    assert not harness.telegram.sent("getFile")  # nothing fetched for a check that cannot run


async def _killed_while_answering(harness: Harness, *, delivered: bool) -> tuple[list[Any], db.Check]:
    """A bot process is SIGKILLed while its answer hangs on the way to Telegram (before Telegram
    did anything, or after it sent the message); a fresh bot takes the job over."""
    harness.telegram.hold_next("sendMessage", delivered=delivered)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fakewatch.cli", "bot", "--no-migrate", "--lease-s", "4",
        "--poll-interval-s", "0.2", "--poll-timeout-s", "1", "--worker-concurrency", "1",
        cwd=REPO_ROOT, env=_bot_env(harness), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _, msg = harness.send_media(ALICE_CHAT, ALICE, NOT_MEDIA, "document", document_extra={"file_name": "a.mp4"})
        await asyncio.wait_for(harness.telegram.holding.wait(), 60)
        claimed = (await harness.checks())[0]
        assert claimed.status == db.CheckStatus.RUNNING and claimed.answer_claims == 1 and claimed.outcome_at
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    harness.telegram.release_holds()
    async with harness.bot(replace(FAST, lease_s=2.0)):
        rows = await harness.wait_checks(lambda r: r[0].status == db.CheckStatus.DONE, timeout=30)
        await asyncio.sleep(1.0)
    answers = [c for c in harness.telegram.sent("sendMessage")
               if (c.params.get("reply_parameters") or {}).get("message_id") == msg["message_id"]
               and isinstance(c.result, dict) and "message_id" in c.result]  # fmt: skip
    return answers, rows[0]


async def test_killed_before_telegram_got_the_answer_it_is_sent_once(harness: Harness) -> None:
    answers, row = await _killed_while_answering(harness, delivered=False)
    assert len(answers) == 1 and "not an image or video" in text_of(answers[0])
    assert row.answer_claims == 2 and harness.serving.calls == 1  # the stored result, sent by the next holder


async def test_killed_after_telegram_sent_the_answer_it_is_repeated_once_and_counted(harness: Harness) -> None:
    """The one window no Bot API client can close (sendMessage has no idempotency key): Telegram
    sent the answer, the bot died before stamping it. The next holder sends it again, and
    ``answer_claims == 2`` records that it may have. The soak counts these as ``answer_resends``."""
    answers, row = await _killed_while_answering(harness, delivered=True)
    assert len(answers) == 2 and row.answer_claims == 2 and row.answered_at is not None


def test_cli_says_clearly_when_the_database_is_unreachable(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from _serve_process import free_port

    from bot.cli import bot_main
    from fakewatch.settings import get_settings

    monkeypatch.setenv("FAKEWATCH_TELEGRAM_TOKEN", "123456:TEST-token_abcdefghijklmnopqrstuvwxyz012")
    monkeypatch.setenv("FAKEWATCH_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none")
    monkeypatch.chdir(REPO_ROOT / "tests")
    get_settings.cache_clear()
    try:
        assert bot_main([]) == 1
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "database is not reachable" in err and "Traceback" not in err


async def test_an_answer_sent_during_a_database_outage_is_recorded_once_it_is_back(
    telegram: Any, serving: Any, own_pg: Any
) -> None:
    """Telegram accepts the answer just as the database goes away, for longer than the worker can
    keep its job: the sender still records the send by its answer claim when the database is
    back, and nobody sends it again."""
    from _bot_harness import Harness

    url = await own_pg.create_database("outage_after_send")
    await db.upgrade(url)
    engine = db.create_engine(url)
    h = Harness(telegram, serving, url, db.session_factory(engine), replace(FAST, lease_s=12.0))  # heartbeat 3 s
    try:
        async with h.bot():
            telegram.hold_next("sendMessage", delivered=True)
            _, msg = h.send_media(ALICE_CHAT, ALICE, NOT_MEDIA, "document", document_extra={"file_name": "a.mp4"})
            await asyncio.wait_for(telegram.holding.wait(), 60)  # the message exists; the bot waits
            claimed_at = asyncio.get_running_loop().time()
            await asyncio.to_thread(own_pg.stop, "fast")
            telegram.release_holds()  # the bot learns it was sent, and cannot record it
            # longer than the job's lease can outlive its last renewal, shorter than the answer claim
            await asyncio.sleep(max(0.0, claimed_at + 9.5 - asyncio.get_running_loop().time()))
            await asyncio.to_thread(own_pg.start)
            rows = await h.wait_checks(lambda r: r and r[0].status == db.CheckStatus.DONE, timeout=60)
            await asyncio.sleep(2.0)  # a second answer would come now
    finally:
        await engine.dispose()
    answers = [c for c in telegram.sent("sendMessage")
               if (c.params.get("reply_parameters") or {}).get("message_id") == msg["message_id"]
               and isinstance(c.result, dict) and "message_id" in c.result]  # fmt: skip
    assert len(answers) == 1 and rows[0].answer_claims == 1 and rows[0].answered_at is not None
