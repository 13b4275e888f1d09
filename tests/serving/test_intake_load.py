"""``load_media`` itself: reading within the caps, typed errors only, and never hanging."""

from __future__ import annotations

import pickle
import threading
import time

import pytest
from _media_factory import image_bytes

from serving.contract import ErrorCode, MediaKind
from serving.intake import IntakeError, IntakeLimits, _load, load_media

LIMITS = IntakeLimits(
    max_file_bytes=1_000_000,
    max_image_pixels=40_000_000,
    max_video_seconds=60.0,
    max_video_pixels=1920 * 1080,
    decode_timeout_s=5.0,
)


def code_of(source, limits: IntakeLimits = LIMITS, **kwargs) -> ErrorCode:
    with pytest.raises(IntakeError) as caught:
        load_media(source, limits=limits, **kwargs)
    assert caught.value.message
    return caught.value.code


def test_zero_bytes_and_empty_file_are_empty(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert code_of(b"") is ErrorCode.EMPTY
    assert code_of(empty) is ErrorCode.EMPTY


def test_bytes_over_the_cap_are_too_large():
    assert code_of(b"\x00" * (LIMITS.max_file_bytes + 1)) is ErrorCode.TOO_LARGE


def test_enormous_file_is_refused_from_its_size_before_reading(tmp_path):
    huge = tmp_path / "huge.mp4"
    with huge.open("wb") as handle:
        handle.truncate(8 * 1024**3)  # 8 GiB sparse: reading it would take minutes and all RAM
    if huge.stat().st_blocks * 512 > 1024**2:  # pragma: no cover - a filesystem without holes
        huge.unlink()
        pytest.skip("tmp filesystem does not support sparse files")
    started = time.monotonic()
    with pytest.raises(IntakeError) as caught:
        load_media(huge, limits=LIMITS)
    error = caught.value
    assert time.monotonic() - started < 1.0
    assert error.code is ErrorCode.TOO_LARGE and "8589.9 MB" in error.message


def test_cap_is_exact(tmp_path):
    data = image_bytes(16, 16, "PNG")
    exact = IntakeLimits(len(data), 40_000_000, 60.0, 1920 * 1080, 5.0)
    assert load_media(data, limits=exact).kind is MediaKind.IMAGE
    path = tmp_path / "a.png"
    path.write_bytes(data)
    smaller = IntakeLimits(len(data) - 1, 40_000_000, 60.0, 1920 * 1080, 5.0)
    assert code_of(path, smaller) is ErrorCode.TOO_LARGE


def test_missing_path_and_directory(tmp_path):
    assert code_of(tmp_path / "nope.jpg") is ErrorCode.NOT_FOUND
    assert code_of(tmp_path) is ErrorCode.UNSUPPORTED


def test_string_path_and_bytearray_are_accepted(tmp_path):
    data = image_bytes(16, 8, "PNG")
    path = tmp_path / "x.png"
    path.write_bytes(data)
    assert load_media(str(path), limits=LIMITS).width == 16
    assert load_media(bytearray(data), limits=LIMITS).height == 8


def test_bad_arguments_are_typed_errors_too():
    assert code_of(image_bytes(), n_frames=0) is ErrorCode.INTERNAL
    assert code_of(12345) is ErrorCode.INTERNAL  # type: ignore[arg-type]


def test_unexpected_exception_is_wrapped_as_corrupt(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("libfoo exploded")

    monkeypatch.setattr(_load, "_load", explode)
    with pytest.raises(IntakeError) as caught:
        load_media(b"anything", limits=LIMITS)
    assert caught.value.code is ErrorCode.CORRUPT and "libfoo exploded" in caught.value.message


def test_a_stuck_decoder_costs_a_thread_not_the_caller(monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(_load, "_load", lambda *args: release.wait(30))  # a libav call that never returns
    limits = IntakeLimits(1_000_000, 40_000_000, 60.0, 1920 * 1080, 0.2)
    started = time.monotonic()
    try:
        assert code_of(b"x", limits) is ErrorCode.TIMEOUT
        assert time.monotonic() - started < 0.2 + _load.THREAD_GRACE_S + 0.5
    finally:
        release.set()


def test_intake_error_is_a_value_and_pickles():
    error = IntakeError(ErrorCode.CORRUPT, "broken")
    assert error.to_dict() == {"code": "corrupt", "message": "broken"}
    assert str(error) == "corrupt: broken"
    copy = pickle.loads(pickle.dumps(error))
    assert copy.code is ErrorCode.CORRUPT and copy.message == "broken"


def test_limits_from_settings():
    from fakewatch.settings import Settings

    settings = Settings(max_file_bytes=123, decode_timeout_s=4.5)
    limits = IntakeLimits.from_settings(settings)
    assert limits.max_file_bytes == 123 and limits.decode_timeout_s == 4.5
    assert limits.max_image_pixels == settings.max_image_pixels


def test_timings_are_reported():
    media = load_media(image_bytes(), limits=LIMITS)
    assert {"read", "probe", "decode", "total"} <= set(media.timings_ms)
    assert all(value >= 0 for value in media.timings_ms.values())


def test_concurrent_calls_do_not_interfere():
    """Ray replicas and the CLI call load_media from several threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    from _media_factory import png_bomb, video_bytes

    inputs = [image_bytes(40, 30, "PNG"), png_bomb(), video_bytes(frames=8), b"not media"] * 3
    expected = [MediaKind.IMAGE, ErrorCode.TOO_LARGE, MediaKind.VIDEO, ErrorCode.UNSUPPORTED] * 3

    def outcome(data):
        try:
            return load_media(data, limits=LIMITS).kind
        except IntakeError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(outcome, inputs)) == expected
