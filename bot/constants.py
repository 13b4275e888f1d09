"""Names and numbers the bot agrees on, in one place (like ``telegram.constants``).

Tests and operators tune the knobs through :class:`bot.BotOptions`; these are the defaults.
"""

from __future__ import annotations

from enum import Enum

from telegram.constants import FileSizeLimit


class StrEnum(str, Enum):
    """A ``str`` enum whose value is what goes into JSON, callback data and the database."""

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


class Threshold(StrEnum):
    """From which verdict on a silent group auto-check speaks up."""

    UNCERTAIN = "uncertain"  # uncertain or fake (the default)
    FAKE = "fake"  # fake only


class Attachment(StrEnum):
    """Which Telegram attachment a job came from (decides nothing about decoding)."""

    PHOTO = "photo"
    VIDEO = "video"
    ANIMATION = "animation"
    VIDEO_NOTE = "video_note"
    DOCUMENT = "document"


class JobError(StrEnum):
    """``error_code`` values the bot itself writes (the engine's own codes pass through)."""

    UNAVAILABLE = "unavailable"  # serving down or overloaded: retried with backoff
    TOO_LARGE = "too_large"  # over the Bot API download cap (checked before getFile)
    DOWNLOAD = "download_failed"  # Telegram would not hand us the file
    EXPIRED = "expired"  # gave up after MAX_JOB_AGE_S / MAX_ATTEMPTS
    INTERRUPTED = "interrupted"  # the bot stopped while the job was running
    INTERNAL = "internal"  # a bug on our side


# --- downloads ---------------------------------------------------------------------------
#: Bots may download 20 MB from api.telegram.org; a local Bot API server lifts that.
DOWNLOAD_LIMIT_BYTES: int = int(FileSizeLimit.FILESIZE_DOWNLOAD)
DOWNLOAD_CHUNK_BYTES: int = 256 * 1024

# --- the job worker ------------------------------------------------------------------------
WORKER_CONCURRENCY: int = 2
LEASE_S: float = 300.0  # longer than the slowest check; an expired lease is taken over
POLL_INTERVAL_S: float = 2.0  # idle wait between claims (a new job wakes the worker at once)
RETRY_BASE_S: float = 5.0  # backoff while serving is down: base * 2**(attempt-1), capped
RETRY_MAX_S: float = 300.0
MAX_ATTEMPTS: int = 50
MAX_JOB_AGE_S: float = 24 * 3600.0  # after that the user is told we could not check it
STOP_GRACE_S: float = 10.0  # how long post_stop lets running checks finish
CHAT_ACTION_EVERY_S: float = 4.5  # Telegram shows a chat action for ~5 s
MODELS_REFRESH_S: float = 60.0  # how long the serving model versions are trusted

# --- albums --------------------------------------------------------------------------------
#: Albums have no end marker: the album is complete after this long without a new item.
ALBUM_DEBOUNCE_S: float = 1.5

# --- inbound rate limits (token buckets; outbound is PTB's AIORateLimiter) ------------------
USER_BURST: int = 10
USER_PER_MINUTE: float = 10.0
CHAT_BURST: int = 30
CHAT_PER_MINUTE: float = 30.0
RATE_LIMITER_MAX_RETRIES: int = 3  # AIORateLimiter retries after a 429 retry_after

# --- groups ----------------------------------------------------------------------------------
ADMIN_STATUSES: frozenset[str] = frozenset({"administrator", "creator"})
ADMIN_CACHE_S: float = 60.0

# --- replies ---------------------------------------------------------------------------------
FEEDBACK_PREFIX = "fb"  # callback data: fb:<check_id>:<1 right | 0 wrong>
HISTORY_LIMIT = 10
EXPORT_LIMIT = 1000
TOP_MOMENTS = 3

#: (command, description) registered with setMyCommands; operator commands stay unlisted.
PUBLIC_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "what this bot does"),
    ("help", "how to check a photo or video"),
    ("check", "reply to a photo/video with /check to check it"),
    ("history", "your last checks"),
    ("settings", "this chat's settings"),
    ("autocheck", "groups: /autocheck on|off (admins)"),
    ("threshold", "groups: /threshold uncertain|fake (admins)"),
)

#: The retention purge runs once a day at this UTC hour.
PURGE_HOUR_UTC = 3
