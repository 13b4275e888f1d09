"""The real application over HTTP: images, videos, batching, every error status, OpenAPI."""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path

import aiohttp
import pytest

from serving.contract import CheckResult
from tests.serving_app.conftest import SMALL_CAP_BYTES, ServeApp

pytestmark = pytest.mark.slow

VERDICTS = {"real", "uncertain", "fake", "no_face"}


async def post_check(
    session: aiohttp.ClientSession, url: str, data: bytes, *, filename: str | None = None, annotate: bool = False
) -> tuple[int, dict, aiohttp.typedefs.LooseHeaders]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename or "upload.bin", content_type="application/octet-stream")
    params = {"annotate": "true"} if annotate else {}
    async with session.post(url + "/v1/check", data=form, params=params) as resp:
        return resp.status, await resp.json(), resp.headers


async def test_image_check_returns_the_scan_json(serve_app: ServeApp, face_image: Path) -> None:
    async with aiohttp.ClientSession() as s:
        status, body, headers = await post_check(
            s, serve_app.url, face_image.read_bytes(), filename="dir/../" + face_image.name, annotate=True
        )
    assert status == 200, body
    assert body["verdict"] in {"real", "uncertain", "fake"}
    assert body["kind"] == "image" and body["path"] == face_image.name
    assert 0.0 <= body["fake_probability"] <= 1.0
    assert body["faces"] and len(body["faces"][0]["box"]) == 4
    assert body["model"]["name"] == "tiny-test-image" and body["model"]["trained"] is False
    assert "tiny-test-image@untrained" in headers["X-Fakewatch-Models"]
    jpeg = base64.b64decode(body["annotated_jpeg_base64"])
    assert jpeg[:3] == b"\xff\xd8\xff"
    assert body["error"] is None and body["timings_ms"]["total"] > 0


async def test_raw_body_works_too(serve_app: ServeApp, face_image: Path) -> None:
    async with (
        aiohttp.ClientSession() as s,
        s.post(serve_app.url + "/v1/check", data=face_image.read_bytes(), params={"filename": "raw.jpg"}) as resp,
    ):
        body = await resp.json()
    assert resp.status == 200 and body["path"] == "raw.jpg" and body["annotated_jpeg_base64"] is None


async def test_video_check(serve_app: ServeApp, shared_videos: dict[str, Path]) -> None:
    clip = shared_videos["ffpp_cyshih704_fake"]
    async with aiohttp.ClientSession() as s:
        status, body, _ = await post_check(s, serve_app.url, clip.read_bytes(), filename=clip.name)
    assert status == 200, body
    assert body["kind"] == "video" and body["verdict"] in VERDICTS
    assert body["frames_sampled"] == 4
    if body["verdict"] != "no_face":
        assert body["timeline"] and body["faces"]


async def test_sixteen_concurrent_checks_form_batches(serve_app: ServeApp, shared_data: Path, face_image: Path) -> None:
    photos = [face_image] + sorted((shared_data / "faces" / "stylegan" / "fake").glob("*.jpg"))[:15]
    async with aiohttp.ClientSession() as s:
        async with s.get(serve_app.url + "/v1/stats") as resp:
            before = (await resp.json())["image_model"]["batch_sizes"]
        answers = await asyncio.gather(*(post_check(s, serve_app.url, p.read_bytes()) for p in photos))
        async with s.get(serve_app.url + "/v1/stats") as resp:
            after = (await resp.json())["image_model"]["batch_sizes"]
    assert [status for status, _, _ in answers] == [200] * 16
    assert all(body["verdict"] in VERDICTS for _, body, _ in answers)
    new = {int(k): v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0) > 0}
    assert new, "no image batch ran"
    assert max(new) > 1, f"every batch had one request: {new}"


async def test_health_models_openapi_and_page(serve_app: ServeApp) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.get(serve_app.url + "/v1/health") as resp:
            health = await resp.json()
            assert resp.status == 200 and health["status"] == "ok"
        async with s.get(serve_app.url + "/v1/models") as resp:
            models = await resp.json()
        async with s.get(serve_app.url + "/openapi.json") as resp:
            spec = await resp.json()
        async with s.get(serve_app.url + "/") as resp:
            page = await resp.text()
            assert resp.headers["Content-Type"].startswith("text/html")
        async with s.get(serve_app.url + "/static/app.js") as resp:
            assert resp.status == 200 and "v1/check" in await resp.text()
        async with s.get(serve_app.url + "/static/../../etc/passwd") as resp:
            assert resp.status == 404
    assert set(health["deployments"]) == {"prep", "image", "video"}
    assert models["image"]["name"] == "tiny-test-image" and models["video"]["task"] == "video"
    assert {m["task"] for m in models["models"]} == {"image", "video"}
    assert {"/v1/check", "/v1/health", "/v1/models"} <= set(spec["paths"])
    check = spec["paths"]["/v1/check"]["post"]
    assert {"200", "413", "415", "422", "503", "504"} <= set(check["responses"])
    # The served schema is the contract itself: every field of CheckResult, nothing hand-written.
    ok = check["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(spec["components"]["schemas"][ok]["properties"]) == set(CheckResult.model_fields)
    assert "multipart/form-data" in check["requestBody"]["content"]
    assert 'id="file"' in page and "http" not in page.split("<body>")[1].split("</body>")[0].replace("https://", "")


# -- errors ---------------------------------------------------------------------------------
async def test_415_for_a_text_file(serve_app: ServeApp) -> None:
    async with aiohttp.ClientSession() as s:
        status, body, _ = await post_check(s, serve_app.url, b"just some words\n" * 20, filename="notes.txt")
    assert status == 415 and body["verdict"] == "invalid" and body["error"]["code"] == "unsupported"


async def test_415_for_an_empty_upload(serve_app: ServeApp) -> None:
    async with aiohttp.ClientSession() as s, s.post(serve_app.url + "/v1/check", data=b"") as resp:
        body = await resp.json()
    assert resp.status == 415 and body["error"]["code"] == "empty"


async def test_422_for_a_truncated_mp4(serve_app: ServeApp, shared_videos: dict[str, Path]) -> None:
    data = shared_videos["ffpp_cyshih704_real"].read_bytes()
    async with aiohttp.ClientSession() as s:
        status, body, _ = await post_check(s, serve_app.url, data[: len(data) // 3], filename="cut.mp4")
    assert status == 422, body
    assert body["verdict"] == "invalid" and body["error"]["code"] in {"corrupt", "timeout"}


async def test_400_for_multipart_without_file(serve_app: ServeApp) -> None:
    form = aiohttp.FormData()
    form.add_field("photo", b"\xff\xd8\xff", filename="x.jpg")  # a file, but not in field `file`
    async with aiohttp.ClientSession() as s, s.post(serve_app.url + "/v1/check", data=form) as resp:
        body = await resp.json()
    assert resp.status == 400 and body["error"]["code"] == "bad_request"


async def test_413_over_the_lowered_cap(serve_app: ServeApp) -> None:
    async with aiohttp.ClientSession() as s:
        status, body, _ = await post_check(s, serve_app.url + "/small", b"\xff\xd8\xff" + b"0" * 2 * SMALL_CAP_BYTES)
    assert status == 413 and body["verdict"] == "invalid" and body["error"]["code"] == "too_large"


async def test_413_stops_reading_an_endless_chunked_upload(serve_app: ServeApp) -> None:
    """No Content-Length and a body that never ends: only a cap applied while reading answers."""
    sent = 0

    async def endless():
        nonlocal sent
        chunk = b"\0" * 16384
        while True:
            sent += len(chunk)
            yield chunk
            await asyncio.sleep(0.001)

    async with aiohttp.ClientSession() as s:
        start = time.monotonic()
        async with s.post(
            serve_app.url + "/small/v1/check", data=endless(), timeout=aiohttp.ClientTimeout(total=30)
        ) as resp:
            body = await resp.json()
    assert resp.status == 413 and body["error"]["code"] == "too_large"
    assert time.monotonic() - start < 30
    assert "stopped reading" in body["error"]["message"]


async def test_503_with_retry_after_when_overloaded(serve_app: ServeApp, face_image: Path) -> None:
    # `small` allows one check in flight: six at once must push back, none may hang or vanish.
    photo = face_image.read_bytes()
    assert len(photo) < SMALL_CAP_BYTES
    async with aiohttp.ClientSession() as s:
        answers = await asyncio.gather(*(post_check(s, serve_app.url + "/small", photo) for _ in range(6)))
    statuses = [a[0] for a in answers]
    overloaded = [a for a in answers if a[0] == 503]
    assert overloaded and 200 in statuses, statuses
    assert set(statuses) == {200, 503}
    assert all(a[1]["error"]["code"] == "overloaded" and a[2]["Retry-After"] == "3" for a in overloaded)


async def test_504_when_the_check_outlives_the_request_timeout(
    serve_app: ServeApp, shared_videos: dict[str, Path]
) -> None:
    clip = shared_videos["dfdc_lynaeydofd"].read_bytes()
    async with aiohttp.ClientSession() as s:
        status, body, _ = await post_check(s, serve_app.url + "/hasty", clip)
        # The main app (same model replicas) still works afterwards.
        async with s.get(serve_app.url + "/v1/health") as resp:
            assert resp.status == 200
    assert status == 504 and body["error"]["code"] == "request_timeout"


async def test_image_answered_while_the_models_are_busy_with_a_long_video(
    serve_app: ServeApp, shared_videos: dict[str, Path], face_image: Path
) -> None:
    clip = shared_videos["dfdc_widuwuoiur"].read_bytes()  # 1080p, 10 s
    async with aiohttp.ClientSession() as s:
        done: dict[str, float] = {}

        async def timed(name: str, coro):
            out = await coro
            done[name] = time.monotonic()
            return out

        video = asyncio.create_task(timed("video", post_check(s, serve_app.url, clip)))
        await asyncio.sleep(0.3)
        image = await timed("image", post_check(s, serve_app.url, face_image.read_bytes()))
        video_answer = await video
    assert image[0] == 200 and image[1]["kind"] == "image"
    assert video_answer[0] == 200 and video_answer[1]["kind"] == "video"
    assert done["image"] < done["video"], "the photo waited for the whole video"
