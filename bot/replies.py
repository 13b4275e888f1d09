"""Every text the bot sends, and how a ``CheckResult`` becomes words a person understands.

Kept apart from the handlers so wording can change (or be translated) without touching logic,
and so tests can assert on the exact phrases.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.constants import FEEDBACK_PREFIX, TOP_MOMENTS, Threshold
from serving.contract import CheckResult, ErrorCode, MediaKind, Verdict

START = (
    "Hi! I check photos and videos for signs of face manipulation (deepfakes).\n\n"
    "Forward me a suspicious photo, video, GIF or video note, or send it as a file. "
    "I reply with how likely it is to be fake. /help explains more."
)
HELP = (
    "<b>How to use me</b>\n"
    "• Send or forward a photo, video, GIF, video note or album; files work too.\n"
    "• In a group, reply to a media message with /check.\n"
    "• Group admins: /autocheck on|off makes me check every media message silently and "
    "speak only when something looks manipulated; /threshold uncertain|fake sets when.\n"
    "• /history shows your last checks; /settings this chat's settings.\n\n"
    "<b>Groups and privacy mode</b>: to see media that is not addressed to me, I must be a "
    "group admin or have privacy mode turned off (via @BotFather, then re-add me).\n\n"
    "<b>Privacy</b>: media is deleted right after the check; only a hash and the verdict are "
    "kept, under a pseudonym, and purged after {days} days.\n\n"
    "A verdict is an estimate by a machine-learning model, not proof. Use the Right/Wrong "
    "buttons to tell us when it is wrong."
)
NOT_MEDIA = "Please send a photo or a video (or forward one). I can't check this kind of message."
CHECK_NEEDS_REPLY = "Reply to a photo or video with /check and I'll check it."
QUEUED_SERVICE_DOWN = (
    "The checker is busy or offline right now. Your check is queued and I'll reply here as soon as it is back."
)
RATE_LIMITED = "You're sending a lot at once — please wait a minute before sending more."
RATE_LIMITED_CHAT = "This chat is sending a lot at once — I'll take a short break from checking."
ADMINS_ONLY = "Only the group's admins can change this."
GROUPS_ONLY = "This setting exists only in groups."
AUTOCHECK_USAGE = "Usage: /autocheck on  or  /autocheck off"
THRESHOLD_USAGE = "Usage: /threshold uncertain  or  /threshold fake"
AUTOCHECK_ON = (
    "Auto-check is on: I'll check every photo and video here and speak only when one looks "
    "{threshold}. (I need to be admin or have privacy mode off to see media.)"
)
AUTOCHECK_OFF = "Auto-check is off. Reply to media with /check to check it."
THRESHOLD_SET = "I'll now speak up for media that looks {threshold}."
FEEDBACK_THANKS = "Thanks, noted!"
FEEDBACK_ALREADY = "You already answered — thanks!"
FEEDBACK_GONE = "This check is no longer stored."
OPERATORS_ONLY = "This command is for operators."
HISTORY_EMPTY = "You have no stored checks yet."
HISTORY_PRIVATE_ONLY = "Your history is private: send /history to me in a private chat."
GAVE_UP = "Sorry, I couldn't check this in time. Please send it again later."
INTERNAL_ERROR = "Sorry, something went wrong on my side while checking this."
DOWNLOAD_FAILED = "Sorry, Telegram wouldn't give me this file. Please send it again."
CHECK_TIMED_OUT = (
    "Sorry, checking this file took too long every time I tried, so I gave up. A shorter or smaller version may work."
)
OPERATORS_PRIVATE_ONLY = "Operator commands work only in a private chat with me."

_THRESHOLD_WORDS = {Threshold.UNCERTAIN: "uncertain or fake", Threshold.FAKE: "fake"}

_VERDICT_HEADLINES = {
    "real": "✅ Looks real",
    "uncertain": "⚠️ Uncertain — could be manipulated",
    "fake": "🚨 Likely fake (manipulated faces)",
}

_INVALID_WORDS = {
    "empty": "The file is empty.",
    "unsupported": "This is not an image or video I can read.",
    "corrupt": "This file looks like media but is damaged, so I can't read it.",
    "too_large": "This file is too large for me to check.",
    "too_long": "This video is too long for me to check.",
    "timeout": "This file took too long to read, so I gave up.",
}


def threshold_words(threshold: str) -> str:
    return _THRESHOLD_WORDS.get(Threshold(threshold), str(threshold))


def too_large(size_bytes: int | None, limit_bytes: int) -> str:
    size = f" ({size_bytes / 1e6:.1f} MB)" if size_bytes else ""
    return (
        f"This file is too large{size}: Telegram lets me download at most "
        f"{limit_bytes / 1e6:.0f} MB. Please send a shorter or smaller version."
    )


def percent(probability: float | None) -> str:
    return "—" if probability is None else f"{100 * float(probability):.0f}%"


def timestamp(seconds: float) -> str:
    minutes, secs = divmod(max(0.0, float(seconds)), 60.0)
    return f"{int(minutes)}:{secs:04.1f}"


def suspicious_moments(result: CheckResult, top: int = TOP_MOMENTS) -> list[float]:
    """The video's most suspicious times, in time order: the engine's moments, else the timeline."""
    points = result.moments or sorted(result.timeline, key=lambda p: -p.fake_probability)
    return sorted(p.t for p in points[:top])


def invalid_text(result: CheckResult) -> str:
    code = str(result.error.code) if result.error is not None else "unsupported"
    return "❌ " + _INVALID_WORDS.get(code, "I couldn't read this file as an image or video.")


def verdict_text(result: CheckResult) -> str:
    """Verdict band in words, fake probability, faces, and (videos) the suspicious moments."""
    verdict = result.verdict
    if verdict == Verdict.INVALID:
        return invalid_text(result)
    if verdict == Verdict.NO_FACE:
        return (
            "🙂 I found no faces in this "
            f"{'video' if result.kind == MediaKind.VIDEO else 'image'}, so I can't judge it — "
            "I only check manipulated faces."
        )
    lines = [f"<b>{_VERDICT_HEADLINES.get(str(verdict), escape(str(verdict)))}</b>"]
    lines.append(f"Fake probability: <b>{percent(result.fake_probability)}</b>")
    lines.append(f"Faces: {result.people}")
    if result.kind == MediaKind.VIDEO:
        moments = suspicious_moments(result)
        if moments and verdict != Verdict.REAL:
            lines.append("Most suspicious moments: " + ", ".join(timestamp(t) for t in moments))
    if result.model is not None and not result.model.trained:
        lines.append("<i>Note: the model is not trained yet; this result is a demo.</i>")
    return "\n".join(lines)


def album_text(results: Sequence[CheckResult]) -> str:
    """One reply for a whole album: the worst item first, then a line per item."""
    order = {"fake": 0, "uncertain": 1, "real": 2, "no_face": 3, "invalid": 4}
    worst = min(results, key=lambda r: order.get(str(r.verdict), 9), default=None)
    lines = [f"<b>Album of {len(results)}</b>"]
    if worst is not None and str(worst.verdict) in _VERDICT_HEADLINES:
        lines[0] += f" — {_VERDICT_HEADLINES[str(worst.verdict)]}"
    for number, result in enumerate(results, start=1):
        verdict = str(result.verdict)
        if verdict in _VERDICT_HEADLINES:
            word = {"real": "real", "uncertain": "uncertain", "fake": "likely fake"}[verdict]
            item = f"{number}. {word}, fake probability {percent(result.fake_probability)}"
            item += f", faces: {len(result.faces)}"
        elif verdict == Verdict.NO_FACE:
            item = f"{number}. no faces found"
        else:
            item = f"{number}. {invalid_text(result)[2:]}"
        lines.append(item)
    return "\n".join(lines)


def speaks_in_group(verdict: str, threshold: str) -> bool:
    """Silent auto-check: speak only at or over the chat's threshold."""
    if verdict == "fake":
        return True
    return verdict == "uncertain" and threshold == Threshold.UNCERTAIN


def feedback_markup(check_id: object) -> InlineKeyboardMarkup:
    """Right/Wrong buttons under a verdict (callback data stays far below 64 bytes)."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("👍 Right", callback_data=f"{FEEDBACK_PREFIX}:{check_id}:1"),
                InlineKeyboardButton("👎 Wrong", callback_data=f"{FEEDBACK_PREFIX}:{check_id}:0"),
            ]
        ]
    )


def history_text(rows: Sequence[Any]) -> str:
    if not rows:
        return HISTORY_EMPTY
    lines = ["<b>Your last checks</b>"]
    for row in rows:
        created = getattr(row, "created_at", None)
        when = created.strftime("%Y-%m-%d %H:%M") if created else "?"
        verdict = getattr(row, "verdict", None) or getattr(row, "status", "?")
        kind = getattr(row, "media_kind", None) or "media"
        prob = percent(getattr(row, "fake_probability", None))
        lines.append(f"{when} — {escape(str(kind))}: {escape(str(verdict))} ({prob})")
    return "\n".join(lines)


def stored_result(row: Any) -> CheckResult:
    """A stored check as a result: its check result, or an ``invalid`` one saying why not."""
    if row.result:
        return CheckResult.model_validate(row.result)
    code = row.error_code if row.error_code in set(ErrorCode) else ErrorCode.INTERNAL
    return CheckResult.invalid(None, code, row.error_message or "")


def worst_of(rows: Sequence[Any]) -> Any | None:
    """The scored check with the highest fake probability (its buttons go under an album reply)."""
    scored = [r for r in rows if r.verdict in ("real", "uncertain", "fake")]
    return max(scored, key=lambda r: r.fake_probability or 0.0, default=None)
