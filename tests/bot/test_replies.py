"""bot.replies: verdicts in words, percentages, moments, album summaries, group threshold."""

from __future__ import annotations

from bot import replies
from serving.contract import CheckResult

V = CheckResult.model_validate


def video_result(verdict: str = "fake", p: float = 0.873) -> CheckResult:
    return V(
        {
            "kind": "video",
            "verdict": verdict,
            "fake_probability": p,
            "faces": [{"box": [0, 0, 1, 1], "fake_probability": p, "frame": i, "track": 0} for i in range(3)],
            "timeline": [
                {"t": 0.0, "fake_probability": 0.2},
                {"t": 1.5, "fake_probability": 0.95},
                {"t": 3.0, "fake_probability": 0.4},
                {"t": 64.25, "fake_probability": 0.9},
            ],
            "model": {"name": "m", "version": "v1", "trained": True},
            "error": None,
        }
    )


def test_fake_video_text_has_band_percent_faces_and_moments() -> None:
    text = replies.verdict_text(video_result())
    assert "Likely fake" in text and "87%" in text
    assert "Faces: 1" in text  # one person tracked through three frames
    assert "0:01.5" in text and "1:04.2" in text and "0:03.0" in text and "0:00.0" not in text


def test_real_image_and_untrained_note() -> None:
    result = {"kind": "image", "verdict": "real", "fake_probability": 0.04,
              "faces": [{"box": [0, 0, 1, 1], "fake_probability": 0.04}, {"box": [2, 2, 3, 3], "fake_probability": 0.1}],
              "model": {"name": "m", "version": "v", "trained": False}}  # fmt: skip
    text = replies.verdict_text(V(result))
    assert "Looks real" in text and "4%" in text and "Faces: 2" in text and "not trained" in text


def test_no_face_and_invalid_words() -> None:
    assert "no faces" in replies.verdict_text(V({"verdict": "no_face", "kind": "image", "fake_probability": None}))
    text = replies.verdict_text(CheckResult.invalid(None, "unsupported", "x"))
    assert "not an image or video" in text
    assert "too long" in replies.verdict_text(CheckResult.invalid(None, "too_long", ""))
    assert "20 MB" in replies.too_large(25_000_000, 20_000_000) and "25.0 MB" in replies.too_large(
        25_000_000, 20_000_000
    )


def test_album_text_puts_the_worst_first() -> None:
    face = {"box": [0, 0, 1, 1], "fake_probability": 0.5}
    text = replies.album_text([
        V({"verdict": "real", "fake_probability": 0.1, "faces": [face]}),
        V({"verdict": "fake", "fake_probability": 0.9, "faces": [face]}),
        V({"verdict": "no_face", "fake_probability": None}),
    ])  # fmt: skip
    first, *items = text.splitlines()
    assert "Album of 3" in first and "Likely fake" in first
    assert items[0].startswith("1. real") and "90%" in items[1] and "no faces" in items[2]


def test_group_threshold() -> None:
    assert replies.speaks_in_group("fake", "fake") and replies.speaks_in_group("fake", "uncertain")
    assert replies.speaks_in_group("uncertain", "uncertain") and not replies.speaks_in_group("uncertain", "fake")
    assert not replies.speaks_in_group("real", "uncertain") and not replies.speaks_in_group("no_face", "uncertain")


def test_feedback_buttons_fit_telegram_limits() -> None:
    markup = replies.feedback_markup(123456789012)
    buttons = markup.inline_keyboard[0]
    assert [b.callback_data for b in buttons] == ["fb:123456789012:1", "fb:123456789012:0"]
    assert all(len(b.callback_data.encode()) <= 64 for b in buttons)
