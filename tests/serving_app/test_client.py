"""ServingClient against a small scripted aiohttp server: retries, Retry-After, media errors, breaker.

The real app (stopped and restarted) is exercised in test_app_restart.py; here each status the
client must treat differently is produced on demand, which the real app cannot do cheaply.
"""

from __future__ import annotations

import json
import random
import time

import aiohttp
import pytest
from aiohttp import web

from serving.client import BreakerState, CircuitBreaker, ServiceUnavailable, ServingClient, ServingError
from serving.contract import CheckResult, ErrorCode, Verdict


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the breaker alone ----------------------------------------------------------------------
def test_breaker_opens_after_threshold_and_half_opens_after_reset() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, reset_s=10.0, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    clock.now += 9.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()  # the one trial
    assert not breaker.allow()  # nobody else while it runs
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()


def test_breaker_failed_trial_reopens_for_a_full_period() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=2, reset_s=5.0, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    clock.now += 5.0
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert breaker.remaining_open_s() == pytest.approx(5.0)


def test_success_resets_the_consecutive_count() -> None:
    breaker = CircuitBreaker(threshold=2, reset_s=5.0, clock=FakeClock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED


def test_breaker_rejects_bad_config() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker(reset_s=0)


# -- the client against a scripted server ---------------------------------------------------
class Script:
    """Answers /v1/check with the next queued (status, body, headers); counts hits."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, object, dict[str, str]]] = []
        self.hits = 0
        self.received: list[tuple[str | None, int, str | None]] = []

    async def check(self, request: web.Request) -> web.Response:
        self.hits += 1
        form = await request.post()
        upload = form.get("file")
        self.received.append(
            (
                getattr(upload, "filename", None),
                len(upload.file.read()) if upload else -1,
                request.query.get("annotate"),
            )
        )
        status, body, headers = self.answers.pop(0) if self.answers else (200, {"verdict": "real"}, {})
        text = body if isinstance(body, str) else json.dumps(body)
        return web.Response(status=status, text=text, headers=headers, content_type="application/json")


@pytest.fixture
async def scripted():
    script = Script()
    app = web.Application()
    app.router.add_post("/v1/check", script.check)
    app.router.add_get("/v1/health", lambda r: web.json_response({"status": "ok"}))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield script, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def make_client(url: str, **kw) -> ServingClient:
    kw.setdefault("timeout_s", 5.0)
    kw.setdefault("backoff_base_s", 0.01)
    kw.setdefault("backoff_max_s", 0.05)
    return ServingClient(url, rng=random.Random(0), **kw)


async def test_check_sends_multipart_file_and_annotate(scripted) -> None:
    script, url = scripted
    async with make_client(url) as client:
        out = await client.check(b"abc" * 10, filename="face.jpg", annotate=True)
        assert out == CheckResult(verdict=Verdict.REAL)
        assert script.received == [("face.jpg", 30, "true")]
        assert (await client.health()) == {"status": "ok"}


@pytest.mark.parametrize("status", [413, 415, 422])
async def test_media_errors_are_returned_not_raised_nor_retried(scripted, status: int) -> None:
    script, url = scripted
    body = {"verdict": "invalid", "error": {"code": "corrupt", "message": "bad"}}
    script.answers = [(status, body, {})]
    async with make_client(url, retries=3) as client:
        assert (await client.check(b"x")).to_json() == CheckResult.model_validate(body).to_json()
    assert script.hits == 1


async def test_media_error_without_json_still_gives_an_invalid_result(scripted) -> None:
    script, url = scripted
    script.answers = [(413, "Request Entity Too Large", {})]
    async with make_client(url) as client:
        out = await client.check(b"x")
    assert out.verdict == Verdict.INVALID and out.error is not None and out.error.code == ErrorCode.TOO_LARGE


async def test_an_answer_outside_the_contract_is_a_serving_error(scripted) -> None:
    script, url = scripted
    script.answers = [(200, {"verdict": "maybe"}, {})]
    async with make_client(url, retries=3) as client:
        with pytest.raises(ServingError, match="does not fit CheckResult"):
            await client.check(b"x")
    assert script.hits == 1


async def test_transient_failures_are_retried_then_succeed(scripted) -> None:
    script, url = scripted
    script.answers = [(502, "bad gateway", {}), (504, {"error": {"code": "request_timeout"}}, {})]
    async with make_client(url, retries=2) as client:
        assert (await client.check(b"x")).verdict == Verdict.REAL
    assert script.hits == 3


async def test_retry_after_is_honoured(scripted) -> None:
    script, url = scripted
    script.answers = [(503, {"error": {"code": "overloaded", "message": "busy"}}, {"Retry-After": "1"})]
    async with make_client(url, retries=1) as client:
        start = time.monotonic()
        await client.check(b"x")
        assert time.monotonic() - start >= 0.95
        # An explicit "overloaded" means the service is up: it does not count towards the breaker.
        assert client.breaker.consecutive_failures == 0


async def test_proxy_backpressure_503_is_retried_without_tripping_the_breaker(scripted) -> None:
    script, url = scripted
    script.answers = [(503, "Request dropped due to backpressure", {"Retry-After": "0"})]
    async with make_client(url, retries=1, breaker_threshold=1) as client:
        assert (await client.check(b"x")).verdict == Verdict.REAL
        assert client.breaker.state is BreakerState.CLOSED


async def test_gives_up_with_service_unavailable_after_retries(scripted) -> None:
    script, url = scripted
    script.answers = [(503, "no", {})] * 3
    async with make_client(url, retries=2) as client:
        with pytest.raises(ServiceUnavailable) as info:
            await client.check(b"x")
    assert info.value.status == 503 and script.hits == 3


async def test_other_4xx_raise_serving_error_without_retry(scripted) -> None:
    script, url = scripted
    script.answers = [(400, {"error": {"code": "bad_request"}}, {})]
    async with make_client(url, retries=3) as client:
        with pytest.raises(ServingError) as info:
            await client.check(b"x")
    assert not isinstance(info.value, ServiceUnavailable)
    assert info.value.status == 400 and script.hits == 1


async def test_unknown_route_means_the_app_is_not_deployed(scripted) -> None:
    _, url = scripted
    async with make_client(url, retries=0) as client:
        with pytest.raises(ServiceUnavailable) as info:
            await client.models()  # the scripted server has no /v1/models, like a proxy without the app
    assert info.value.status == 404
    assert client.breaker.consecutive_failures == 1


async def test_connection_refused_opens_the_breaker_then_fails_fast() -> None:
    # A port nobody listens on: grab one and close it.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    clock = FakeClock()
    async with make_client(
        f"http://127.0.0.1:{port}", retries=1, breaker_threshold=2, breaker_reset_s=30, clock=clock
    ) as client:
        with pytest.raises(ServiceUnavailable):
            await client.check(b"x")
        assert client.breaker.state is BreakerState.OPEN
        start = time.monotonic()
        with pytest.raises(ServiceUnavailable, match="circuit is open") as info:
            await client.check(b"x")
        assert time.monotonic() - start < 0.05
        assert info.value.retry_after_s == pytest.approx(30)


async def test_per_attempt_timeout() -> None:
    async def slow(request: web.Request) -> web.Response:
        import asyncio

        await asyncio.sleep(5)
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/v1/health", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        async with make_client(f"http://127.0.0.1:{port}", timeout_s=0.3, retries=1) as client:
            start = time.monotonic()
            with pytest.raises(ServiceUnavailable, match="no answer within"):
                await client.health()
            assert time.monotonic() - start < 2.0
    finally:
        await runner.cleanup()


def test_client_validates_arguments() -> None:
    with pytest.raises(ValueError):
        ServingClient("http://x", timeout_s=0)
    with pytest.raises(ValueError):
        ServingClient("http://x", retries=-1)


def test_client_module_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, serving.client; "
        "bad = [m for m in ('torch', 'ray', 'cv2', 'dlib') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


async def test_session_is_reused_and_closed(scripted) -> None:
    _, url = scripted
    client = make_client(url)
    await client.health()
    session = client._session
    await client.health()
    assert client._session is session and isinstance(session, aiohttp.ClientSession)
    await client.close()
    assert session.closed


async def test_a_timeout_is_not_retried_and_does_not_trip_the_breaker() -> None:
    """One slow file must not cut everyone off: the caller counts timeouts per file."""
    calls = []

    async def slow(request: web.Request) -> web.Response:
        import asyncio

        calls.append(1)
        await asyncio.sleep(5)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/v1/check", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        async with make_client(f"http://127.0.0.1:{port}", timeout_s=0.3, retries=2, breaker_threshold=1) as client:
            for _ in range(2):
                with pytest.raises(ServiceUnavailable) as info:
                    await client.check(b"x")
                assert info.value.timed_out
            assert client.breaker.state is BreakerState.CLOSED
    finally:
        await runner.cleanup()
    assert len(calls) == 2  # no retry within a call
