"""HTTP plumbing of the ingress: capped body reading, upload extraction, status mapping.

Why a capped *stream*: a 5 GB upload must cost us 50 MB of reading, not 5 GB of memory, so
the cap is checked on every chunk as it arrives (and on Content-Length before reading at all).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote

from starlette.datastructures import UploadFile
from starlette.requests import Request

from serving.app.constants import (
    BAD_REQUEST,
    MAX_FILENAME_CHARS,
    MULTIPART_OVERHEAD_BYTES,
    STATUS_FOR_ERROR,
    UPLOAD_FIELD,
)
from serving.contract import CheckResult, ErrorCode, Verdict


class BodyTooLarge(Exception):
    """The request body went over the cap (``read`` is how far we got before stopping)."""

    def __init__(self, cap: int, read: int) -> None:
        super().__init__(f"upload is larger than the {cap}-byte limit (stopped reading at {read} bytes)")
        self.cap = cap
        self.read = read


class BadRequest(Exception):
    """The request is malformed (not the media): 400."""


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


def body_cap(request: Request, max_file_bytes: int) -> int:
    """Bytes we accept on the wire: the file cap, plus framing room for multipart."""
    return max_file_bytes + (MULTIPART_OVERHEAD_BYTES if _is_multipart(request) else 0)


async def read_capped_body(request: Request, cap: int) -> bytes:
    """The whole body, or ``BodyTooLarge`` as soon as more than ``cap`` bytes arrived."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > cap:
                raise BodyTooLarge(cap, 0)
        except ValueError as exc:
            raise BadRequest("Content-Length is not a number") from exc
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > cap:
            raise BodyTooLarge(cap, len(buf))
    return bytes(buf)


def clean_filename(name: str | None) -> str | None:
    """The base name only, printable and short (it is echoed back as ``path``)."""
    if not name:
        return None
    # Some clients (aiohttp) percent-encode the name: decode first, then strip any directories.
    base = os.path.basename(unquote(name).replace("\\", "/")).strip()
    base = "".join(ch for ch in base if ch.isprintable())
    return base[:MAX_FILENAME_CHARS] or None


async def extract_upload(request: Request, body: bytes) -> tuple[bytes, str | None]:
    """(file bytes, file name) from a multipart body (field ``file``) or a raw body."""
    if not _is_multipart(request):
        return body, clean_filename(request.query_params.get("filename"))

    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, receive=replay).form(max_files=1, max_fields=16)
    except Exception as exc:  # malformed multipart: python-multipart / starlette errors
        raise BadRequest(f"malformed multipart body: {exc}") from exc
    try:
        upload = form.get(UPLOAD_FIELD)
        if upload is None:
            raise BadRequest(f"multipart body has no {UPLOAD_FIELD!r} field")
        if isinstance(upload, UploadFile):
            return await upload.read(), clean_filename(upload.filename)
        return str(upload).encode(), None
    finally:
        await form.close()


def status_for(result: CheckResult) -> int:
    """200 for any verdict, the documented 4xx for ``invalid`` ones."""
    if result.verdict != Verdict.INVALID or result.error is None:
        return 200
    return STATUS_FOR_ERROR.get(result.error.code, 422)


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def too_large_result(path: str | None, exc: BodyTooLarge) -> CheckResult:
    return CheckResult.invalid(path, ErrorCode.TOO_LARGE, str(exc))


def bad_request_body(exc: BadRequest) -> dict[str, Any]:
    return error_body(BAD_REQUEST, str(exc))
