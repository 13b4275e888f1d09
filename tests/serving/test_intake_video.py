"""Videos and animated GIFs through PyAV: real clips, fabricated formats, and bad files."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from _media_factory import (
    animated_gif,
    audio_only,
    claim_duration,
    faststart,
    gif_bomb,
    header_only,
    sparse_long_video,
    video_bytes,
)

from serving.contract import ErrorCode, MediaKind
from serving.intake import IntakeError, IntakeLimits, load_media

LIMITS = IntakeLimits(
    max_file_bytes=50_000_000,
    max_image_pixels=40_000_000,
    max_video_seconds=600.0,
    max_video_pixels=3840 * 2160,
    decode_timeout_s=20.0,
)


def refused(data, code: ErrorCode, limits: IntakeLimits = LIMITS, within_s: float = 3.0) -> IntakeError:
    started = time.monotonic()
    with pytest.raises(IntakeError) as caught:
        load_media(data, limits=limits)
    assert time.monotonic() - started < within_s, "a bad input must be refused quickly"
    assert caught.value.code is code, caught.value
    assert len(caught.value.message) > 10
    return caught.value


# --- the six real clips ------------------------------------------------------------------------

PORTRAIT = {"dfdc_brtujopkby", "dfdc_yhffcuhhjy"}


@pytest.fixture(scope="module")
def decoded_clips(shared_videos):
    assert len(shared_videos) == 6
    return {name: load_media(path, limits=LIMITS) for name, path in shared_videos.items()}


def test_real_clips_give_32_frames_spread_over_the_clip(decoded_clips):
    for name, media in decoded_clips.items():
        assert media.kind is MediaKind.VIDEO and media.container == "mp4" and media.codec == "h264", name
        times = [frame.t for frame in media.frames]
        assert len(times) == 32, name
        assert all(b > a for a, b in zip(times, times[1:])), f"{name}: timestamps must increase"
        assert (times[-1] - times[0]) >= 0.9 * media.duration_s, f"{name}: samples cover {times[-1]:.2f} s"
        gaps = np.diff(times)
        assert gaps.max() < 3 * gaps.mean(), f"{name}: samples are not even"
        assert [frame.index for frame in media.frames] == list(range(32))
        assert media.fps and 24 <= media.fps <= 31 and 9 <= media.duration_s <= 16
        assert set(media.timings_ms) >= {"probe", "decode"}


def test_real_clips_keep_their_orientation(decoded_clips):
    for name, media in decoded_clips.items():
        height, width = media.frames[0].image.shape[:2]
        assert (media.width, media.height) == (width, height)
        assert (height > width) == (name in PORTRAIT), f"{name}: {width}x{height}"


def test_sampled_frames_are_distinct_pictures(decoded_clips):
    media = decoded_clips["dfdc_lynaeydofd"]
    first, middle, last = (media.frames[i].image.astype(np.int16) for i in (0, 16, 31))
    assert np.abs(first - middle).mean() > 1 and np.abs(middle - last).mean() > 1


def test_sampled_frame_matches_an_exact_decode(shared_videos):
    """The nearest decodable frame is the frame at its timestamp, not a mislabelled one."""
    import av

    media = load_media(shared_videos["ffpp_cyshih704_real"], limits=LIMITS)
    wanted = {round(frame.t, 3): frame.image for frame in media.frames[:6]}
    with av.open(str(shared_videos["ffpp_cyshih704_real"])) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            t = round(float(frame.pts * stream.time_base), 3)
            if t in wanted:
                assert np.array_equal(frame.to_ndarray(format="rgb24"), wanted.pop(t)), t
            if not wanted:
                break
    assert not wanted


# --- fabricated good videos ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("container", "codec", "expected"),
    [
        ("mp4", "libx264", "mp4"),
        ("webm", "libvpx-vp9", "webm"),
        ("matroska", "libx264", "matroska"),
        ("avi", "mpeg4", "avi"),
        ("mov", "libx264", "mp4"),
    ],
)
def test_container_formats(container, codec, expected):
    media = load_media(video_bytes(frames=12, container=container, codec=codec), limits=LIMITS)
    assert media.kind is MediaKind.VIDEO and media.container == expected
    assert len(media.frames) == 12 and media.frames[0].image.shape == (48, 64, 3)
    assert [round(f.t, 2) for f in media.frames[:3]] == [0.0, 0.1, 0.2]


def test_fewer_samples_requested():
    media = load_media(video_bytes(frames=40), limits=LIMITS, n_frames=4)
    assert [round(f.t, 1) for f in media.frames] == [0.0, 1.3, 2.6, 3.9]


def test_one_frame_video():
    media = load_media(video_bytes(frames=1), limits=LIMITS)
    assert media.kind is MediaKind.VIDEO and len(media.frames) == 1 and media.frames[0].t == 0.0


def test_animated_gif_is_a_video():
    media = load_media(animated_gif(frames=6, delay_ms=100), limits=LIMITS)
    assert media.kind is MediaKind.VIDEO and media.container == "gif"
    assert len(media.frames) == 6 and media.duration_s == pytest.approx(0.6)
    assert [round(f.t, 1) for f in media.frames] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]


@pytest.mark.parametrize(("rotation", "corner"), [(90, "red"), (-90, "green")])
def test_display_rotation_makes_phone_videos_upright(rotation, corner):
    # stored 64x48 landscape with a display matrix: shown as 48x64 portrait
    media = load_media(video_bytes(frames=3, rotation=rotation), limits=LIMITS)
    assert (media.width, media.height) == (48, 64)
    top_left = media.frames[0].image[1, 1]
    # +90 = counter-clockwise: the stored top-right (red) comes to the top-left;
    # -90 = clockwise: the stored bottom-left (green) comes to the top-left
    assert (top_left[0] > 200) == (corner == "red") and (top_left[1] > 200) == (corner == "green")


# --- bad videos ---------------------------------------------------------------------------------


def test_random_bytes_named_mp4_are_unsupported(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(os.urandom(200_000))
    refused(path, ErrorCode.UNSUPPORTED)


@pytest.mark.parametrize("cut", ["half", "1KB"])
def test_truncated_mp4_is_corrupt(shared_videos, cut):
    data = shared_videos["ffpp_cyshih704_real"].read_bytes()  # moov at the end
    error = refused(data[: len(data) // 2] if cut == "half" else data[:1024], ErrorCode.CORRUPT)
    assert "truncated" in error.message


def test_truncated_faststart_mp4_is_corrupt(shared_videos):
    data = faststart(shared_videos["ffpp_cyshih704_real"].read_bytes())  # moov first
    assert load_media(data, limits=LIMITS).frames  # the whole remuxed file is fine
    error = refused(data[: len(data) // 2], ErrorCode.CORRUPT)
    assert "truncated" in error.message and "396" in error.message


def test_mp4_with_only_a_header_is_corrupt(shared_videos):
    data = shared_videos["ffpp_cyshih704_real"].read_bytes()
    refused(header_only(data), ErrorCode.CORRUPT)
    refused(faststart(data)[:8192], ErrorCode.CORRUPT)  # the first few KB


def test_header_claiming_ten_hours_is_refused_before_decoding():
    data = claim_duration(video_bytes(frames=10), 36_000)
    error = refused(data, ErrorCode.TOO_LONG, within_s=0.5)
    assert "header" in error.message and "10.0 h" in error.message


def test_sparse_ten_hour_video_is_too_long():
    refused(sparse_long_video(36_000), ErrorCode.TOO_LONG, within_s=0.5)


def test_lower_duration_cap():
    limits = IntakeLimits(50_000_000, 40_000_000, 0.5, 3840 * 2160, 20.0)
    refused(video_bytes(frames=10), ErrorCode.TOO_LONG, limits=limits)


def test_resolution_over_the_cap(shared_videos):
    limits = IntakeLimits(50_000_000, 40_000_000, 600.0, 640 * 480 - 1, 20.0)
    error = refused(shared_videos["ffpp_cyshih704_real"], ErrorCode.TOO_LARGE, limits=limits)
    assert "640x480" in error.message


def test_audio_only_is_unsupported():
    error = refused(audio_only(), ErrorCode.UNSUPPORTED)
    assert "audio" in error.message


def test_gif_with_a_huge_canvas_is_refused_without_decoding():
    refused(gif_bomb(screen=(65535, 65535), frames=2), ErrorCode.TOO_LARGE, within_s=0.5)
    # a canvas under Pillow's own bomb limit but over our video cap
    refused(gif_bomb(screen=(4000, 4000), frames=2), ErrorCode.TOO_LARGE, within_s=0.5)


def test_gif_with_thousands_of_frames_is_refused_quickly():
    data = gif_bomb(frames=50_000)  # 0-delay frames play at 10 fps: 83 minutes
    error = refused(data, ErrorCode.TOO_LARGE, within_s=2.0)
    assert "50,000 frames" in error.message and "3,000" in error.message


def test_timeout_on_a_tiny_budget(shared_videos):
    limits = IntakeLimits(50_000_000, 40_000_000, 600.0, 3840 * 2160, 0.05)
    refused(shared_videos["dfdc_lynaeydofd"], ErrorCode.TIMEOUT, limits=limits, within_s=1.0)


def test_seeks_past_keyframes_when_samples_are_far_apart():
    # 200 frames at 10 fps with a keyframe every 10 frames; 4 samples -> seeking skips most frames
    data = video_bytes(frames=200, fps=10, options={"g": "10", "keyint_min": "10", "sc_threshold": "0", "bf": "0"})
    media = load_media(data, limits=LIMITS, n_frames=4)
    assert media.details["seeks"] >= 2 and media.details["frames_decoded"] < 100
    assert [round(f.t, 1) for f in media.frames] == [0.0, 6.6, 13.3, 19.9]
    for frame in media.frames:  # the blue channel encodes the frame number: right frame after seeks
        index = round(frame.t * 10)
        assert abs(int(frame.image[5, 5, 2]) - (index * 37) % 256) <= 6, (frame.t, frame.image[5, 5])


def test_skipping_that_leaves_too_few_frames_falls_back_to_a_full_decode(shared_videos):
    from serving.intake._limits import Deadline
    from serving.intake._video import decode, open_container, probe

    data = shared_videos["ffpp_cyshih704_fake"].read_bytes()
    container = open_container(data, LIMITS, "mp4")
    plan = probe(container, LIMITS, Deadline(20))
    container.close()
    container = open_container(data, LIMITS, "mp4")
    # keyframes only: this clip has 2, far fewer than the 8 samples asked for
    frames, info = decode(data, container, plan, limits=LIMITS, deadline=Deadline(20), n_frames=8, skip="NONKEY")
    container.close()
    assert len(frames) == 8 and info["strategy"].startswith("all") and "fallback" in info


@pytest.mark.parametrize(("container", "codec"), [("webm", "libvpx-vp9"), ("avi", "mpeg4")])
def test_truncated_webm_and_avi_are_corrupt(container, codec):
    data = video_bytes(frames=100, width=160, height=120, container=container, codec=codec)
    assert len(load_media(data, limits=LIMITS).frames) == 32
    error = refused(data[: len(data) // 2], ErrorCode.CORRUPT)
    assert "truncated" in error.message
