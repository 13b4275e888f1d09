"""What a check result means, in words a person understands, in their language.

Every word comes from the catalogues (:mod:`bot.i18n`); this
module only decides *which* messages a result needs. The rules (issue 15):

* ``real`` says "no signs of face manipulation found" and what the check cannot see: it is not
  a certificate of authenticity;
* ``fake`` says what the evidence is: the file's own credentials or marks (``reason`` is
  ``provenance``: the generator and whether the credentials are signed and validate) or the face
  model (with its probability);
* ``no_face`` says the service checks faces and, when the file carries no mark, that a scene made
  entirely by AI cannot be judged this way;
* credentials that declare a camera capture are mentioned but change nothing (they can be
  copied onto another file);
* Telegram strips metadata from compressed photos, so a photo without any mark gets a tip to
  send the original as a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from markupsafe import Markup
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.constants import FEEDBACK_PREFIX, TOP_MOMENTS, Threshold
from bot.i18n import Texts
from bot.links import HttpError, LinkOutcome, MediaFound, TooLarge
from serving.contract import CheckResult, ErrorCode, MediaKind, Provenance, ProvenanceSource, Reason, Verdict

#: Shown percentages stay within [1 %, 99 %]: a model's estimate is never a certainty.
DISPLAY_MIN, DISPLAY_MAX = 0.01, 0.99
_SCORED = (Verdict.REAL, Verdict.UNCERTAIN, Verdict.FAKE)
_INVALID_MESSAGES = {
    ErrorCode.EMPTY: "invalid-empty",
    ErrorCode.UNSUPPORTED: "invalid-unsupported",
    ErrorCode.CORRUPT: "invalid-corrupt",
    ErrorCode.TOO_LARGE: "invalid-too-large",
    ErrorCode.TOO_LONG: "invalid-too-long",
    ErrorCode.TIMEOUT: "invalid-timeout",
    ErrorCode.INTERNAL: "internal-error",
}
_ALBUM_ORDER = {Verdict.FAKE: 0, Verdict.UNCERTAIN: 1, Verdict.REAL: 2, Verdict.NO_FACE: 3, Verdict.INVALID: 4}


# --- small pieces ----------------------------------------------------------------------------------
def percent(probability: float | None, texts: Texts) -> Markup:
    """A probability as the user's locale writes a percentage ("87%", "87 %"), or a dash."""
    if probability is None:
        return texts.t("no-percent")
    shown = min(DISPLAY_MAX, max(DISPLAY_MIN, float(probability)))
    return texts.t("percent", probability=shown)


def timestamp(seconds: float, texts: Texts) -> Markup:
    """``m:ss.s`` with the locale's decimal mark ("1:04.2", "1:04,2")."""
    tenths = round(max(0.0, float(seconds)) * 10)
    minutes, rest = divmod(tenths, 600)
    return texts.t("moment", minutes=int(minutes), seconds=rest / 10)


def suspicious_moments(result: CheckResult, top: int = TOP_MOMENTS) -> list[float]:
    """The video's most suspicious times, in time order: the engine's moments, else the timeline."""
    points = result.moments or sorted(result.timeline, key=lambda p: -p.fake_probability)
    return sorted(p.t for p in points[:top])


def _kind(result: CheckResult) -> str:
    return "video" if result.kind == MediaKind.VIDEO else "image"


def _join(lines: Iterable[Markup | str | None], sep: str = "\n") -> Markup:
    return Markup(sep).join(line for line in lines if line)


def is_provenance_fake(result: CheckResult) -> bool:
    """``fake`` because the file's own credentials or marks declare generative AI."""
    return result.verdict == Verdict.FAKE and result.reason == Reason.PROVENANCE


def suggests_original(result: CheckResult, *, from_compressed_photo: bool) -> bool:
    """A compressed Telegram photo without any mark: its metadata may have been stripped."""
    return from_compressed_photo and not result.provenance.found and result.verdict != Verdict.INVALID


# --- provenance ------------------------------------------------------------------------------------
def _source(provenance: Provenance) -> str:
    return str(provenance.source) if provenance.source is not None else "other"


def signature_line(provenance: Provenance, texts: Texts) -> Markup:
    """Whether the credentials are signed and whether the signature validates."""
    if provenance.signed:
        if provenance.signature_valid is True:
            return texts.t("provenance-signed-valid")
        if provenance.signature_valid is False:
            return texts.t("provenance-signed-invalid")
        return texts.t("provenance-signed-unverified")
    if provenance.signed is None and provenance.source == ProvenanceSource.C2PA:
        return texts.t("provenance-signed-unverified")  # C2PA is always signed; we could not tell
    return texts.t("provenance-unsigned")


def provenance_lines(provenance: Provenance, texts: Texts) -> list[Markup]:
    """What the file says about its origin; nothing when it says nothing."""
    if not provenance.found:
        return []
    generator = provenance.generator
    if provenance.ai_generated is True:
        if generator:
            line = texts.t("provenance-ai-named", source=_source(provenance), generator=generator)
        else:
            line = texts.t("provenance-ai-unnamed", source=_source(provenance))
        return [line, signature_line(provenance, texts)]
    if provenance.ai_generated is False:
        if generator:
            return [texts.t("provenance-capture-named", generator=generator)]
        return [texts.t("provenance-capture-unnamed")]
    if generator:
        return [texts.t("provenance-neutral-named", generator=generator)]
    return [texts.t("provenance-neutral-unnamed")]


# --- one file ------------------------------------------------------------------------------------------
def invalid_reason(result: CheckResult, texts: Texts) -> Markup:
    """Why a file could not be read, without the leading mark (albums list it per item)."""
    code = result.error.code if result.error is not None else ErrorCode.UNSUPPORTED
    return texts.t(_INVALID_MESSAGES.get(code, "invalid-other"))


def invalid_text(result: CheckResult, texts: Texts) -> Markup:
    return texts.t("invalid", reason=invalid_reason(result, texts))


def score_line(result: CheckResult, texts: Texts) -> Markup:
    return texts.t("score", percent=percent(result.fake_probability, texts), kind=_kind(result), count=result.people)


def moments_line(result: CheckResult, texts: Texts) -> Markup | None:
    if result.kind != MediaKind.VIDEO:
        return None
    moments = suspicious_moments(result)
    if not moments:
        return None
    times = Markup(", ").join(timestamp(t, texts) for t in moments)
    return texts.t("moments", times=times)


def verdict_text(result: CheckResult, texts: Texts, *, from_compressed_photo: bool = False) -> Markup:
    """The whole reply for one file (Telegram HTML; fits a photo caption's 1024 characters).

    ``from_compressed_photo``: the file came as a Telegram *photo* (re-encoded, metadata
    stripped), not as a document; when no mark was found the reply suggests sending the original.
    """
    verdict = result.verdict
    if verdict == Verdict.INVALID:
        return invalid_text(result, texts)
    kind = _kind(result)
    main: list[Markup | None] = []
    notes: list[Markup | None] = []
    untrained = result.model is not None and not result.model.trained
    if is_provenance_fake(result):
        main.append(texts.t("verdict-fake-provenance"))
        main += provenance_lines(result.provenance, texts)
    elif verdict == Verdict.NO_FACE:
        main.append(texts.t("verdict-no-face"))
        main.append(texts.t("no-face-explain", kind=kind))
        main += provenance_lines(result.provenance, texts) or [texts.t("no-face-no-label")]
    elif verdict in _SCORED:
        headline = {
            Verdict.REAL: "verdict-real", Verdict.UNCERTAIN: "verdict-uncertain", Verdict.FAKE: "verdict-fake-faces",
        }[verdict]  # fmt: skip
        main += [texts.t(headline), score_line(result, texts)]
        if verdict != Verdict.REAL:
            main.append(moments_line(result, texts))
            if verdict == Verdict.FAKE:
                main.append(texts.t("fake-faces-explain"))
            elif result.reason == Reason.LOW_RESOLUTION:
                main.append(texts.t("uncertain-small-faces"))
            else:
                main.append(texts.t("uncertain-explain"))
        main += provenance_lines(result.provenance, texts)
        if verdict == Verdict.REAL:
            notes.append(texts.t("real-limits", kind=kind))
        if untrained:
            notes.append(texts.t("untrained"))
    else:  # a verdict this bot does not know yet: say what we can, never crash
        main.append(invalid_text(result, texts))
    if suggests_original(result, from_compressed_photo=from_compressed_photo):
        notes.append(texts.t("photo-tip"))
    return _join([_join(main), _join(notes)], "\n\n")


# --- albums --------------------------------------------------------------------------------------------
def _flags(value: Sequence[bool] | bool, n: int) -> list[bool]:
    if isinstance(value, bool):
        return [value] * n
    flags = list(value)[:n]
    return flags + [False] * (n - len(flags))


def album_item(number: int, result: CheckResult, texts: Texts) -> Markup:
    verdict = result.verdict
    if is_provenance_fake(result):
        if result.provenance.generator:
            return texts.t("album-item-ai-named", number=number, generator=result.provenance.generator)
        return texts.t("album-item-ai-unnamed", number=number)
    if verdict in _SCORED:
        return texts.t(
            "album-item", number=number, verdict=str(verdict),
            percent=percent(result.fake_probability, texts), count=result.people,
        )  # fmt: skip
    if verdict == Verdict.NO_FACE:
        return texts.t("album-item-no-face", number=number)
    return texts.t("album-item-invalid", number=number, reason=invalid_reason(result, texts))


def album_text(
    results: Sequence[CheckResult], texts: Texts, *, from_compressed_photo: Sequence[bool] | bool = False
) -> Markup:
    """One reply for a whole album: the worst verdict in the header, then a line per item.

    ``from_compressed_photo``: one flag per item (or one for all), as for :func:`verdict_text`.
    """
    worst = min(results, key=lambda r: _ALBUM_ORDER.get(r.verdict, 9), default=None)
    header = texts.t("album-header", count=len(results), worst=str(worst.verdict) if worst is not None else "invalid")
    lines = [header] + [album_item(n, r, texts) for n, r in enumerate(results, start=1)]
    notes: list[Markup] = []
    if any(r.verdict == Verdict.REAL for r in results):
        notes.append(texts.t("album-limits"))
    flags = _flags(from_compressed_photo, len(results))
    if any(suggests_original(r, from_compressed_photo=f) for r, f in zip(results, flags, strict=True)):
        notes.append(texts.t("photo-tip"))
    return _join([_join(lines), _join(notes)], "\n\n")


# --- everything else the bot says ------------------------------------------------------------------------
def too_large(size_bytes: int | None, limit_bytes: int, texts: Texts) -> Markup:
    """Over the Bot API download cap (sizes in decimal megabytes, as Telegram states its cap)."""
    if size_bytes:
        return texts.t("too-large-size", size_mb=size_bytes / 1e6, limit_mb=round(limit_bytes / 1e6))
    return texts.t("too-large", limit_mb=round(limit_bytes / 1e6))


def settings_text(
    texts: Texts,
    *,
    private: bool,
    retention_days: int,
    autocheck: bool = False,
    threshold: str = Threshold.UNCERTAIN,
) -> Markup:
    """/settings: what happens in a private chat, or a group's auto-check and threshold."""
    if private:
        return texts.t("settings-private", days=retention_days)
    return texts.t("settings-group", autocheck="on" if autocheck else "off", threshold=str(threshold))


def history_text(rows: Sequence[Any], texts: Texts) -> Markup:
    """/history: one line per stored check (``db.Check`` rows or anything with their fields)."""
    if not rows:
        return texts.t("history-empty")
    lines = [texts.t("history-title")]
    for row in rows:
        created = getattr(row, "created_at", None)
        verdict = getattr(row, "verdict", None) or getattr(row, "status", None) or "?"
        lines.append(
            texts.t(
                "history-row",
                when=created.strftime("%Y-%m-%d %H:%M") if created else "?",
                kind=str(getattr(row, "media_kind", None) or "other"),
                verdict=str(verdict),
                percent=percent(getattr(row, "fake_probability", None), texts),
            )
        )
    return _join(lines)


def _pairs(counts: Mapping[Any, int]) -> str:
    return ", ".join(f"{k or 'pending'}={v}" for k, v in sorted(counts.items(), key=str))


def stats_text(day: Any, inferences: int, texts: Texts) -> Markup:
    """/stats (operators), from ``db.queries.stats``' answer."""
    p50, p95 = day.latency_ms.get("p50"), day.latency_ms.get("p95")
    lines = [
        texts.t("stats-title"),
        texts.t("stats-total", count=day.total),
        texts.t("stats-by-verdict", items=_pairs(day.by_verdict)),
        texts.t("stats-by-status", items=_pairs(day.by_status)),
        texts.t("stats-latency", p50=p50, p95=p95)
        if p50 is not None and p95 is not None
        else texts.t("stats-latency-none"),
        texts.t("stats-feedback", right=day.feedback.get("agree", 0), wrong=day.feedback.get("disagree", 0)),
        texts.t("stats-inferences", count=inferences),
    ]
    return _join(lines)


def speaks_in_group(verdict: str, threshold: str) -> bool:
    """Silent auto-check: speak only at or over the chat's threshold."""
    if verdict == Verdict.FAKE:
        return True
    return verdict == Verdict.UNCERTAIN and threshold == Threshold.UNCERTAIN


def feedback_markup(check_id: object, texts: Texts) -> InlineKeyboardMarkup:
    """Right/Wrong buttons under a verdict (callback data stays far below 64 bytes)."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.plain("feedback-right"), callback_data=f"{FEEDBACK_PREFIX}:{check_id}:1"),
                InlineKeyboardButton(texts.plain("feedback-wrong"), callback_data=f"{FEEDBACK_PREFIX}:{check_id}:0"),
            ]
        ]
    )


def link_outcome_text(outcome: LinkOutcome, texts: Texts) -> Markup | None:
    """What to tell the user about a link: why nothing was checked, or (media found) a note to
    put before the verdict when only a page's preview picture could be fetched; else None."""
    if isinstance(outcome, MediaFound):
        return texts.t("link-preview-image") if outcome.fallback_from_video else None
    if isinstance(outcome, TooLarge):
        return texts.t("link-too-large", limit_mb=round(outcome.limit / 1e6))
    if isinstance(outcome, HttpError):
        return texts.t("link-http-error", status=str(outcome.status))
    message = {
        "not_media": "link-not-media",
        "timeout": "link-timeout",
        "refused": "link-refused",
        "unreachable": "link-unreachable",
        "too_many_redirects": "link-too-many-redirects",
    }.get(outcome.code, "link-not-media")
    return texts.t(message)
