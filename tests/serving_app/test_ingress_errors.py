"""Front.check's mapping of downstream failures to JSON answers (stub handles: one function).

The real app covers 413/415/422/503(in-flight)/504 over HTTP; a model queue overflowing
(BackPressureError from a handle) or a bug downstream cannot be provoked cheaply there.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from ray.serve.exceptions import BackPressureError
from starlette.requests import Request

from serving.app.ingress import Front


class _Method:
    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome

    def remote(self, *args: Any) -> Any:
        async def run() -> Any:
            if isinstance(self.outcome, BaseException):
                raise self.outcome
            return self.outcome

        return _Response(run())


class _Response:
    def __init__(self, coro: Any) -> None:
        self._coro = coro

    def __await__(self):
        return self._coro.__await__()

    def cancel(self) -> None:
        pass


class _Handle:
    def __init__(self, **methods: Any) -> None:
        for name, outcome in methods.items():
            setattr(self, name, _Method(outcome))


def _request(body: bytes) -> Request:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/check",
        "query_string": b"",
        "headers": [(b"content-type", b"application/octet-stream")],
    }
    return Request(scope, receive)


def _front(prep_outcome: Any) -> Front:
    card = {"name": "m", "version": "1", "trained": False}
    models = _Handle(card=card)
    return Front(
        _Handle(check=prep_outcome),
        models,
        models,
        max_file_bytes=1000,
        request_timeout_s=5,
        max_in_flight=4,
        retry_after_s=7,
    )


async def test_model_queue_full_is_a_json_503_with_retry_after() -> None:
    front = _front(BackPressureError(num_queued_requests=10, max_queued_requests=10))
    resp = await front.check(_request(b"abc"), annotate=False)
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "7"
    assert json.loads(resp.body)["error"]["code"] == "overloaded"
    assert front.in_flight == 0


async def test_a_bug_downstream_is_a_json_500() -> None:
    front = _front(RuntimeError("boom"))
    resp = await front.check(_request(b"abc"), annotate=False)
    assert resp.status_code == 500
    assert json.loads(resp.body)["error"] == {"code": "internal", "message": "RuntimeError: boom"}
    assert front.counters["errors"] == 1 and front.in_flight == 0


@pytest.mark.parametrize("size", [1001, 5000])
async def test_over_the_cap_is_413_without_calling_prep(size: int) -> None:
    front = _front(AssertionError("prep must not be called"))
    resp = await front.check(_request(b"x" * size), annotate=False)
    body = json.loads(resp.body)
    assert resp.status_code == 413 and body["verdict"] == "invalid" and body["error"]["code"] == "too_large"
    assert resp.headers["X-Fakewatch-Models"] == "image=m@1, video=m@1"
