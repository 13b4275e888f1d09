"""The engine end to end on real media (tiny models for speed, and once the real fallback)."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest
from _media_factory import (
    claim_duration,
    gif_bomb,
    header_only,
    image_bytes,
    png_bomb,
    video_bytes,
)

from fakewatch.settings import Settings
from serving.contract import ErrorCode, MediaKind, Verdict
from serving.engine import Engine, Prepared, PreparedFace
from serving.faces import FaceBox
from serving.models import init_checkpoint, save_checkpoint


def tiny_checkpoints(*, image_trained: bool = False, video_trained: bool = False, fusion=None):
    image = init_checkpoint("image", architecture="tiny_cnn", input_size=64, name="tiny-image")
    video = init_checkpoint(
        "video",
        architecture="tiny_lstm",
        input_size=32,
        sequence_length=4,
        name="tiny-video",
        fusion=fusion or {},
    )
    image.card = image.card.model_copy(update={"trained": image_trained, "version": "i1"})
    video.card = video.card.model_copy(update={"trained": video_trained, "version": "v1"})
    return image, video


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    empty = tmp_path_factory.mktemp("no-checkpoints")
    return Settings(image_model=empty / "image", video_model=empty / "video", decode_timeout_s=10.0)


@pytest.fixture(scope="module")
def engine(settings) -> Engine:
    image, video = tiny_checkpoints()
    return Engine(settings, image_ckpt=image, video_ckpt=video, frames=8)


def test_real_dfdc_clip(engine, shared_videos):
    result = engine.check(shared_videos["dfdc_lynaeydofd"])
    out = json.loads(json.dumps(result.to_json()))
    assert out["kind"] == "video" and out["error"] is None
    assert out["verdict"] in {"real", "uncertain", "fake"}
    assert out["frames_sampled"] == 8
    assert 0.0 <= out["fake_probability"] <= 1.0
    assert len(out["tracks"]) == 1  # one person
    assert {f["track"] for f in out["faces"]} == {0}
    assert len(out["faces"]) >= 6 and all(f["frame"] is not None for f in out["faces"])
    times = [p["t"] for p in out["timeline"]]
    assert times == sorted(times) and times[0] >= 0.0 and times[-1] <= 10.1 and len(times) >= 6
    # The video's probability is its most suspicious track; the timeline tops at the moments.
    assert out["fake_probability"] == out["tracks"][0]["fake_probability"]
    moments = out["moments"]
    assert 1 <= len(moments) <= 3
    assert moments[0]["fake_probability"] == max(p["fake_probability"] for p in out["timeline"])
    assert out["model"] == {"name": "tiny-image+tiny-video", "version": "i1+v1", "trained": False}
    for stage in ("total", "decode", "detect", "crop", "infer_image", "infer_video", "assemble"):
        assert stage in out["timings_ms"]
    box = out["faces"][0]["box"]
    assert 0 <= box[0] < box[2] <= 1920 and 0 <= box[1] < box[3] <= 1080


def test_still_image_hog_misses_gets_the_fallback(settings, shared_data):
    """A DFDC fake face HOG finds no face in: judged via the MTCNN fallback, not called no_face."""
    image, video = tiny_checkpoints()
    path = shared_data / "faces" / "dfdc" / "fake" / "acbqitgkie.jpg"
    with_fallback = Engine(settings, image_ckpt=image, video_ckpt=video, frames=4)
    assert with_fallback.detector.name == "hog+mtcnn"
    assert with_fallback.video_detector.name == "hog+mtcnn(lost faces)"
    result = with_fallback.check(path)
    assert result.verdict in {Verdict.REAL, Verdict.UNCERTAIN, Verdict.FAKE} and len(result.faces) == 1
    plain = Engine(
        settings.model_copy(update={"image_fallback_detector": "none"}), image_ckpt=image, video_ckpt=video, frames=4
    )
    assert plain.check(path).verdict is Verdict.NO_FACE


def test_real_face_image(engine, shared_data):
    path = sorted((shared_data / "faces" / "stylegan" / "fake").glob("*.jpg"))[0]
    result = engine.check(path)
    assert result.kind is MediaKind.IMAGE and result.path == str(path)
    assert result.verdict in {Verdict.REAL, Verdict.UNCERTAIN, Verdict.FAKE}
    assert len(result.faces) == 1 and result.faces[0].frame is None
    assert result.fake_probability == max(f.fake_probability for f in result.faces)
    assert result.timeline == [] and result.frames_sampled is None
    assert result.model.name == "tiny-image"
    # The same bytes give the same answer.
    again = engine.check(path.read_bytes(), path="same.jpg")
    assert again.path == "same.jpg" and again.fake_probability == pytest.approx(result.fake_probability)


def test_untrained_fallback_end_to_end(settings, shared_videos, shared_data):
    """No checkpoint in the settings' directories: EfficientNet/ResNeXt untrained, and said so."""
    engine = Engine(settings, frames=4)
    photo = sorted((shared_data / "faces" / "dfdc" / "real").glob("*.jpg"))[3]
    result = engine.check(photo)
    assert result.verdict in {Verdict.REAL, Verdict.UNCERTAIN, Verdict.FAKE, Verdict.NO_FACE}
    assert result.model.trained is False and result.model.name == "efficientnet_lite0-imagenet"
    video = engine.check(shared_videos["ffpp_cyshih704_fake"])
    assert video.kind is MediaKind.VIDEO and video.verdict is not Verdict.INVALID
    assert video.model.trained is False
    assert video.model.name == "efficientnet_lite0-imagenet+resnext50_lstm-random"
    assert video.faces and video.fusion.startswith("weighted mean")


def test_checkpoint_directories_from_settings(tmp_path, shared_data):
    image, video = tiny_checkpoints(image_trained=True)
    save_checkpoint(image.model, image.card, tmp_path / "image")
    save_checkpoint(video.model, video.card, tmp_path / "video")
    engine = Engine(Settings(image_model=tmp_path / "image", video_model=tmp_path / "video"), frames=4)
    assert engine.image_card.trained and engine.image_card.version == "i1"
    path = sorted((shared_data / "faces" / "mesonet" / "real").glob("*.jpg"))[0]
    result = engine.check(path)
    assert result.model.trained is True and result.model.version == "i1"


# --- bad inputs: invalid or no_face, quickly, never an exception -------------------------------


def _bad_inputs(shared_videos, tmp_path):
    ffpp = shared_videos["ffpp_cyshih704_real"].read_bytes()
    text = tmp_path / "note.jpg"
    text.write_text("this is not a picture at all, just text " * 20)
    return [
        ("zero bytes", b"", ErrorCode.EMPTY),
        ("random bytes .mp4", (tmp_path / "r.mp4", os.urandom(100_000)), ErrorCode.UNSUPPORTED),
        ("text named .jpg", text, ErrorCode.UNSUPPORTED),
        ("truncated mp4", ffpp[: len(ffpp) // 2], ErrorCode.CORRUPT),
        ("mp4 header only", header_only(ffpp), ErrorCode.CORRUPT),
        ("png claims 100000x100000", png_bomb(), ErrorCode.TOO_LARGE),
        ("gif bomb", gif_bomb(screen=(65535, 65535), frames=2), ErrorCode.TOO_LARGE),
        ("header claims 10 hours", claim_duration(video_bytes(frames=10), 36_000), ErrorCode.TOO_LONG),
        ("missing path", tmp_path / "does-not-exist.mp4", ErrorCode.NOT_FOUND),
        ("1-frame video", video_bytes(frames=1), Verdict.NO_FACE),
        ("video with no face", video_bytes(frames=12, width=160, height=120), Verdict.NO_FACE),
        ("picture with no face", image_bytes(320, 240, "PNG"), Verdict.NO_FACE),
    ]


def test_bad_inputs_end_as_invalid_or_no_face(engine, shared_videos, tmp_path):
    for name, source, expected in _bad_inputs(shared_videos, tmp_path):
        if isinstance(source, tuple):
            source[0].write_bytes(source[1])
            source = source[0]
        started = time.monotonic()
        result = engine.check(source)
        elapsed = time.monotonic() - started
        assert elapsed < 5.0, f"{name}: took {elapsed:.1f} s"
        out = result.to_json()
        if isinstance(expected, ErrorCode):
            assert out["verdict"] == "invalid", name
            assert out["error"]["code"] == expected.value, (name, out["error"])
            assert len(out["error"]["message"]) > 10
        else:
            assert out["verdict"] == expected.value, (name, out)
            assert out["error"] is None and out["faces"] == []
        assert out["fake_probability"] is None


def test_a_detector_bug_is_an_internal_invalid_not_an_exception(settings, shared_data):
    class Broken:
        name = "broken"

        def detect(self, rgb):
            raise RuntimeError("boom")

    image, video = tiny_checkpoints()
    engine = Engine(settings, image_ckpt=image, video_ckpt=video, detector=Broken())
    path = sorted((shared_data / "faces" / "stylegan" / "real").glob("*.jpg"))[0]
    result = engine.check(path)
    assert result.verdict is Verdict.INVALID and result.error.code == "internal"
    assert "boom" in result.error.message
    assert engine.check(12345).verdict is Verdict.INVALID  # type: ignore[arg-type]


# --- the stages on their own --------------------------------------------------------------


def test_score_tracks_windows_long_tracks(engine):
    rng = np.random.default_rng(0)
    seqs = [rng.integers(0, 255, (10, 64, 64, 3), dtype=np.uint8), rng.integers(0, 255, (2, 64, 64, 3), dtype=np.uint8)]
    out = engine.score_tracks(seqs)  # sequence_length is 4: windows of 4, 4, 2
    assert [len(frames) for _, frames in out] == [10, 2]
    assert all(0.0 <= p <= 1.0 for p, _ in out)
    assert engine.score_tracks([]) == []
    assert engine.score_images(np.zeros((0, 64, 64, 3), np.uint8)).shape == (0,)
    with pytest.raises(ValueError):
        engine.score_tracks([np.zeros((0, 64, 64, 3), np.uint8)])


def _prepared(n_frames: int = 3) -> Prepared:
    boxes = [FaceBox(10, 10, 50, 50), FaceBox(100, 10, 140, 50)]
    faces = [PreparedFace(boxes[k], frame, k) for frame in range(n_frames) for k in (0, 1)]
    tracks = [[i for i, f in enumerate(faces) if f.track == k] for k in (0, 1)]
    return Prepared(
        path="synthetic.mp4",
        kind=MediaKind.VIDEO,
        width=200,
        height=100,
        duration_s=3.0,
        fps=1.0,
        frame_times=[0.0, 1.0, 2.0][:n_frames],
        faces=faces,
        crops=np.zeros((len(faces), 64, 64, 3), np.uint8),
        tracks=tracks,
        margin=0.25,
    )


def test_assemble_uses_the_image_model_alone_when_only_it_is_trained(settings):
    image, video = tiny_checkpoints(image_trained=True, fusion={"video_weight": 0.5})
    engine = Engine(settings, image_ckpt=image, video_ckpt=video)
    prepared = _prepared()
    image_probs = np.array([0.1, 0.8, 0.2, 0.9, 0.1, 0.7])  # faces ordered (frame, track)
    track_scores = [(0.99, np.array([0.99, 0.99, 0.99])), (0.0, np.array([0.0, 0.0, 0.0]))]
    result = engine.assemble(prepared, image_probs, track_scores)
    assert result.fusion.startswith("image model only")
    assert result.fake_probability == pytest.approx(0.8)  # track 1: mean(0.8, 0.9, 0.7)
    assert [round(f.fake_probability, 3) for f in result.faces] == [0.1, 0.8, 0.2, 0.9, 0.1, 0.7]
    assert [round(p.fake_probability, 3) for p in result.timeline] == [0.8, 0.9, 0.7]
    assert result.moments[0].model_dump() == {"t": 1.0, "fake_probability": 0.9}
    assert result.verdict is Verdict.FAKE  # 0.8 >= the untrained default 0.65
    assert result.model.trained is False  # the video model is not


def test_assemble_weighted_fusion_when_both_are_trained(settings):
    image, video = tiny_checkpoints(image_trained=True, video_trained=True, fusion={"video_weight": 0.25})
    engine = Engine(settings, image_ckpt=image, video_ckpt=video)
    prepared = _prepared(n_frames=2)
    image_probs = np.array([0.2, 0.4, 0.2, 0.4])
    track_scores = [(0.6, np.array([0.6, 0.6])), (0.0, np.array([0.0, 0.0]))]
    result = engine.assemble(prepared, image_probs, track_scores)
    # track 0: 0.25*0.6 + 0.75*0.2 = 0.30; track 1: 0.75*0.4 = 0.30
    assert result.fake_probability == pytest.approx(0.3)
    assert result.verdict is Verdict.REAL and result.model.trained is True
    with pytest.raises(ValueError):
        engine.assemble(prepared, image_probs[:2], track_scores)


def test_assemble_no_faces_is_no_face(engine):
    prepared = _prepared()
    prepared.faces, prepared.tracks = [], []
    prepared.crops = np.zeros((0, 64, 64, 3), np.uint8)
    result = engine.assemble(prepared, np.zeros(0), [])
    assert result.verdict is Verdict.NO_FACE and result.fake_probability is None
    assert result.frames_sampled == 3 and result.model is not None


def test_precision_choice_and_bf16_agrees_with_fp32(settings, shared_data):
    from serving.engine import resolve_precision

    assert resolve_precision("fp32", "cpu") is False
    assert resolve_precision("bf16", "cpu") is True
    assert resolve_precision("bf16", "cuda") is False  # the serving app autocasts on GPUs
    with pytest.raises(ValueError):
        resolve_precision("int8", "cpu")
    image, video = tiny_checkpoints()
    fp32 = Engine(settings, image_ckpt=image, video_ckpt=video, precision="fp32")
    bf16 = Engine(settings, image_ckpt=image, video_ckpt=video, precision="bf16")
    crops = np.stack(
        [
            np.asarray(__import__("PIL.Image").Image.open(p).convert("RGB").resize((64, 64)))
            for p in sorted((shared_data / "faces" / "dfdc" / "fake").glob("*.jpg"))[:4]
        ]
    )
    np.testing.assert_allclose(bf16.score_images(crops), fp32.score_images(crops), atol=0.02)
    ((p32, f32),) = fp32.score_tracks([crops])
    ((p16, f16),) = bf16.score_tracks([crops])
    assert abs(p32 - p16) < 0.02 and np.allclose(f32, f16, atol=0.02)


def _photo(*sides: int) -> Prepared:
    faces = [PreparedFace(FaceBox(10 + 100 * i, 10, 10 + 100 * i + s, 10 + s), None, None) for i, s in enumerate(sides)]
    return Prepared(
        path="synthetic.jpg",
        kind=MediaKind.IMAGE,
        width=100 * len(sides) + 100,
        height=200,
        duration_s=None,
        fps=None,
        frame_times=[],
        faces=faces,
        crops=np.zeros((len(faces), 64, 64, 3), np.uint8),
        tracks=[],
        margin=0.25,
    )


@pytest.mark.parametrize("probability", [0.02, 0.98])
def test_a_verdict_resting_on_tiny_faces_is_uncertain(settings, probability):
    image, video = tiny_checkpoints(image_trained=True)
    engine = Engine(settings.model_copy(update={"min_reliable_face_px": 40}), image_ckpt=image, video_ckpt=video)
    small = engine.assemble(_photo(30, 39), np.array([probability, probability]), [])
    assert small.verdict is Verdict.UNCERTAIN and small.reason == "low_resolution"
    assert small.fake_probability == pytest.approx(probability)  # the score is still reported
    larger = engine.assemble(_photo(30, 40), np.array([probability, probability]), [])
    assert larger.verdict in (Verdict.REAL, Verdict.FAKE) and larger.reason == "face_model"
