"""bot.wording: a check result in words that say what they mean, in English and Russian (and all five
languages where the rule is language-independent, such as caption length and escaping)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest

from bot import wording as W
from bot.i18n import LANGUAGES, Texts
from serving.contract import CheckResult

V = CheckResult.model_validate
EN, RU = Texts("en"), Texts("ru")
NBSP = "\xa0"
FACE = {"box": [0, 0, 10, 10], "fake_probability": 0.5}


def image(verdict: str, p: float | None = None, *, faces: int = 1, **extra: Any) -> CheckResult:
    return V({"kind": "image", "verdict": verdict, "fake_probability": p, "faces": [FACE] * faces,
              "reason": "face_model" if verdict in ("real", "uncertain", "fake") else None, **extra})  # fmt: skip


def video(verdict: str = "fake", p: float = 0.873, **extra: Any) -> CheckResult:
    return V({
        "kind": "video", "verdict": verdict, "fake_probability": p, "reason": "face_model",
        "faces": [{"box": [0, 0, 1, 1], "fake_probability": p, "frame": i, "track": 0} for i in range(3)],
        "timeline": [
            {"t": 0.0, "fake_probability": 0.2}, {"t": 1.5, "fake_probability": 0.95},
            {"t": 3.0, "fake_probability": 0.4}, {"t": 64.25, "fake_probability": 0.9},
        ],
        "model": {"name": "m", "version": "v1", "trained": True}, **extra,
    })  # fmt: skip


def ai_file(source: str = "c2pa", generator: str | None = "DALL·E 3", *, signed: bool | None = True,
            valid: bool | None = True, verdict: str = "fake", kind: str = "image") -> CheckResult:  # fmt: skip
    return V({
        "kind": kind, "verdict": verdict, "reason": "provenance", "fake_probability": 1.0,
        "provenance": {"found": True, "ai_generated": True, "generator": generator, "source": source,
                       "signed": signed, "signature_valid": valid},
    })  # fmt: skip


CAMERA = {"found": True, "ai_generated": False, "generator": "Leica M11-P", "source": "c2pa",
          "signed": True, "signature_valid": True}  # fmt: skip


# --- real ------------------------------------------------------------------------------------------
def test_real_says_no_signs_found_and_what_it_cannot_see() -> None:
    result = image("real", 0.04, faces=2)
    en = W.verdict_text(result, EN)
    assert "No signs of face manipulation found" in en and "4%" in en and "2 faces checked" in en
    assert "faces only" in en and "not prove the photo is authentic" in en and "made entirely by AI" in en
    assert "Looks real" not in en and "Likely fake" not in en
    ru = W.verdict_text(result, RU)
    assert "Признаков подмены лиц не найдено" in ru and f"4{NBSP}%" in ru and "проверено 2 лица" in ru
    assert "только лица" in ru and "не доказывает, что фото настоящее" in ru


def test_real_video_counts_people_and_names_the_video() -> None:
    en = W.verdict_text(video("real", 0.1), EN)
    assert "1 person checked" in en and "the video is authentic" in en
    assert "Most suspicious moments" not in en  # a real video has no moments to point at


def test_untrained_model_is_said() -> None:
    result = image("real", 0.04, model={"name": "m", "version": "v", "trained": False})
    assert "not trained yet" in W.verdict_text(result, EN)
    assert "не обучена" in W.verdict_text(result, RU)


# --- fake by the face model ------------------------------------------------------------------------
def test_fake_by_face_model_names_the_model_and_the_moments() -> None:
    en = W.verdict_text(video(), EN)
    assert "Likely fake" in en and "face-checking model" in en and "87%" in en
    assert "Most suspicious moments: 0:01.5, 0:03.0, 1:04.2" in en  # the three worst, in time order
    assert "content credentials" not in en and "1 person checked" in en
    ru = W.verdict_text(video(), RU)
    assert "Похоже на подделку" in ru and "модель проверки лиц" in ru and f"87{NBSP}%" in ru
    assert "Самые подозрительные моменты: 0:01,5, 0:03,0, 1:04,2" in ru


def test_engine_moments_win_over_the_timeline() -> None:
    result = video(moments=[{"t": 9.0, "fake_probability": 0.99}, {"t": 2.0, "fake_probability": 0.98}])
    assert W.suspicious_moments(result) == [2.0, 9.0]
    assert "0:02.0, 0:09.0" in W.verdict_text(result, EN)


# --- fake by the file's own credentials ------------------------------------------------------------
def test_fake_by_signed_valid_credentials_names_generator_and_signature() -> None:
    result = ai_file()
    en = W.verdict_text(result, EN)
    assert "Made with AI, according to the file itself" in en
    assert "content credentials (C2PA)" in en and "<b>DALL·E 3</b>" in en
    assert "signature checks out" in en
    assert "face-checking model" not in en and "Chance of manipulation" not in en
    ru = W.verdict_text(result, RU)
    assert "Сделано нейросетью" in ru and "сведениям о происхождении файла" in ru and "<b>DALL·E 3</b>" in ru
    assert "подпись действительна" in ru and "модель проверки лиц" not in ru


def test_credentials_whose_signature_fails_are_said_to_be_possibly_altered() -> None:
    en = W.verdict_text(ai_file(valid=False), EN)
    assert "signature does not check out" in en and "altered" in en
    assert "подпись недействительна" in W.verdict_text(ai_file(valid=False), RU)
    assert "couldn't verify the signature" in W.verdict_text(ai_file(valid=None), EN)


def test_unsigned_marks_are_said_to_be_unverifiable() -> None:
    en = W.verdict_text(ai_file("png-text", "ComfyUI", signed=False, valid=None), EN)
    assert "Settings saved in the image by the AI tool" in en and "<b>ComfyUI</b>" in en
    assert "not signed" in en and "can't be verified" in en
    ru = W.verdict_text(ai_file("xmp", None, signed=None, valid=None), RU)
    assert "метаданным файла" in ru and "создан нейросетью" in ru and "не подписана" in ru
    assert "invisible watermark" in W.verdict_text(ai_file("watermark", None, signed=False, valid=None), EN)


def test_generator_names_are_escaped() -> None:
    text = W.verdict_text(ai_file(generator="<a href='x'>Evil & Co</a>"), EN)
    assert "&lt;a href=" in text and "Evil &amp; Co" in text and "<a " not in text


# --- uncertain -------------------------------------------------------------------------------------------
def test_uncertain_in_plain_words() -> None:
    en = W.verdict_text(image("uncertain", 0.55), EN)
    assert "Unclear" in en and "not enough to say for sure" in en and "55%" in en
    ru = W.verdict_text(image("uncertain", 0.55), RU)
    assert "Неясно" in ru and "недостаточно, чтобы сказать наверняка" in ru


def test_uncertain_because_the_faces_are_tiny_says_so() -> None:
    result = image("uncertain", 0.97, reason="low_resolution")
    en = W.verdict_text(result, EN)
    assert "Unclear" in en and "too small to judge" in en and "not enough to say" not in en
    assert "слишком маленькие" in W.verdict_text(result, RU)


# --- no face -----------------------------------------------------------------------------------------------
def test_no_face_without_mark_says_faces_only_and_scenes_cannot_be_judged() -> None:
    result = image("no_face", faces=0)
    en = W.verdict_text(result, EN)
    assert "No faces found" in en and "I check faces" in en and "can't judge this photo" in en
    assert "no label from an AI tool" in en and "generated entirely by AI can't be recognised" in en
    ru = W.verdict_text(result, RU)
    assert "Лиц не найдено" in ru and "не могу оценить это фото" in ru
    assert "Меток нейросетей в файле тоже нет" in ru and "целиком созданную нейросетью" in ru


def test_no_face_with_a_capture_credential_mentions_it_instead() -> None:
    result = image("no_face", faces=0, provenance=CAMERA)
    en = W.verdict_text(result, EN)
    assert "No faces found" in en and "captured with <b>Leica M11-P</b>" in en
    assert "don't change the result" in en and "no label from an AI tool" not in en
    assert "снят на <b>Leica M11-P</b>" in W.verdict_text(result, RU)


# --- capture credentials never change the verdict ---------------------------------------------------------
def test_camera_capture_is_mentioned_but_the_verdict_stays() -> None:
    fake = W.verdict_text(image("fake", 0.91, provenance=CAMERA), EN)
    assert "Likely fake" in fake and "face-checking model" in fake
    assert "captured with <b>Leica M11-P</b>" in fake and "copied onto another file" in fake
    real = W.verdict_text(image("real", 0.05, provenance=CAMERA), RU)
    assert "Признаков подмены лиц не найдено" in real and "на результат они не влияют" in real


def test_credentials_that_say_nothing_about_ai() -> None:
    prov = {"found": True, "ai_generated": None, "generator": "Adobe Photoshop 25.0", "source": "xmp"}
    en = W.verdict_text(image("real", 0.1, provenance=prov), EN)
    assert "<b>Adobe Photoshop 25.0</b>" in en and "doesn't say whether AI was used" in en
    prov["generator"] = None
    assert "не сказано, использовалась ли нейросеть" in W.verdict_text(image("real", 0.1, provenance=prov), RU)


# --- the compressed-photo tip ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("result", "compressed", "tip"),
    [
        (image("real", 0.1), True, True),
        (image("no_face", faces=0), True, True),
        (image("fake", 0.9), True, True),
        (image("real", 0.1), False, False),  # a document keeps its metadata: nothing to suggest
        (image("real", 0.1, provenance=CAMERA), True, False),  # a mark survived: nothing to suggest
        (ai_file(), True, False),
        (CheckResult.invalid(None, "corrupt", "x"), True, False),
    ],
)  # fmt: skip
def test_compressed_photo_without_marks_suggests_sending_the_file(
    result: CheckResult, compressed: bool, tip: bool
) -> None:
    en = W.verdict_text(result, EN, from_compressed_photo=compressed)
    ru = W.verdict_text(result, RU, from_compressed_photo=compressed)
    assert ("send it as a file" in en) is tip
    assert ("отправьте его файлом" in ru) is tip


# --- invalid ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "en_words", "ru_words"),
    [
        ("empty", "empty", "пустой"),
        ("unsupported", "not an image or video", "не фото и не видео"),
        ("corrupt", "damaged", "повреждён"),
        ("too_large", "too large", "слишком большой"),
        ("too_long", "too long", "слишком длинное"),
        ("timeout", "too long to read", "слишком долго"),
        ("internal", "went wrong on my side", "что-то пошло не так"),
        ("not_found", "couldn't read this file", "Не удалось прочитать"),
    ],
)
def test_invalid_says_why(code: str, en_words: str, ru_words: str) -> None:
    result = CheckResult.invalid(None, code, "detail")
    assert W.verdict_text(result, EN).startswith("❌ ") and en_words in W.verdict_text(result, EN)
    assert ru_words in W.verdict_text(result, RU)


# --- numbers --------------------------------------------------------------------------------------------
def test_percent_never_claims_certainty() -> None:
    assert W.percent(0.9996, EN) == "99%" and W.percent(0.0001, EN) == "1%" and W.percent(0.5, EN) == "50%"
    assert W.percent(None, EN) == "—"
    assert W.percent(0.25, Texts("de")) == f"25{NBSP}%"


def test_timestamps_round_to_tenths_without_sixty_seconds() -> None:
    assert W.timestamp(59.96, EN) == "1:00.0"
    assert W.timestamp(64.25, EN) in ("1:04.2", "1:04.3")  # 642.5 tenths: half-even or half-up
    assert W.timestamp(-3, EN) == "0:00.0"
    assert W.timestamp(5.5, Texts("de")) == "0:05,5"


# --- every language: captions fit, markup is valid -------------------------------------------------------
@pytest.mark.parametrize("language", LANGUAGES)
def test_longest_reply_fits_a_photo_caption(language: str) -> None:
    texts = Texts(language)
    neutral = {"found": True, "ai_generated": None, "generator": "X" * 60, "source": "xmp"}
    result = video("fake", 0.9, provenance=neutral, model={"name": "m", "version": "v", "trained": False})
    text = W.verdict_text(result, texts, from_compressed_photo=False)
    assert len(text) <= 1024, (language, len(text))
    longest = max(
        (W.verdict_text(r, texts, from_compressed_photo=True)
         for r in (image("real", 0.1), image("no_face", faces=0), image("uncertain", 0.5), ai_file(valid=False))),
        key=len,
    )  # fmt: skip
    assert len(longest) <= 1024, (language, len(longest))


# --- albums ----------------------------------------------------------------------------------------------
def album() -> list[CheckResult]:
    return [
        image("real", 0.1),
        image("fake", 0.9, faces=2),
        image("no_face", faces=0),
        ai_file(generator="Midjourney"),
        CheckResult.invalid(None, "corrupt", "x"),
    ]


def test_album_puts_the_worst_in_the_header_and_a_line_per_item() -> None:
    header, *rest = W.album_text(album(), EN).split("\n")
    assert "Album, 5 files" in header and "likely fake" in header
    items = rest[:5]
    assert items[0].startswith("1. no signs of manipulation") and "10%" in items[0] and "1 face" in items[0]
    assert items[1].startswith("2. likely fake") and "90%" in items[1] and "2 faces" in items[1]
    assert items[2] == "3. no faces found"
    assert items[3] == "4. made with AI (<b>Midjourney</b>), according to the file itself"
    assert items[4].startswith("5. ") and "damaged" in items[4]
    assert "does not prove a file is authentic" in W.album_text(album(), EN)


def test_album_in_russian_with_plural_and_tip() -> None:
    results = [image("real", 0.1), image("uncertain", 0.6), image("real", 0.2)]
    text = W.album_text(results, RU, from_compressed_photo=[True, True, False])
    assert "Альбом, 3 файла" in text and "неясно" in text.split("\n")[0]
    assert "2. неясно" in text and "отправьте его файлом" in text
    assert "отправьте его файлом" not in W.album_text(results, RU, from_compressed_photo=False)
    assert "Альбом, 5 файлов" in W.album_text(album(), RU)


# --- other texts -------------------------------------------------------------------------------------------
def test_too_large_with_and_without_size() -> None:
    assert "(25.0 MB)" in W.too_large(25_000_000, 20_000_000, EN) and "20 MB" in W.too_large(None, 20_000_000, EN)
    assert "(25,0 МБ)" in W.too_large(25_000_000, 20_000_000, RU)


def test_settings_history_stats_and_buttons() -> None:
    assert "30 дней" in W.settings_text(RU, private=True, retention_days=30)
    group = W.settings_text(EN, private=False, retention_days=30, autocheck=True, threshold="fake")
    assert "Auto-check: on" in group and "Speaks up for: fake" in group
    assert "Автопроверка: выключена" in W.settings_text(RU, private=False, retention_days=30)
    rows = [SimpleNamespace(created_at=dt.datetime(2026, 12, 3, 9, 15), verdict="fake", media_kind="video",
                            fake_probability=0.91, status="done")]  # fmt: skip
    assert "2026-12-03 09:15 — видео: похоже на подделку (91" in W.history_text(rows, RU)
    assert "no stored checks" in W.history_text([], EN)
    day = SimpleNamespace(total=12, by_verdict={"fake": 2, None: 1}, by_status={"done": 12},
                          latency_ms={"p50": 812.0, "p95": 2400.0}, feedback={"agree": 3, "disagree": 1})  # fmt: skip
    stats = W.stats_text(day, 7, EN)
    assert "Checks in the last 24 h: 12" in stats and "fake=2, pending=1" in stats and "812 / 2,400 ms" in stats
    markup = W.feedback_markup(42, RU)
    buttons = markup.inline_keyboard[0]
    assert [b.text for b in buttons] == ["👍 Верно", "👎 Неверно"]
    assert [b.callback_data for b in buttons] == ["fb:42:1", "fb:42:0"]


# --- links -------------------------------------------------------------------------------------------------
def test_link_outcomes_in_words() -> None:
    from bot import links as L

    url = "https://example.com/x"
    assert "couldn't find a photo or video at that link" in W.link_outcome_text(L.NotMedia(url), EN)
    assert "не нашёл фото или видео" in W.link_outcome_text(L.NotMedia(url), RU)
    assert "at most 20 MB" in W.link_outcome_text(L.TooLarge(url, None, 20_000_000), EN)
    assert "(404)" in W.link_outcome_text(L.HttpError(url, 404), RU)
    refused = W.link_outcome_text(L.Refused(url, "10.0.0.1", "10.0.0.1", "private"), EN)
    assert "private or local network" in refused and "10.0.0.1" not in refused  # no internal detail leaks
    assert "too long to load" in W.link_outcome_text(L.TimedOut(url), EN)
    assert "couldn't reach" in W.link_outcome_text(L.Unreachable(url, "ClientConnectorError"), EN)
    assert "too many times" in W.link_outcome_text(L.TooManyRedirects(url, 5), EN)
    found = L.MediaFound(url, url, b"x", "image/jpeg", "image")
    assert W.link_outcome_text(found, EN) is None
    poster = L.MediaFound(url, url, b"x", "image/jpeg", "image", fallback_from_video=True)
    assert "preview picture" in W.link_outcome_text(poster, EN) and "превью" in W.link_outcome_text(poster, RU)


def test_speaks_in_group_only_at_or_over_the_threshold() -> None:
    assert W.speaks_in_group("fake", "fake") and W.speaks_in_group("fake", "uncertain")
    assert W.speaks_in_group("uncertain", "uncertain") and not W.speaks_in_group("uncertain", "fake")
    assert not any(W.speaks_in_group(v, t) for v in ("real", "no_face", "invalid") for t in ("uncertain", "fake"))
