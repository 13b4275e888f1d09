"""The HTTP face of the application: FastAPI routes behind ``@serve.ingress``.

The ingress does only HTTP work (capped reading, status codes, back-pressure, deadlines); the
check itself runs in MediaPrep. Overload is answered *here*, with the JSON error and
``Retry-After`` the client understands, before any work is queued.
"""

import asyncio
import base64
import logging
import time
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPBearer
from ray import serve
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError
from ray.serve.handle import DeploymentHandle

from fakewatch import __version__
from serving.app.access import Access, Admitted, Denied
from serving.app.constants import (
    API_TITLE,
    API_VERSION,
    INGRESS,
    INTERNAL,
    OVERLOADED,
    REQUEST_TIMEOUT,
    STATIC_FILES,
    UNAVAILABLE,
)
from serving.app.http import (
    BadRequest,
    BodyTooLarge,
    bad_request_body,
    body_cap,
    error_body,
    extract_upload,
    read_capped_body,
    status_for,
    too_large_result,
)
from serving.contract import ApiError, CheckResult, ErrorCode, ModelsAnswer

logger = logging.getLogger("fakewatch.serving")

HEALTH_TIMEOUT_S = 10.0


_INVALID = {"model": CheckResult, "description": "verdict `invalid`, error.code says why"}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
_ACCESS_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ApiError,
        "description": "`unauthorized`: no API key where one is required, "
        "or a malformed, unknown or revoked one (`Authorization: Bearer <key>` or `X-API-Key`)",
    },
    429: {
        "model": ApiError,
        "headers": _RETRY_AFTER,
        "description": "`rate_limited`: this key (or, "
        "without a key, this client address) is over its requests per minute or bytes per hour",
    },
}
_CHECK_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ApiError, "description": "malformed request (e.g. multipart without `file`)"},
    **_ACCESS_RESPONSES,
    413: {**_INVALID, "description": "too_large / too_long (size cap enforced while reading)"},
    415: {**_INVALID, "description": "unsupported / empty: not an image or video"},
    422: {**_INVALID, "description": "corrupt / timeout: looks like media, cannot be decoded"},
    503: {
        "model": ApiError,
        "headers": _RETRY_AFTER,
        "description": "`overloaded` or `unavailable` (not ready, or API keys cannot be checked)",
    },
    504: {"model": ApiError, "description": "the check did not finish within the request timeout"},
}
_CHECK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}

api = FastAPI(
    title=API_TITLE,
    version=API_VERSION,
    description="Deepfake checks for images and videos (fakewatch).",
    docs_url=None,  # Swagger/Redoc pages pull assets from CDNs; the page must work offline
    redoc_url=None,
)


# Declared for the OpenAPI document (security schemes); the ingress reads the headers itself.
_bearer = HTTPBearer(auto_error=False, description="an API key from `fakewatch ops keys create`")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the same key, another header")
_KEY_PARAMS = [Depends(_bearer), Depends(_api_key_header)]


def _declared_length(request: Request) -> int | None:
    try:
        return int(request.headers["content-length"])
    except (KeyError, ValueError):
        return None  # chunked, or garbage that read_capped_body answers with 400


def denied_response(denied: Denied) -> JSONResponse:
    headers = {}
    if denied.retry_after_s is not None:
        headers["Retry-After"] = str(denied.retry_after_s)
    if denied.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="fakewatch"'
    return JSONResponse(error_body(denied.code, denied.message), status_code=denied.status, headers=headers)


def _static(name: str) -> str:
    return resources.files("serving.app").joinpath("static", name).read_text(encoding="utf-8")


class Front:
    """Plain logic of the ingress (held by the deployment; handles injected)."""

    def __init__(
        self,
        prep: DeploymentHandle,
        image: DeploymentHandle,
        video: DeploymentHandle,
        *,
        max_file_bytes: int,
        request_timeout_s: float,
        max_in_flight: int,
        retry_after_s: int,
        access: Access | None = None,
    ) -> None:
        self.prep = prep
        # None: no keys and no limits (what "auto" means on a loopback-only bind)
        self.access = access or Access("open", None, public_requests_per_minute=1, public_bytes_per_hour=1)
        self.image = image
        self.video = video
        self.max_file_bytes = max_file_bytes
        self.request_timeout_s = request_timeout_s
        self.max_in_flight = max_in_flight
        self.retry_after_s = retry_after_s
        self.in_flight = 0
        self.counters = {"checks": 0, "overloaded": 0, "timeouts": 0, "too_large": 0, "errors": 0}
        self._models: dict[str, Any] | None = None
        self._page = {"index.html": _static("index.html"), **{n: _static(n) for n in STATIC_FILES}}

    # -- helpers ------------------------------------------------------------------------------
    def _overloaded(self, why: str) -> JSONResponse:
        self.counters["overloaded"] += 1
        return JSONResponse(
            error_body(OVERLOADED, why), status_code=503, headers={"Retry-After": str(self.retry_after_s)}
        )

    async def models(self) -> dict[str, Any]:
        if self._models is None:
            image, video = await asyncio.gather(self.image.card.remote(), self.video.card.remote())
            self._models = {
                "image": image,
                "video": video,
                "models": [
                    {"task": t, "name": c.get("name"), "version": c.get("version"), "trained": c.get("trained")}
                    for t, c in (("image", image), ("video", video))
                ],
            }
        return self._models

    async def _model_header(self) -> dict[str, str]:
        try:
            models = await asyncio.wait_for(self.models(), HEALTH_TIMEOUT_S)
        except Exception:
            return {}
        return {"X-Fakewatch-Models": ", ".join(f"{m['task']}={m['name']}@{m['version']}" for m in models["models"])}

    # -- routes -------------------------------------------------------------------------------
    async def check(self, request: Request, annotate: bool) -> Response:
        # Key and per-client limits first, from the headers alone: a refused client costs a
        # dictionary lookup and never takes an in-flight slot from the others.
        declared = _declared_length(request)
        if declared is not None:  # never charge more than we would read (over it is a 413)
            declared = min(declared, body_cap(request, self.max_file_bytes) + 1)
        admitted = self.access.admit(request, declared)
        if isinstance(admitted, Denied):
            return denied_response(admitted)
        if self.in_flight >= self.max_in_flight:
            return self._overloaded(f"{self.in_flight} checks in flight (limit {self.max_in_flight})")
        self.in_flight += 1
        self.counters["checks"] += 1
        start = time.perf_counter()
        try:
            return await asyncio.wait_for(
                self._check(request, annotate, start, admitted, declared), self.request_timeout_s
            )
        except TimeoutError:
            self.counters["timeouts"] += 1
            return JSONResponse(
                error_body(REQUEST_TIMEOUT, f"the check took longer than {self.request_timeout_s:g}s"),
                status_code=504,
            )
        finally:
            self.in_flight -= 1

    async def _check(
        self, request: Request, annotate: bool, start: float, admitted: Admitted, declared: int | None
    ) -> Response:
        headers = await self._model_header()
        try:
            body = await read_capped_body(request, body_cap(request, self.max_file_bytes))
            self.access.settle(admitted, declared, len(body))
            data, filename = await extract_upload(request, body)
        except BodyTooLarge as exc:
            self.access.settle(admitted, declared, exc.read)
            self.counters["too_large"] += 1
            return JSONResponse(too_large_result(None, exc).to_json(), status_code=413, headers=headers)
        except BadRequest as exc:
            return JSONResponse(bad_request_body(exc), status_code=400, headers=headers)
        if len(data) > self.max_file_bytes:
            self.counters["too_large"] += 1
            over = BodyTooLarge(self.max_file_bytes, len(data))
            return JSONResponse(too_large_result(filename, over).to_json(), status_code=413, headers=headers)
        if not data:
            result = CheckResult.invalid(filename, ErrorCode.EMPTY, "the upload is empty")
            return JSONResponse(result.to_json(), status_code=415, headers=headers)

        response = self.prep.check.remote(data, filename, annotate)
        try:
            result, jpeg = await response
        except asyncio.CancelledError:
            response.cancel()  # our deadline passed: stop the work downstream too
            raise
        except BackPressureError:
            return self._overloaded("the models' queues are full")
        except DeploymentUnavailableError as exc:
            return JSONResponse(
                error_body(UNAVAILABLE, str(exc)),
                status_code=503,
                headers={"Retry-After": str(self.retry_after_s), **headers},
            )
        except Exception as exc:
            if isinstance(exc, BackPressureError):
                return self._overloaded("the models' queues are full")
            self.counters["errors"] += 1
            logger.exception("check failed")
            return JSONResponse(error_body(INTERNAL, f"{type(exc).__name__}: {exc}"), status_code=500)

        result.timings_ms = {**result.timings_ms, "request": (time.perf_counter() - start) * 1000}
        if jpeg is not None:
            result.annotated_jpeg_base64 = base64.b64encode(jpeg).decode("ascii")
        return JSONResponse(result.to_json(), status_code=status_for(result), headers=headers)

    async def health(self) -> JSONResponse:
        names = ("prep", "image", "video")
        calls = [self.prep.ping.remote(), self.image.ping.remote(), self.video.ping.remote()]
        results = await asyncio.gather(
            *(asyncio.wait_for(_awaitable(c), HEALTH_TIMEOUT_S) for c in calls), return_exceptions=True
        )
        deployments: dict[str, Any] = {}
        ok = True
        for name, res in zip(names, results):
            if isinstance(res, BaseException):
                ok = False
                deployments[name] = {"ok": False, "error": f"{type(res).__name__}: {res}"}
            else:
                deployments[name] = {"ok": True, **res}
        body = {
            "status": "ok" if ok else "unavailable",
            "version": __version__,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "deployments": deployments,
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    def operator_access(self, request: Request) -> Denied | None:
        """Stats are for operators: a valid key where keys are required (not rate-limited)."""
        record = self.access.authenticate(request)
        if isinstance(record, Denied):
            return record
        return self.access.anonymous_allowed(request) if record is None else None

    async def stats(self) -> dict[str, Any]:
        image, video = await asyncio.gather(self.image.stats.remote(), self.video.stats.remote())
        return {
            "ingress": {
                "in_flight": self.in_flight,
                **self.counters,
                **self.access.counters,
                "access": self.access.mode,
            },
            "image_model": image,
            "video_model": video,
        }

    def page(self, name: str) -> Response:
        if name == "index.html":
            return HTMLResponse(self._page[name])
        if name not in STATIC_FILES:
            return JSONResponse(error_body("not_found", f"no static file {name!r}"), status_code=404)
        return Response(self._page[name], media_type=STATIC_FILES[name])


async def _awaitable(response: Any) -> Any:
    return await response


@serve.deployment(name=INGRESS)
@serve.ingress(api)
class Ingress:
    """Routes only; see ``Front`` for what they do (and the limits it takes)."""

    def __init__(
        self,
        prep: DeploymentHandle,
        image: DeploymentHandle,
        video: DeploymentHandle,
        access: dict[str, Any] | None = None,
        **limits: Any,
    ) -> None:
        self.front = Front(prep, image, video, access=Access(**access) if access else None, **limits)
        logger.info("API access: %s (%d keys)", self.front.access.mode, len(self.front.access.keys))

    @api.post(
        "/v1/check",
        response_model=CheckResult,
        responses=_CHECK_RESPONSES,
        openapi_extra=_CHECK_BODY,
        summary="Check an image or video",
        dependencies=_KEY_PARAMS,
    )
    async def check(
        self,
        request: Request,
        annotate: bool = Query(False, description="add annotated_jpeg_base64 (boxes + heat map)"),
        filename: str | None = Query(None, description="name echoed as `path` for a raw body"),
    ) -> Response:
        return await self.front.check(request, annotate)

    @api.get("/v1/health", summary="Are all deployments up?")
    async def health(self) -> JSONResponse:
        return await self.front.health()

    @api.get("/v1/models", response_model=ModelsAnswer, summary="Model names, versions and cards")
    async def models(self) -> dict[str, Any]:
        return await self.front.models()

    @api.get(
        "/v1/stats",
        summary="Batch sizes the model replicas formed, ingress counters",
        responses={401: _ACCESS_RESPONSES[401]},
        dependencies=_KEY_PARAMS,
    )
    async def stats(self, request: Request) -> Any:
        denied = self.front.operator_access(request)
        if denied is not None:
            return denied_response(denied)
        return await self.front.stats()

    @api.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index(self) -> Response:
        return self.front.page("index.html")

    @api.get("/static/{name}", include_in_schema=False)
    async def static(self, name: str) -> Response:
        return self.front.page(name)
