"""The bot's client against the real application while it is stopped and started again."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from serving.client import BreakerState, ServiceUnavailable, ServingClient
from tests.serving_app.conftest import ServeApp

pytestmark = pytest.mark.slow


async def test_breaker_opens_while_the_app_is_down_then_recovers(serve_app: ServeApp, face_image: Path) -> None:
    from ray import serve

    photo = face_image.read_bytes()
    client = ServingClient(
        serve_app.url,
        timeout_s=60,
        retries=1,
        breaker_threshold=2,
        breaker_reset_s=2.0,
        backoff_base_s=0.05,
        backoff_max_s=0.1,
    )
    try:
        assert (await client.check(photo, filename="a.jpg")).verdict in {"real", "uncertain", "fake"}
        assert (await client.models()).image["name"] == "tiny-test-image"

        await asyncio.to_thread(serve.shutdown)  # proxy and replicas gone: connection refused
        with pytest.raises(ServiceUnavailable):
            await client.check(photo)
        assert client.breaker.state is BreakerState.OPEN

        start = time.monotonic()
        with pytest.raises(ServiceUnavailable, match="circuit is open"):
            await client.health()
        assert time.monotonic() - start < 0.05, "an open circuit must fail fast"

        await asyncio.to_thread(serve_app.deploy)  # started again (waits for /v1/health)
        await asyncio.sleep(max(0.0, client.breaker.remaining_open_s()) + 0.05)
        assert client.breaker.state is BreakerState.HALF_OPEN
        answer = await client.check(photo, filename="b.jpg")
        assert answer.verdict in {"real", "uncertain", "fake"} and answer.path == "b.jpg"
        assert client.breaker.state is BreakerState.CLOSED
    finally:
        await client.close()
