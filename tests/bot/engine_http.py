"""A small aiohttp stand-in for the serving app that runs the REAL engine in process.

Why: the bot's end-to-end tests need the documented ``POST /v1/check`` HTTP contract with real
models and real media, and they must also switch the service off and on, make it slow, and
count inferences — cheaply, on a shared 2-core machine, without a Ray cluster per test.
It implements the contract from DEVELOPERS.md by calling ``serving.engine.Engine`` (decode,
faces, models, Grad-CAM annotation); status codes follow the contract (200 / 413 / 415 / 422).
The real Ray Serve app is covered by tests/serving_app.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Callable
from typing import Any

from aiohttp import web

from serving.contract import CheckResult

#: DEVELOPERS.md: invalid media answers with the CheckResult JSON and these statuses.
STATUS_FOR_ERROR = {
    "too_large": 413,
    "too_long": 413,
    "unsupported": 415,
    "empty": 415,
    "corrupt": 422,
    "timeout": 422,
}

CheckFn = Callable[[bytes, "str | None", bool], "tuple[CheckResult, bytes | None]"]


def engine_check_fn(engine: Any) -> CheckFn:
    """``Engine.check`` for the verdict; ``prepare`` + ``annotate`` for the JPEG when asked."""

    def check(data: bytes, filename: str | None, annotate: bool) -> tuple[CheckResult, bytes | None]:
        result = engine.check(data, filename)
        jpeg = None
        if annotate and str(result.verdict) in ("fake", "uncertain"):
            prepared = engine.prepare(data, filename, with_views=True)
            if not isinstance(prepared, CheckResult):
                jpeg = engine.annotate(prepared, result)
        return result, jpeg

    return check


def engine_models(engine: Any) -> dict[str, Any]:
    models = []
    for task in ("image", "video"):
        card = getattr(engine, f"{task}_card", None)
        if card is not None:
            models.append({"task": task, "name": card.name, "version": card.version,
                           "trained": getattr(card, "trained", None)})  # fmt: skip
    return {"models": models}


class EngineHTTP:
    """The stand-in server. ``await stop()`` makes the service unreachable, ``start()`` revives it
    on the same port; ``hold()`` makes checks wait until ``release()``; ``calls`` counts checks."""

    def __init__(self, check_fn: CheckFn, *, models: dict[str, Any] | None = None) -> None:
        self.check_fn = check_fn
        self.models = models or {"models": []}
        self.calls = 0
        self.started_checks = asyncio.Event()
        self._gate: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self._lock = asyncio.Lock()  # one inference at a time: the machine has 2 cores

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> EngineHTTP:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/check", self._check)
        app.router.add_get("/v1/health", self._health)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port or 0, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def hold(self) -> None:
        self._gate = asyncio.Event()

    def release(self) -> None:
        if self._gate is not None:
            self._gate.set()
        self._gate = None

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(self.models)

    async def _check(self, request: web.Request) -> web.Response:
        filename = None
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            field = form.get("file")
            if field is None:
                return web.json_response({"error": {"code": "bad_request", "message": "no file"}}, status=400)
            if isinstance(field, web.FileField):
                data, filename = field.file.read(), field.filename
            else:
                data = str(field).encode()
        else:
            data = await request.read()
        annotate = request.query.get("annotate", "false").lower() == "true"
        self.calls += 1
        self.started_checks.set()
        if self._gate is not None:
            await self._gate.wait()
        async with self._lock:
            result, jpeg = await asyncio.to_thread(self.check_fn, data, filename, annotate)
        body = result.to_json()
        if jpeg is not None:
            body["annotated_jpeg_base64"] = base64.b64encode(jpeg).decode("ascii")
        status = 200
        if str(result.verdict) == "invalid" and result.error is not None:
            status = STATUS_FOR_ERROR.get(result.error.code, 422)
        return web.json_response(body, status=status)


@contextlib.asynccontextmanager
async def serving_stand_in(check_fn: CheckFn, models: dict[str, Any] | None = None):
    server = await EngineHTTP(check_fn, models=models).start()
    try:
        yield server
    finally:
        server.release()
        await server.stop()
