"""The bot against the REAL Ray Serve app (``fakewatch serve`` in a subprocess, tiny models).

Slow (Ray starts in ~half a minute on this machine), so it is one module with one app for all
its tests. A subprocess keeps this Ray cluster apart from tests/serving_app's in-process one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from _bot_harness import ALICE, ALICE_CHAT, FAST, Harness, text_of
from _serve_process import ServeProcess, tiny_checkpoints
from engine_http import EngineHTTP
from fake_telegram import FakeTelegram

import db

pytestmark = pytest.mark.slow

IMAGE_VERSION, VIDEO_VERSION, OLD_VERSION = "2.0.0", "1.1.0", "1.0.0"


@pytest.fixture(scope="module")
def serve_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("serve-ckpt")
    # Versions with a lineage inside the cards, as the shipped cards have (initialised_from).
    image, video = tiny_checkpoints(root, image_version=IMAGE_VERSION, video_version=VIDEO_VERSION,
                                    image_training={"data": {"initialised_from": {"version": OLD_VERSION}}})  # fmt: skip
    server = ServeProcess(root, image, video)
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield server.url
    finally:
        server.stop()  # SIGINT: serve_main shuts Serve and its local Ray down


@pytest.fixture
async def serve_harness(telegram: FakeTelegram, db_url: str, serve_url: str) -> AsyncIterator[Harness]:
    engine = db.create_engine(db_url)
    stand_in = EngineHTTP(lambda *a: (_ for _ in ()).throw(AssertionError("not used")))
    stand_in.port = int(serve_url.rsplit(":", 1)[1])  # the harness only needs .url
    try:
        yield Harness(telegram, stand_in, db_url, db.session_factory(engine), FAST)
    finally:
        await engine.dispose()


async def test_real_serve_app_video_photo_and_text_file(
    serve_harness: Harness, small_video: bytes, face_photo: bytes
) -> None:
    h = serve_harness
    async with h.bot():
        _, video = h.send_media(ALICE_CHAT, ALICE, small_video, "video",
                                forward_origin={"type": "hidden_user", "sender_user_name": "X", "date": 1})  # fmt: skip
        _, photo = h.send_media(ALICE_CHAT, ALICE, face_photo, "photo")
        _, text = h.send_media(ALICE_CHAT, ALICE, b"hello, not a video\n" * 40, "document",
                               document_extra={"file_name": "clip.mp4", "mime_type": "video/mp4"})  # fmt: skip
        video_answer = await h.reply_to(ALICE_CHAT["id"], video["message_id"], timeout=180)
        photo_answer = await h.reply_to(ALICE_CHAT["id"], photo["message_id"], timeout=120)
        text_answer = await h.reply_to(ALICE_CHAT["id"], text["message_id"], timeout=60)
        rows = await h.wait_checks(lambda r: len(r) == 3 and all(x.status == db.CheckStatus.DONE for x in r))
    for answer in (video_answer, photo_answer):
        assert "Chance of manipulation" in text_of(answer) or "No faces found" in text_of(answer)
    assert "not an image or video" in text_of(text_answer)
    by_kind = {r.media_kind: r for r in rows}
    assert by_kind["video"].model_version and "+" in by_kind["video"].model_version  # image+video
    assert rows[2].verdict == "invalid" and rows[2].error_code == "unsupported"
    assert all(r.result and r.result["annotated_jpeg_base64"] is None for r in rows)  # no media kept


async def test_version_cache_reuses_only_results_of_the_served_models(
    serve_harness: Harness, serve_url: str, face_photo: bytes
) -> None:
    """A stored result of a model in the lineage (retired) is not reused; one of the served is."""
    from serving.client import ServingClient

    async with ServingClient(serve_url) as client:
        answer = await client.models()
    assert answer.served_versions() == {IMAGE_VERSION, VIDEO_VERSION}
    assert OLD_VERSION in str(answer.image)  # the lineage is in the real answer, and ignored

    h = serve_harness
    stored = {"verdict": "fake", "fake_probability": 0.99, "faces": [], "kind": "image"}
    async with h.sessions() as s:
        for unique, version in (("U-retired", OLD_VERSION), ("U-current", IMAGE_VERSION)):
            row = await db.jobs.enqueue_check(s, source=db.Source.PRIVATE, file_unique_id=unique)
            await db.jobs.complete_check(
                s, row.id, db.Outcome(result=stored, verdict="fake", fake_probability=0.99, model_version=version)
            )
    async with h.bot():
        _, retired = h.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="U-retired")
        await h.reply_to(ALICE_CHAT["id"], retired["message_id"], timeout=120)
        _, current = h.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="U-current")
        reused = await h.reply_to(ALICE_CHAT["id"], current["message_id"], timeout=60)
        rows = await h.wait_checks(lambda r: len(r) == 4 and all(x.status == db.CheckStatus.DONE for x in r))
    checked_again, answered_from_store = rows[2], rows[3]
    assert checked_again.model_version == IMAGE_VERSION and checked_again.timings_ms != {"cached": 0.0}
    assert answered_from_store.timings_ms == {"cached": 0.0} and "99%" in text_of(reused)
