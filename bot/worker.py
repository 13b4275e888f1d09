"""The job worker: claims checks from the database queue, runs them, and answers exactly once.

Why a DB queue: the intake commits a job row before Telegram is told the update was received;
this worker (started with the application, stopped with it) does the slow part, in any number
of processes. Each claimed job is a lease with a fencing token: a heartbeat renews it while the
job runs, and every write the worker makes names the token, so a worker that lost its lease
(slow, paused, cut off from the database) changes nothing — and then sends nothing, because a
reply is sent only after winning the fenced answer claim:

    claim job → check (download, serving) → store outcome + claim answer (one commit)
              → send → stamp answered + close (one commit)

The answer claim is a lease of its own (``lease_s`` from the claim): its sender stamps it by the
claim's token, even after the job's lease was lost (a database outage outlasting it), and no
other holder sends that answer while the claim is live.

Crash windows: before the answer claim, the next holder redoes the work (a stored outcome is
reused); after the claim, the next holder waits until the claim is ``lease_s`` old, then sends
(nothing was sent if the crash came before Telegram got the message); between Telegram accepting
the message and the stamp, that resend is a second answer — the only duplicate possible, counted
in ``answer_claims`` (the Bot API has no idempotency key). A sender that gives up on its own
(429, a dropped connection) releases its claim so the next holder sends at once. Nothing sleeps
longer than a heartbeat.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import db
from bot import wording
from bot._outage import is_outage, retry_while_away
from bot.albums import AlbumReplies, stored_result
from bot.constants import DB_RETRY_S, JobError
from bot.i18n import Texts
from bot.links import LinkFetcher, MediaFound, fetch_first
from bot.options import BotOptions
from bot.result_cache import ResultCache
from bot.telegram_io import DownloadFailed, TelegramBusy, TelegramIO, TooLarge, Undeliverable
from db import jobs
from serving.client import BreakerState, ServiceUnavailable, ServingClient, ServingError
from serving.contract import CheckResult

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
OUTAGE_LOG_EVERY_S = 10.0


# --- what a check came to ----------------------------------------------------------------------
@dataclass
class Checked:
    """A result to store and answer."""

    result: CheckResult
    sha256: str | None
    timings: dict[str, float]
    annotated: str | None = None  # base64 JPEG; never stored
    note: str | None = None  # said before the verdict (a link page's preview picture was checked)


@dataclass
class Failed:
    """A failure to store and answer (``text`` is what the user reads)."""

    code: str
    message: str
    text: str


@dataclass
class Postponed:
    """Back to the queue; ``notify``: tell the user once that it is queued."""

    code: str
    floor_s: float | None = None
    notify: bool = False
    timed_out: bool = False


@dataclass
class _Reply:
    text: str
    markup: Any = None
    photo: bytes | None = None


class LeaseLost(Exception):
    """The job was taken over (or the lease ran out while the database was away)."""


@dataclass
class _Held:
    """A job in hand: its lease and when (by our clock) the lease surely still holds."""

    job: db.Check
    lease: jobs.Lease
    good_until: float
    stored: bool = field(default=False)  # the outcome is in the database
    sent: bool = field(default=False)  # Telegram accepted the answer
    answer_claimed: float = 0.0  # loop.time() just after our answer claim committed


class Worker:
    """``concurrency`` loops that claim, check and answer jobs; dependencies are handed in."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        client: ServingClient,
        telegram: TelegramIO,
        albums: AlbumReplies,
        cache: ResultCache,
        options: BotOptions,
        links: LinkFetcher | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.links = links
        self.client = client
        self.telegram = telegram
        self.albums = albums
        self.options = options
        self.worker_id = worker_id or f"bot-{uuid.uuid4().hex[:12]}"
        self.inferences = 0  # serving calls made (tests assert cache hits on it)
        self.answers = 0
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight: dict[int, _Held] = {}
        self._file_locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        self._stampers: set[asyncio.Task[None]] = set()
        self.cache = cache
        self._outage_logged: dict[str, float] = {}

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self._stopping = False
        try:
            await self.cache.load()
        except Exception as exc:
            _LOGGER.warning("could not read stored model versions: %s", _short(exc))
        for index in range(max(1, self.options.worker_concurrency)):
            self._tasks.append(asyncio.create_task(self._loop(), name=f"fakewatch-worker-{index}"))
        _LOGGER.info("worker %s started with %d loop(s)", self.worker_id, len(self._tasks))

    def wake(self) -> None:
        """A job was enqueued (or an album item finished): look now, not after the poll interval."""
        self._wake.set()

    async def stop(self, grace_s: float | None = None) -> None:
        """Let running checks finish for ``grace_s``; put the rest back in the queue at once."""
        grace = self.options.stop_grace_s if grace_s is None else grace_s
        self._stopping = True
        self._wake.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            interrupted = [held.lease for held in self._inflight.values()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if self._stampers:  # answers already sent: let them be recorded
                await asyncio.wait(set(self._stampers), timeout=grace)
            for lease in interrupted:
                with contextlib.suppress(Exception):
                    async with self.sessions() as s:
                        await jobs.retry_later(s, lease.check_id, error_code=JobError.INTERRUPTED,
                                               delay_s=0, lease=lease)  # fmt: skip
        self._tasks.clear()

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                async with self.sessions() as s:
                    job = await jobs.claim_next(s, worker_id=self.worker_id, lease_s=self.options.lease_s)
            except Exception as exc:
                self._log_trouble("claiming a job", exc)
                job = None
            if job is None:
                try:
                    await self.albums.sweep()
                except Exception as exc:
                    self._log_trouble("answering albums", exc)
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.options.poll_interval_s)
                continue
            self._wake.set()  # there may be more: let an idle sibling look too
            await self._run_leased(job)

    def _log_trouble(self, what: str, exc: BaseException) -> None:
        if not is_outage(exc):
            _LOGGER.exception("%s failed unexpectedly; retrying", what)
            return
        now = asyncio.get_running_loop().time()
        if now - self._outage_logged.get(what, float("-inf")) >= OUTAGE_LOG_EVERY_S:  # one line, not one per poll
            self._outage_logged[what] = now
            _LOGGER.warning("%s failed, the database is away (%s); retrying", what, _short(exc))

    # --- the lease -------------------------------------------------------------------------------
    async def _run_leased(self, job: db.Check) -> None:
        """Run one job under its lease: a heartbeat renews it; if it is lost, the work stops."""
        loop = asyncio.get_running_loop()
        held = _Held(job, jobs.Lease.of(job), loop.time() + self.options.lease_s)
        self._inflight[job.id] = held
        work = asyncio.create_task(self._process_safely(held), name=f"fakewatch-check-{job.id}")
        beat = self.options.heartbeat_s
        try:
            while True:
                done, _ = await asyncio.wait({work}, timeout=beat)
                if done:
                    return
                renewed = await self._renew(held)
                if work.done():  # it finished (and closed the job) while we renewed
                    return
                # Stop a full heartbeat before the lease can run out: a new holder may claim then.
                if renewed is False or loop.time() >= held.good_until - beat:
                    _LOGGER.warning("lost the lease of check %s: stopping it (an answer already sent is still "
                                    "recorded; none is sent from now on)", job.id)  # fmt: skip
                    work.cancel()
                    await asyncio.gather(work, return_exceptions=True)
                    return
        except asyncio.CancelledError:
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            raise
        finally:
            self._inflight.pop(job.id, None)

    async def _renew(self, held: _Held) -> bool | None:
        """True renewed, False taken over, None could not tell (the database is away)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with self.sessions() as s:
                ok = await jobs.renew_lease(s, held.lease, self.options.lease_s)
        except Exception as exc:
            self._log_trouble(f"renewing the lease of check {held.job.id}", exc)
            return None
        if ok:
            held.good_until = started + self.options.lease_s
        return ok

    async def _db(self, held: _Held, op: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """A write under the lease, retried through a database outage while the lease lasts."""

        async def once() -> T:
            async with self.sessions() as s:
                return await op(s)

        deadline = held.good_until - self.options.heartbeat_s
        return await retry_while_away(once, deadline=deadline, every_s=DB_RETRY_S)

    async def _process_safely(self, held: _Held) -> None:
        try:
            await self.process(held)
        except (asyncio.CancelledError, LeaseLost):
            return
        except Exception as exc:
            job = held.job
            if is_outage(exc):  # the lease runs out; the job is taken over when the database is back
                _LOGGER.warning("check %s stopped: the database is away (%s)", job.id, _short(exc))
                return
            _LOGGER.exception("check %s failed unexpectedly", job.id)
            if not held.stored:  # nothing said yet: say something went wrong
                with contextlib.suppress(Exception):
                    text = texts_of(job).t("internal-error")
                    await self._conclude(held, Failed(JobError.INTERNAL, type(exc).__name__, text))
            # else: sent (its stamper records it) or stored (the next holder answers it)

    # --- one job -------------------------------------------------------------------------------
    async def process(self, held: _Held) -> None:
        """Run one claimed job to a terminal state, or back to the queue."""
        job = held.job
        if job.answered_at is not None:  # answered and stamped, only the close was lost
            await self._db(held, lambda s: jobs.finish(s, held.lease, answered=True))
            return
        if job.outcome_at is not None:  # a previous holder stored the outcome: only answer
            await self._answer_stored(held)
            return
        decision = await self._decide(job)
        if isinstance(decision, Postponed):
            await self._postpone(held, decision)
            return
        await self._conclude(held, decision)

    async def _decide(self, job: db.Check) -> Checked | Failed | Postponed:
        opts = self.options
        texts = texts_of(job)
        payload = job.payload or {}
        created = job.created_at
        age = (dt.datetime.now(dt.UTC) - created).total_seconds() if created else 0.0
        if age > opts.max_job_age_s:  # the outage budget is the job's age, not its attempts
            return Failed(JobError.EXPIRED, f"not checked after {age / 3600:.1f} h", texts.t("gave-up"))
        limit = self.telegram.download_limit
        if job.file_size and job.file_size > limit:
            return Failed(JobError.TOO_LARGE, f"{job.file_size} bytes", wording.too_large(job.file_size, limit, texts))
        if job.timeouts >= opts.max_timeouts:
            return Failed(JobError.TIMED_OUT, f"serving timed out {job.timeouts} times", texts.t("check-timed-out"))
        async with self._file_lock(job.file_unique_id or f"job-{job.id}"):
            # the same file twice in a row: the second one waits and hits the cache
            cached = await self.cache.find(job)
            if cached is not None:
                return Checked(CheckResult.model_validate(cached.result), cached.sha256, {"cached": 0.0})
            if self.client.breaker.state is BreakerState.OPEN:  # don't download for nothing
                return Postponed(JobError.UNAVAILABLE, floor_s=self.client.breaker.remaining_open_s(), notify=True)
            note: str | None = None
            async with self.telegram.chat_action(job.chat_id, silent=bool(payload.get("silent"))):
                if payload.get("links"):  # a link: fetched with the link fetcher's caps and address checks
                    fetched = await self._fetch_link(job, texts)
                    if isinstance(fetched, Failed):
                        return fetched
                    data, note = fetched
                else:
                    try:
                        data = await self.telegram.download(job.file_id, job.file_size)
                    except TooLarge as exc:
                        size = exc.size or job.file_size
                        return Failed(JobError.TOO_LARGE, f"{size} bytes", wording.too_large(size, limit, texts))
                    except DownloadFailed as exc:
                        return Failed(JobError.DOWNLOAD, str(exc), texts.t("download-failed"))
                    except TelegramBusy as exc:  # 429 or network: try again later, never fail
                        _LOGGER.warning("download of check %s postponed: %s", job.id, exc)
                        return Postponed(JobError.TELEGRAM, floor_s=exc.retry_after_s)
                sha256 = hashlib.sha256(data).hexdigest()
                try:
                    self.inferences += 1
                    result = await self.client.check(data, annotate=True)
                except ServiceUnavailable as exc:
                    if exc.timed_out:  # the file's fault: counted per file, not by the breaker
                        _LOGGER.warning("serving timed out on check %s (%d before)", job.id, job.timeouts)
                        if job.timeouts + 1 >= opts.max_timeouts:
                            return Failed(JobError.TIMED_OUT, str(exc)[:500], texts.t("check-timed-out"))
                        return Postponed(JobError.TIMED_OUT, timed_out=True)
                    _LOGGER.warning("serving unavailable for check %s: %s", job.id, exc)
                    return Postponed(JobError.UNAVAILABLE, floor_s=exc.retry_after_s, notify=True)
                except ServingError as exc:
                    return Failed(JobError.INTERNAL, str(exc)[:500], texts.t("internal-error"))
                finally:
                    del data  # no media kept after the check
        annotated, result.annotated_jpeg_base64 = result.annotated_jpeg_base64, None
        if result.model is not None:
            self.cache.saw(result.model.version)
        return Checked(result, sha256, dict(result.timings_ms), annotated, note)

    async def _fetch_link(self, job: db.Check, texts: Texts) -> tuple[bytes, str | None] | Failed:
        """The media a link job points to (and a note for the reply), or why not (never retried:
        the fetch is bounded, and a broken link does not mend itself within the backoff)."""
        if self.links is None:
            return Failed(JobError.INTERNAL, "no link fetcher", texts.t("internal-error"))
        outcome = await fetch_first(self.links, [str(u) for u in (job.payload or {}).get("links") or []])
        if not isinstance(outcome, MediaFound):
            code = outcome.code if outcome is not None else "not_media"
            text = wording.link_outcome_text(outcome, texts) if outcome is not None else None
            return Failed(f"link_{code}", _link_detail(outcome), text or texts.t("link-not-media"))
        return outcome.data, wording.link_outcome_text(outcome, texts)

    def _reply_for(self, job: db.Check, decision: Checked | Failed) -> _Reply | None:
        """What to send for this job, or None (album items, a quiet silent check, no chat)."""
        payload = job.payload or {}
        texts = texts_of(job)
        if job.album_key or not job.chat_id:
            return None
        if isinstance(decision, Failed):
            return None if payload.get("silent") else _Reply(decision.text)
        result = decision.result
        verdict = str(result.verdict)
        if payload.get("silent") and not wording.speaks_in_group(verdict, payload.get("threshold", "uncertain")):
            return None
        photo = None
        if decision.annotated and verdict in ("fake", "uncertain"):
            with contextlib.suppress(ValueError):
                photo = base64.b64decode(decision.annotated, validate=True)
        markup = wording.feedback_markup(job.id, texts) if verdict in ("real", "uncertain", "fake") else None
        text = wording.verdict_text(result, texts, from_compressed_photo=payload.get("attachment") == "photo")
        if decision.note:  # e.g. only a linked page's preview picture could be fetched
            text = decision.note + "\n\n" + text
        return _Reply(text, markup, photo)

    async def _conclude(self, held: _Held, decision: Checked | Failed) -> None:
        """Store the outcome; answer if there is anything to say; close the job."""
        job, lease = held.job, held.lease
        reply = self._reply_for(job, decision)
        if isinstance(decision, Checked):
            outcome = outcome_of(decision.result, sha256=decision.sha256, timings=decision.timings)
            if reply is None:
                ok = await self._db(held, lambda s: jobs.complete_check(s, job.id, outcome, lease=lease))
            else:
                ok = await self._db(held, lambda s: jobs.store_outcome(s, lease, outcome, claim_answer=True))
        else:
            code, message = str(decision.code), decision.message
            if reply is None:
                ok = await self._db(held, lambda s: jobs.fail_check(s, job.id, error_code=code, message=message,
                                                                   lease=lease))  # fmt: skip
            else:
                ok = await self._db(held, lambda s: jobs.store_failure(s, lease, error_code=code, message=message,
                                                                      claim_answer=True))  # fmt: skip
        if not ok:
            raise LeaseLost(job.id)
        held.stored = True
        held.answer_claimed = asyncio.get_running_loop().time()
        if reply is None:
            if job.album_key:  # the album may be complete now (else an idle loop sends it later)
                try:
                    await self.albums.sweep()
                except Exception as exc:
                    self._log_trouble("answering albums", exc)
            return
        await self._send_and_close(held, reply)

    async def _answer_stored(self, held: _Held) -> None:
        """A resumed job: its outcome is stored (the annotated image is not: text only)."""
        job = held.job
        held.stored = True
        stored = stored_result(job)
        decision: Checked | Failed
        if job.result:
            decision = Checked(stored, job.sha256, dict(job.timings_ms or {}))
        else:
            decision = Failed(
                str(job.error_code), job.error_message or "", _failure_text(job, self.telegram.download_limit)
            )
        reply = self._reply_for(job, decision)
        if reply is None:
            ok = await self._db(held, lambda s: jobs.finish(s, held.lease, answered=False))
            if not ok:
                raise LeaseLost(job.id)
            return
        lease_s = self.options.lease_s
        if job.answer_claimed_at is not None:  # a sender's claim: it may still record its send
            wait = (job.answer_claimed_at - dt.datetime.now(dt.UTC)).total_seconds() + lease_s
            if wait > 0:
                ok = await self._db(held, lambda s: jobs.retry_later(
                    s, job.id, error_code=str(job.error_code or JobError.TELEGRAM), delay_s=wait, lease=held.lease,
                    keep_answer_claim=True))  # fmt: skip
                if not ok:
                    raise LeaseLost(job.id)
                return
            _LOGGER.warning("check %s: its answer was claimed and never recorded (the sender died, or the "
                            "database stayed away longer than the lease); answering (again)", job.id)  # fmt: skip
        if not await self._db(held, lambda s: jobs.claim_answer(s, held.lease, answer_lease_s=lease_s)):
            raise LeaseLost(job.id)
        held.answer_claimed = asyncio.get_running_loop().time()
        await self._send_and_close(held, reply)

    async def _send_and_close(self, held: _Held, reply: _Reply) -> None:
        """The answer claim is committed: send, then stamp and close (or postpone)."""
        job, lease = held.job, held.lease
        try:
            await self.telegram.send(int(job.chat_id or 0), _reply_to(job), reply.text,
                                     markup=reply.markup, photo=reply.photo)  # fmt: skip
        except TelegramBusy as exc:  # postpone: the answer is stored, the next holder only sends
            delay = self._backoff(job.attempts, exc.retry_after_s)
            unsent = not exc.maybe_delivered  # a 429 or a refused connection: surely not sent
            _LOGGER.warning("answer of check %s postponed %.1fs: %s", job.id, delay, exc)
            await self._db(
                held,
                lambda s: jobs.retry_later(
                    s, job.id, error_code=JobError.TELEGRAM, delay_s=delay, lease=lease, release_answer=unsent
                ),
            )
            return
        except Undeliverable as exc:
            _LOGGER.info("answer of check %s cannot be delivered: %s", job.id, exc)
            await self._db(held, lambda s: jobs.finish(s, lease, answered=False))
            return
        held.sent = True
        self.answers += 1
        stamper = asyncio.create_task(self._record_answer(held), name=f"fakewatch-stamp-{job.id}")
        self._stampers.add(stamper)
        stamper.add_done_callback(self._stampers.discard)
        await asyncio.shield(stamper)  # losing the job's lease must not stop the record

    async def _record_answer(self, held: _Held) -> None:
        """The answer was sent: close the job under its lease or, when that lease is lost (a
        database outage outlasting it), stamp the answer by its claim's token — retried through
        the outage until the answer claim itself runs out."""
        job, lease = held.job, held.lease
        deadline = held.answer_claimed + self.options.lease_s - DB_RETRY_S

        async def record() -> bool:
            async with self.sessions() as s:
                if await jobs.finish(s, lease, answered=True):
                    return True
                return await jobs.stamp_answered(s, job.id, lease.token)

        try:
            recorded = await retry_while_away(record, deadline=deadline, every_s=DB_RETRY_S)
        except Exception as exc:
            if not is_outage(exc):
                _LOGGER.exception("recording the answer of check %s failed", job.id)
            recorded = False
        if not recorded:
            _LOGGER.warning("check %s was answered but that could not be recorded; it may be answered again",
                            job.id)  # fmt: skip

    async def _postpone(self, held: _Held, decision: Postponed) -> None:
        """Back to the queue with exponential backoff; the user hears about it once."""
        job = held.job
        delay = self._backoff(job.attempts, decision.floor_s)
        payload = job.payload or {}
        if (decision.notify and job.attempts == 1 and not payload.get("silent") and not job.album_key
                and job.chat_id):  # fmt: skip
            with contextlib.suppress(TelegramBusy, Undeliverable):
                await self.telegram.send(int(job.chat_id), _reply_to(job), texts_of(job).t("queued-service-down"))
        ok = await self._db(held, lambda s: jobs.retry_later(
            s, job.id, error_code=str(decision.code), delay_s=delay, lease=held.lease,
            timed_out=decision.timed_out))  # fmt: skip
        if not ok:
            raise LeaseLost(job.id)

    def _backoff(self, attempts: int, floor_s: float | None) -> float:
        opts = self.options
        delay = min(opts.retry_max_s, opts.retry_base_s * 2 ** max(0, attempts - 1))
        if floor_s:  # the server's Retry-After (or the open breaker), within our own cap
            delay = max(delay, min(float(floor_s), opts.retry_max_s))
        return delay

    # --- helpers -------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _file_lock(self, key: str) -> AsyncIterator[None]:
        """One check per file at a time; the lock is dropped when nobody holds or waits for it."""
        entry = self._file_locks.get(key)
        if entry is None:
            entry = self._file_locks[key] = (asyncio.Lock(), [0])
        lock, users = entry
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                self._file_locks.pop(key, None)


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def _reply_to(job: db.Check) -> int | None:
    return int(job.message_id) if job.message_id else None


def texts_of(job: db.Check) -> Texts:
    """The catalogue in the language of whoever asked for the check (stored with the job)."""
    return Texts.for_language((job.payload or {}).get("lang"))


def _link_detail(outcome: Any) -> str:
    """What the check log keeps about a failed link (not the URL: that stays in the payload)."""
    if outcome is None:
        return "no link"
    if outcome.code == "http_error":
        return f"HTTP {outcome.status}"
    if outcome.code == "refused":
        return f"refused: {outcome.reason}"
    if outcome.code == "unreachable":
        return f"unreachable: {outcome.reason}"
    return str(outcome.code)


_LINK_MESSAGES = {
    "link_not_media": "link-not-media",
    "link_timeout": "link-timeout",
    "link_refused": "link-refused",
    "link_unreachable": "link-unreachable",
    "link_too_many_redirects": "link-too-many-redirects",
}


def _failure_text(job: db.Check, limit: int) -> str:
    """The words for a stored failure (a resumed job's answer)."""
    texts = texts_of(job)
    code = str(job.error_code or "")
    if code == JobError.TOO_LARGE:
        return wording.too_large(job.file_size, limit, texts)
    if code == "link_too_large":
        return texts.t("link-too-large", limit_mb=round(limit / 1e6))
    if code == "link_http_error":
        return texts.t("link-http-error", status=(job.error_message or "").removeprefix("HTTP ") or "?")
    if code in _LINK_MESSAGES:
        return texts.t(_LINK_MESSAGES[code])
    message = {
        JobError.EXPIRED: "gave-up",
        JobError.DOWNLOAD: "download-failed",
        JobError.TIMED_OUT: "check-timed-out",
    }.get(code, "internal-error")  # type: ignore[call-overload]
    return texts.t(message)


def outcome_of(result: CheckResult, *, sha256: str | None, timings: dict[str, float]) -> db.Outcome:
    """The typed columns the check log keeps next to the result JSON."""
    return db.Outcome(
        result=result.to_json(),
        verdict=str(result.verdict),
        fake_probability=result.fake_probability,
        faces_count=len(result.faces),
        frames_sampled=result.frames_sampled,
        media_kind=str(result.kind) if result.kind is not None else None,
        error_code=str(result.error.code) if result.error is not None else None,
        error_message=result.error.message if result.error is not None else None,
        model_name=result.model.name if result.model is not None else None,
        model_version=result.model.version if result.model is not None else None,
        timings_ms=dict(timings),
        sha256=sha256,
    )
