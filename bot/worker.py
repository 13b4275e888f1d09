"""The job worker: claims checks from the database queue, runs them, replies.

Why a DB queue and not PTB's handlers: PTB confirms an update when it is *fetched*, so a
crash loses whatever was only in memory. Handlers therefore only write a job row; this worker
(started in ``post_init``, stopped in ``post_stop``) does the slow part. A job claimed by a
worker that dies keeps its lease until it expires and is then taken over by the next
``claim_next``. The user is answered before the job is marked done, so a crash in between
repeats an answer rather than losing it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select
from telegram import ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError

import db
from db import jobs
from serving.client import ServiceUnavailable, ServingError
from serving.contract import CheckResult, ErrorCode

from bot import replies
from bot.constants import JobError

if TYPE_CHECKING:
    from bot.runtime import Runtime

_LOGGER = logging.getLogger(__name__)


class _TooLarge(Exception):
    def __init__(self, size: int | None) -> None:
        super().__init__(f"file too large ({size} bytes)")
        self.size = size


class _DownloadFailed(Exception):
    """Telegram refused the file for good (bad file id, gone)."""


class Worker:
    """``concurrency`` loops that claim, download, check and answer jobs."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.worker_id = f"bot-{uuid.uuid4().hex[:12]}"
        self.inferences = 0  # serving calls made (tests assert cache hits on it)
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight: dict[int, asyncio.Task[Any]] = {}
        self._file_locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        self._versions: set[str] = set()
        self._versions_at = float("-inf")
        self._seen_versions: set[str] = set()
        self._http: httpx.AsyncClient | None = None

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self._stopping = False
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))
        try:  # versions stored results carry (composite for videos), for the cache after a restart
            async with self.rt.sessions() as s:
                stored = await s.execute(
                    select(db.Check.model_version)
                    .where(db.Check.status == db.CheckStatus.DONE, db.Check.model_version.is_not(None))
                    .distinct()
                    .limit(100)
                )
                self._seen_versions.update(str(v) for v in stored.scalars())
        except Exception:
            _LOGGER.exception("could not read stored model versions")
        for index in range(max(1, self.rt.options.worker_concurrency)):
            self._tasks.append(asyncio.create_task(self._loop(), name=f"fakewatch-worker-{index}"))
        _LOGGER.info("worker %s started with %d loop(s)", self.worker_id, len(self._tasks))

    def wake(self) -> None:
        """A job was enqueued: claim now instead of after the poll interval."""
        self._wake.set()

    async def stop(self, grace_s: float | None = None) -> None:
        """Let running checks finish for ``grace_s``; put the rest back in the queue at once."""
        grace = self.rt.options.stop_grace_s if grace_s is None else grace_s
        self._stopping = True
        self._wake.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            interrupted = list(self._inflight)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for check_id in interrupted:
                with contextlib.suppress(Exception):
                    async with self.rt.sessions() as s:
                        await jobs.retry_later(
                            s, check_id, error_code=JobError.INTERRUPTED, delay_s=0
                        )
        self._tasks.clear()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                async with self.rt.sessions() as s:
                    job = await jobs.claim_next(
                        s, worker_id=self.worker_id, lease_s=self.rt.options.lease_s
                    )
            except Exception:
                _LOGGER.exception("claiming a job failed; retrying")
                job = None
            if job is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.rt.options.poll_interval_s)
                continue
            self._wake.set()  # there may be more: let an idle sibling look too
            current = asyncio.current_task()
            assert current is not None
            self._inflight[job.id] = current
            try:
                await self.process(job)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug or the database gone: keep the worker alive
                _LOGGER.exception("check %s failed unexpectedly", job.id)
                try:
                    await self._give_up(job, JobError.INTERNAL, type(exc).__name__, replies.INTERNAL_ERROR)
                except Exception:  # the lease runs out and the job is taken over later
                    _LOGGER.exception("could not record the failure of check %s", job.id)
            finally:
                self._inflight.pop(job.id, None)

    # --- one job -------------------------------------------------------------------------------
    async def process(self, job: db.Check) -> None:
        """Run one claimed job to a terminal state (or back to the queue)."""
        payload = job.payload or {}
        created = job.created_at
        age = (dt.datetime.now(dt.timezone.utc) - created).total_seconds() if created else 0.0
        if job.attempts > self.rt.options.max_attempts or age > self.rt.options.max_job_age_s:
            await self._give_up(job, JobError.EXPIRED, "gave up after retries", replies.GAVE_UP)
            return
        limit = self.rt.download_limit
        if job.file_size and job.file_size > limit:
            await self._give_up(
                job, JobError.TOO_LARGE, f"{job.file_size} bytes", replies.too_large(job.file_size, limit)
            )
            return
        async with self._file_lock(job.file_unique_id or f"job-{job.id}"):
            # the same file twice in a row: the second one waits and hits the cache
            cached = await self._cached(job)
            if cached is not None:
                await self._finish(
                    job, CheckResult.model_validate(cached.result), annotated=None,
                    sha256=cached.sha256, timings={"cached": 0.0},
                )  # fmt: skip
                return
            async with self._chat_action(job, silent=bool(payload.get("silent"))):
                try:
                    data = await self._download(job)
                except _TooLarge as exc:
                    size = exc.size or job.file_size
                    await self._give_up(
                        job, JobError.TOO_LARGE, f"{size} bytes", replies.too_large(size, limit)
                    )
                    return
                except _DownloadFailed as exc:
                    await self._give_up(job, JobError.DOWNLOAD, str(exc), replies.DOWNLOAD_FAILED)
                    return
                except (NetworkError, httpx.HTTPError) as exc:  # transient: try again later
                    _LOGGER.warning("download of check %s failed: %s", job.id, type(exc).__name__)
                    await self._postpone(job, JobError.DOWNLOAD, notify=False)
                    return
                sha256 = hashlib.sha256(data).hexdigest()
                try:
                    self.inferences += 1
                    result = await self.rt.client.check(data, annotate=True)
                except ServiceUnavailable as exc:
                    _LOGGER.warning("serving unavailable for check %s: %s", job.id, exc)
                    floor = getattr(exc, "retry_after_s", None)  # Retry-After / open breaker
                    await self._postpone(job, JobError.UNAVAILABLE, notify=True, floor_s=floor)
                    return
                except ServingError as exc:
                    await self._give_up(job, JobError.INTERNAL, str(exc)[:500], replies.INTERNAL_ERROR)
                    return
                finally:
                    del data  # no media kept after the check
            annotated, result.annotated_jpeg_base64 = result.annotated_jpeg_base64, None
            if result.model is not None:
                self._seen_versions.add(result.model.version)
            await self._finish(job, result, annotated=annotated, sha256=sha256, timings=result.timings_ms)

    async def _finish(
        self,
        job: db.Check,
        result: CheckResult,
        *,
        annotated: str | None,
        sha256: str | None,
        timings: Mapping[str, float],
    ) -> None:
        """Answer (unless silent or part of an album), then store the result."""
        if not job.media_group_id:
            await self._answer(job, result, annotated)
        async with self.rt.sessions() as s:
            await jobs.complete_check(s, job.id, outcome_of(result, sha256=sha256, timings=timings))
        if job.media_group_id:
            await self.finish_album((int(job.chat_id or 0), job.media_group_id), job)

    async def _give_up(self, job: db.Check, code: str, message: str, text: str) -> None:
        if not job.media_group_id and not (job.payload or {}).get("silent"):
            await self._send_text(job, text)
        async with self.rt.sessions() as s:
            await jobs.fail_check(s, job.id, error_code=str(code), message=message)
        if job.media_group_id:
            await self.finish_album((int(job.chat_id or 0), job.media_group_id), job)

    async def _postpone(
        self, job: db.Check, code: str, *, notify: bool, floor_s: float | None = None
    ) -> None:
        """Back to the queue with exponential backoff; the user hears about it once."""
        opts = self.rt.options
        delay = min(opts.retry_max_s, opts.retry_base_s * 2 ** max(0, job.attempts - 1))
        if floor_s:  # the server's Retry-After (or the open breaker), within our own cap
            delay = max(delay, min(float(floor_s), opts.retry_max_s))
        if notify and job.attempts == 1 and not (job.payload or {}).get("silent"):
            await self._send_text(job, replies.QUEUED_SERVICE_DOWN)
        async with self.rt.sessions() as s:
            await jobs.retry_later(s, job.id, error_code=str(code), delay_s=delay)

    # --- albums ----------------------------------------------------------------------------------
    async def finish_album(self, key: tuple[int, str], job: db.Check | None = None) -> None:
        """Send the album's one combined reply once it is complete and every item is done."""
        albums = self.rt.albums
        if not albums.is_complete(key):
            return  # the debounce timer calls again when the album has been quiet
        async with self.rt.sessions() as s:
            rows = list(
                (
                    await s.execute(
                        select(db.Check)
                        .where(db.Check.media_group_id == key[1])
                        .order_by(db.Check.id)
                    )
                ).scalars()
            )
        rows = [r for r in rows if r.chat_id in (None, key[0])]  # private chat ids are gone
        if not rows or any(r.status in (db.CheckStatus.QUEUED, db.CheckStatus.RUNNING) for r in rows):
            return
        if not albums.claim_reply(key):
            return
        results = [_row_result(r) for r in rows]
        payload = rows[0].payload or {}
        if payload.get("silent") and not any(
            replies.speaks_in_group(str(r.verdict), payload.get("threshold", "uncertain")) for r in results
        ):
            return
        reply_to = albums.reply_to(key) or (job.message_id if job is not None else None)
        worst = _worst(rows)
        markup = replies.feedback_markup(worst.id) if worst is not None else None
        await self._send(
            key[0], reply_to, replies.album_text(results), markup=markup, photo=None
        )

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

    async def _cached(self, job: db.Check) -> db.Check | None:
        if not job.file_unique_id:
            return None
        versions = await self._current_versions()
        async with self.rt.sessions() as s:
            for version in sorted(versions):
                hit = await jobs.find_cached(s, file_unique_id=job.file_unique_id, model_version=version)
                if hit is not None and hit.id != job.id and hit.result:
                    return hit
        return None

    async def _current_versions(self) -> set[str]:
        """Model versions whose stored results may be reused.

        The serving app's versions (refreshed every minute, last known while it is down) plus
        the versions results reported (a video's is composite, ``image+video``) as long as
        every part is a version the app serves now: an upgraded model invalidates the cache.
        """
        loop = asyncio.get_running_loop()
        if loop.time() - self._versions_at >= self.rt.options.models_refresh_s or not self._versions:
            try:
                versions = (await self.rt.client.models()).served_versions()
            except Exception as exc:  # down or old: fall back to what we knew
                _LOGGER.debug("could not read serving models: %s", type(exc).__name__)
                versions = set()
            if versions:
                self._versions, self._versions_at = versions, loop.time()
        if not self._versions:
            return set(self._seen_versions)
        usable = {v for v in self._seen_versions if set(v.split("+")) <= self._versions}
        return self._versions | usable

    async def _download(self, job: db.Check) -> bytes:
        """getFile, then a capped download (PTB's own download reads any size into memory)."""
        limit = self.rt.download_limit
        try:
            file = await self.rt.bot.get_file(job.file_id)
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                raise _TooLarge(job.file_size) from None
            raise _DownloadFailed(exc.message) from None
        if file.file_size and file.file_size > limit:
            raise _TooLarge(file.file_size)
        path = str(file.file_path or "")
        if not path:
            raise _DownloadFailed("Telegram returned no file path")
        if not path.startswith(("http://", "https://")):  # local Bot API server: a local path
            local = Path(path)
            if local.stat().st_size > limit:
                raise _TooLarge(local.stat().st_size)
            return local.read_bytes()
        assert self._http is not None
        chunks: list[bytes] = []
        total = 0
        async with self._http.stream("GET", path) as response:
            if response.status_code in (400, 403, 404):
                raise _DownloadFailed(f"file download answered {response.status_code}")
            response.raise_for_status()
            async for chunk in response.aiter_bytes():
                total += len(chunk)
                if total > limit:
                    raise _TooLarge(total)
                chunks.append(chunk)
        return b"".join(chunks)

    @contextlib.asynccontextmanager
    async def _chat_action(self, job: db.Check, *, silent: bool) -> AsyncIterator[None]:
        """Show "typing…" (our "checking…") in the chat while the job runs."""
        chat_id = job.chat_id
        if silent or not chat_id:
            yield
            return

        async def keep_showing() -> None:
            while True:
                with contextlib.suppress(TelegramError):
                    await self.rt.bot.send_chat_action(chat_id, ChatAction.TYPING)
                await asyncio.sleep(self.rt.options.chat_action_every_s)

        task = asyncio.create_task(keep_showing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _answer(self, job: db.Check, result: CheckResult, annotated: str | None) -> None:
        payload = job.payload or {}
        verdict = str(result.verdict)
        if payload.get("silent") and not replies.speaks_in_group(verdict, payload.get("threshold", "uncertain")):
            return
        photo = None
        if annotated and verdict in ("fake", "uncertain"):
            with contextlib.suppress(ValueError):
                photo = base64.b64decode(annotated, validate=True)
        markup = replies.feedback_markup(job.id) if verdict in ("real", "uncertain", "fake") else None
        if not job.chat_id:
            return
        await self._send(int(job.chat_id), _reply_to(job), replies.verdict_text(result), markup=markup, photo=photo)

    async def _send_text(self, job: db.Check, text: str) -> None:
        if job.chat_id:
            await self._send(int(job.chat_id), _reply_to(job), text, markup=None, photo=None)

    async def _send(
        self,
        chat_id: int,
        reply_to: int | None,
        text: str,
        *,
        markup: Any,
        photo: bytes | None,
    ) -> None:
        """Reply (photo with caption, or text); follows a group→supergroup migration once."""
        reply = (
            ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to
            else None
        )
        for _ in range(3):
            try:
                if photo is not None:
                    await self.rt.bot.send_photo(
                        chat_id, photo, caption=text, parse_mode=ParseMode.HTML,
                        reply_parameters=reply, reply_markup=markup,
                    )  # fmt: skip
                else:
                    await self.rt.bot.send_message(
                        chat_id, text, parse_mode=ParseMode.HTML,
                        reply_parameters=reply, reply_markup=markup,
                    )  # fmt: skip
                return
            except ChatMigrated as exc:
                async with self.rt.sessions() as s:
                    await jobs.migrate_chat(s, chat_id, exc.new_chat_id)
                chat_id = exc.new_chat_id
            except RetryAfter as exc:  # the rate limiter's retries were not enough
                await asyncio.sleep(_seconds(exc.retry_after) + 0.1)
            except Forbidden as exc:  # blocked by the user / removed from the group
                _LOGGER.info("cannot answer in chat: %s", exc.message)
                return
            except BadRequest as exc:
                if photo is not None:  # e.g. the annotated image was refused: fall back to text
                    photo = None
                    continue
                _LOGGER.warning("answer refused: %s", exc.message)
                return
            except NetworkError as exc:
                _LOGGER.warning("answer failed (%s); retrying", exc.message)
                await asyncio.sleep(1.0)


def _seconds(value: float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def _reply_to(job: db.Check) -> int | None:
    return int(job.message_id) if job.message_id else None


def _row_result(row: db.Check) -> CheckResult:
    """A stored album item as a result: its check result, or an ``invalid`` one saying why not."""
    if row.result:
        return CheckResult.model_validate(row.result)
    code = row.error_code if row.error_code in set(ErrorCode) else ErrorCode.INTERNAL
    return CheckResult.invalid(None, code, row.error_message or "")


def outcome_of(result: CheckResult, *, sha256: str | None, timings: Mapping[str, float]) -> db.Outcome:
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


def _worst(rows: list[db.Check]) -> db.Check | None:
    scored = [r for r in rows if r.verdict in ("real", "uncertain", "fake")]
    return max(scored, key=lambda r: r.fake_probability or 0.0, default=None)
