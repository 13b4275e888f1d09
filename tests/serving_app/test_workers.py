"""The plain classes behind the deployments, with the real engine and tiny checkpoints (no Ray)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from fakewatch.settings import Settings
from serving.app.http import clean_filename, status_for
from serving.app.workers import BatchStats, CheckFlow, ImageWorker, VideoWorker
from serving.contract import CheckResult, ErrorCode, Verdict
from tests.serving_app.conftest import write_tiny_checkpoints


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):
    from serving.engine import Engine

    image_dir, video_dir = write_tiny_checkpoints(tmp_path_factory.mktemp("ckpt"))
    return Engine(Settings(image_model=image_dir, video_model=video_dir, frames_per_video=4, device="cpu"))


def test_batch_stats_histogram() -> None:
    stats = BatchStats()
    stats.record(3, 7, 0.5)
    stats.record(1, 1, 0.1)
    stats.record(3, 3, 0.2)
    snap = stats.snapshot()
    assert snap["batches"] == 3 and snap["requests"] == 7 and snap["items"] == 11
    assert snap["batch_sizes"] == {"1": 1, "3": 2} and snap["max_batch_requests"] == 3


def test_image_worker_splits_scores_back_per_request(engine) -> None:
    worker = ImageWorker(engine, max_items_per_forward=3)
    rng = np.random.default_rng(0)
    sets = [rng.integers(0, 255, (n, 64, 64, 3), dtype=np.uint8) for n in (2, 0, 5)]
    out = worker.score_many(sets)
    assert [len(o) for o in out] == [2, 0, 5]
    # Same crops scored alone give the same probabilities: batching does not mix requests up.
    alone = np.asarray(engine.score_images(sets[2]))
    np.testing.assert_allclose(out[2], alone, rtol=1e-4, atol=1e-5)
    assert worker.stats.snapshot()["batch_sizes"] == {"3": 1}
    worker.health()


def test_video_worker_splits_tracks_per_request(engine) -> None:
    worker = VideoWorker(engine, max_items_per_forward=2)
    seq = np.zeros((3, 64, 64, 3), np.uint8)
    out = worker.score_many([[seq], [seq, seq, seq]])
    assert [len(o) for o in out] == [1, 3]
    assert all(0.0 <= p <= 1.0 and len(frames) == 3 for p, frames in out[1])
    worker.health()


async def test_check_flow_end_to_end_in_process(engine, shared_data: Path, shared_videos) -> None:
    image_worker, video_worker = ImageWorker(engine), VideoWorker(engine)

    async def score_images(crops):
        return image_worker.score_many([crops])[0]

    async def score_tracks(tracks):
        return video_worker.score_many([tracks])[0]

    async def annotate(prepared, result):
        return image_worker.annotate(prepared, result)

    flow = CheckFlow(engine, score_images=score_images, score_tracks=score_tracks, annotate=annotate)
    try:
        clip = shared_videos["ffpp_cyshih704_real"]
        result, jpeg = await flow.check(clip.read_bytes(), clip.name, annotate=True)
        assert result.kind.value == "video" and result.frames_sampled == 4
        assert "models" in result.timings_ms
        if result.verdict is not Verdict.NO_FACE:
            assert jpeg is not None and jpeg[:2] == b"\xff\xd8"
        bad, none = await flow.check(b"plain text", "x.txt", annotate=True)
        assert bad.verdict is Verdict.INVALID and none is None
        # Several checks at once share the flow without mixing results up.
        photos = sorted((shared_data / "faces" / "stylegan" / "real").glob("*.jpg"))[:4]
        results = await asyncio.gather(*(flow.check(p.read_bytes(), p.name) for p in photos))
        assert [r.path for r, _ in results] == [p.name for p in photos]
    finally:
        flow.close()


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a.jpg", "a.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\y.png", "y.png"),
        ("dir%2F..%2Fz.jpg", "z.jpg"),
        ("", None),
        (None, None),
        ("x" * 300, "x" * 200),
        ("a\x00b\n.jpg", "ab.jpg"),
    ],
)
def test_clean_filename(raw, clean) -> None:
    assert clean_filename(raw) == clean


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (ErrorCode.TOO_LARGE, 413),
        (ErrorCode.TOO_LONG, 413),
        (ErrorCode.UNSUPPORTED, 415),
        (ErrorCode.EMPTY, 415),
        (ErrorCode.CORRUPT, 422),
        (ErrorCode.TIMEOUT, 422),
        (ErrorCode.INTERNAL, 500),
    ],
)
def test_status_for_invalid_results(code, status) -> None:
    assert status_for(CheckResult.invalid(None, code, "m")) == status


def test_status_for_verdicts() -> None:
    for verdict in (Verdict.REAL, Verdict.FAKE, Verdict.UNCERTAIN, Verdict.NO_FACE):
        assert status_for(CheckResult(path=None, kind=None, verdict=verdict, fake_probability=None)) == 200
