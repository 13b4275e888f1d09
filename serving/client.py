"""Async client for the fakewatch serving HTTP API, used by the bot.

Why its own retry and breaker logic: the Serve app is a separate service that will sometimes be
down (restarts, the GPU host going away) or overloaded. The bot must then fail *fast* with
``ServiceUnavailable`` and queue the job in its database, instead of hanging on a dead socket or
hammering a struggling service. Media errors (413/415/422) are answers, not failures: they come
back as the ``CheckResult`` JSON with ``verdict: "invalid"`` and are never retried.

This module must stay light: it imports no torch, ray or cv2 (the bot imports it); answers
are parsed into the typed contract (``serving.contract``).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, SecretStr, ValidationError

from serving.contract import CheckResult, ErrorCode, ModelsAnswer

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "ServiceUnavailable",
    "ServingClient",
    "ServingError",
]

# Statuses that say "try again later" rather than "your request is wrong".
TRANSIENT_STATUSES: frozenset[int] = frozenset({408, 429, 502, 503, 504})
# Statuses whose body is a CheckResult with verdict "invalid" (see DEVELOPERS.md).
MEDIA_ERROR_STATUSES: frozenset[int] = frozenset({413, 415, 422})
MAX_RETRY_AFTER_S = 60.0


class ServingError(Exception):
    """The serving API answered something the client cannot use (a bug, not a media error)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ServiceUnavailable(ServingError):
    """The service is down, overloaded or timing out; the caller should queue and retry later.

    ``retry_after_s`` is the server's hint (``Retry-After``) or the breaker's remaining open time.
    ``timed_out``: the attempt got no answer in time. That says more about the file than about the
    service (one slow file must not open the circuit for everyone), so it is neither retried
    within the call nor counted by the breaker; the caller decides how often a file may time out.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        timed_out: bool = False,
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after_s = retry_after_s
        self.timed_out = timed_out


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """closed → open after ``threshold`` consecutive failures → half-open after ``reset_s``.

    Half-open lets exactly one trial call through: success closes the breaker, failure opens it
    again for another ``reset_s``. The clock is injectable so the state machine can be tested
    without sleeping.
    """

    def __init__(
        self, threshold: int = 5, reset_s: float = 30.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if threshold < 1:
            raise ValueError("breaker threshold must be >= 1")
        if reset_s <= 0:
            raise ValueError("breaker reset time must be > 0")
        self.threshold = threshold
        self.reset_s = reset_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.reset_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def remaining_open_s(self) -> float:
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.reset_s - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """May a call go out now? In half-open, only the first caller gets the trial."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._failures += 1
        was_trial = self._trial_in_flight
        self._trial_in_flight = False
        if was_trial or self._failures >= self.threshold:
            self._opened_at = self._clock()

    def release_trial(self) -> None:
        """A trial call ended without saying anything about health (e.g. a 4xx): let another try."""
        self._trial_in_flight = False


class _Transient(Exception):
    """One failed attempt that is worth retrying."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        counts_as_failure: bool = True,
        timed_out: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s
        # An explicit "overloaded" 503 means the service is up: retry, but don't trip the breaker.
        self.counts_as_failure = counts_as_failure
        self.timed_out = timed_out


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # HTTP-date form: not worth parsing for a hint
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


class ServingClient:
    """Talks to ``POST /v1/check``, ``GET /v1/health`` and ``GET /v1/models``.

    Args:
        base_url: e.g. ``http://127.0.0.1:8000`` (settings.serving_url).
        timeout_s: the limit for ONE attempt (connect + upload + inference + answer).
        retries: extra attempts after the first, for transient failures only.
        breaker_threshold: consecutive failed attempts that open the circuit.
        breaker_reset_s: how long the circuit stays open before one trial call.
        backoff_base_s / backoff_max_s: exponential backoff with full jitter between attempts.
        api_key: this client's API key (settings.serving_api_key), sent as ``Authorization: Bearer``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 120.0,
        retries: int = 2,
        breaker_threshold: int = 5,
        breaker_reset_s: float = 30.0,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        session: aiohttp.ClientSession | None = None,
        api_key: str | SecretStr | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.breaker = CircuitBreaker(breaker_threshold, breaker_reset_s, clock=clock)
        self._rng = rng or random.Random()
        self._session = session
        self._owns_session = session is None
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}

    # -- lifecycle ----------------------------------------------------------------------------
    async def __aenter__(self) -> ServingClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None and self._owns_session and not self._session.closed:
            await self._session.close()
        self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # No session-wide timeout: each attempt sets its own.
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
            self._owns_session = True
        return self._session

    # -- public API ---------------------------------------------------------------------------
    async def check(self, data: bytes, *, filename: str | None = None, annotate: bool = False) -> CheckResult:
        """The check result; for 413/415/422 the ``invalid`` result instead of an exception."""
        params = {"annotate": "true"} if annotate else None

        def body() -> aiohttp.FormData:
            # A fresh FormData per attempt: aiohttp consumes it when sending.
            form = aiohttp.FormData()
            form.add_field("file", data, filename=filename or "upload", content_type="application/octet-stream")
            return form

        payload = await self._request("POST", "/v1/check", params=params, body=body)
        return _parse(CheckResult, payload)

    async def health(self) -> dict[str, Any]:
        return await self._request("GET", "/v1/health")

    async def models(self) -> ModelsAnswer:
        return _parse(ModelsAnswer, await self._request("GET", "/v1/models"))

    # -- machinery ----------------------------------------------------------------------------
    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Callable[[], aiohttp.FormData] | None = None,
    ) -> dict[str, Any]:
        last: _Transient | None = None
        for attempt in range(self.retries + 1):
            if not self.breaker.allow():
                raise ServiceUnavailable(
                    f"serving circuit is open after {self.breaker.consecutive_failures} "
                    f"consecutive failures ({self.base_url})",
                    retry_after_s=self.breaker.remaining_open_s(),
                )
            try:
                result = await self._attempt(method, path, params=params, body=body)
            except _Transient as exc:
                last = exc
                if exc.counts_as_failure:
                    self.breaker.record_failure()
                else:
                    self.breaker.release_trial()
                if exc.timed_out:
                    break
                if attempt < self.retries:
                    await asyncio.sleep(self._delay(attempt, exc.retry_after_s))
                continue
            except ServiceUnavailable:
                self.breaker.record_failure()  # a 5xx that is not worth retrying
                raise
            except BaseException:
                # A 4xx answer (alive, the request is the problem) or our caller was cancelled.
                self.breaker.release_trial()
                raise
            self.breaker.record_success()
            return result
        assert last is not None
        if last.timed_out:
            raise ServiceUnavailable(last.message, timed_out=True)
        raise ServiceUnavailable(
            f"serving unavailable after {self.retries + 1} attempts: {last.message}",
            status=last.status,
            retry_after_s=last.retry_after_s,
        )

    def _delay(self, attempt: int, retry_after_s: float | None) -> float:
        """Full-jitter exponential backoff; a server's Retry-After is a floor."""
        cap = min(self.backoff_max_s, self.backoff_base_s * (2**attempt))
        delay = self._rng.uniform(cap / 2, cap)
        if retry_after_s is not None:
            delay = max(delay, retry_after_s)
        return delay

    async def _attempt(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None,
        body: Callable[[], aiohttp.FormData] | None,
    ) -> dict[str, Any]:
        session = self._get_session()
        url = self.base_url + path
        try:
            async with session.request(
                method,
                url,
                params=params,
                headers=self._headers,
                data=body() if body is not None else None,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            ) as resp:
                status = resp.status
                retry_after = _parse_retry_after(resp.headers.get("Retry-After"))
                raw = await resp.read()
        except TimeoutError as exc:
            raise _Transient(
                f"no answer within {self.timeout_s:g}s from {url}", counts_as_failure=False, timed_out=True
            ) from exc
        except aiohttp.ClientError as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        payload = _json_or_none(raw)

        if status == 200:
            if not isinstance(payload, dict):
                raise ServingError(f"{url} answered 200 with a non-JSON body", status=status)
            return payload
        if status in MEDIA_ERROR_STATUSES:
            if isinstance(payload, dict) and "verdict" in payload:
                return payload
            # A proxy in front of us may answer 413 itself, without our JSON.
            return CheckResult.invalid(None, _STATUS_CODES[status], _snippet(raw) or f"HTTP {status}").to_json()
        if status in TRANSIENT_STATUSES:
            code = _error_code(payload)
            raise _Transient(
                f"HTTP {status}" + (f" ({code})" if code else ""),
                status=status,
                retry_after_s=retry_after,
                # Back-pressure means "up but busy": ours says "overloaded", the Serve proxy's own
                # (plain text) carries a Retry-After. Neither trips the breaker.
                counts_as_failure=not (
                    status in {429, 503}
                    and (code in {"overloaded", "rate_limited"} or (code is None and retry_after is not None))
                ),
            )
        if status >= 500 or status == 404:
            # 404: the Serve proxy is up but the application is not deployed (yet/any more).
            raise ServiceUnavailable(f"{url} failed with HTTP {status}: {_snippet(raw)}", status=status)
        raise ServingError(f"{url} refused the request with HTTP {status}: {_snippet(raw)}", status=status)


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _error_code(payload: Any) -> str | None:
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        code = payload["error"].get("code")
        return str(code) if code is not None else None
    return None


def _snippet(raw: bytes, limit: int = 200) -> str:
    return raw[:limit].decode("utf-8", "replace")


_STATUS_CODES = {413: ErrorCode.TOO_LARGE, 415: ErrorCode.UNSUPPORTED, 422: ErrorCode.CORRUPT}

_Parsed = TypeVar("_Parsed", bound=BaseModel)


def _parse(model: type[_Parsed], payload: dict[str, Any]) -> _Parsed:
    """A payload that does not fit the contract is a serving bug, not a media error."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise ServingError(f"the serving answer does not fit {model.__name__}: {exc}") from exc
