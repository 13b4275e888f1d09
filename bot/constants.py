"""Names and numbers the bot agrees on, in one place (like ``telegram.constants``).

Tests and operators tune the knobs through :class:`bot.BotOptions`; these are the defaults.
"""

from __future__ import annotations

from enum import StrEnum

from telegram.constants import FileSizeLimit


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
    TELEGRAM = "telegram_busy"  # Telegram said wait (429) or did not answer: retried later
    TIMED_OUT = "check_timeout"  # serving timed out on this file MAX_TIMEOUTS times
    EXPIRED = "expired"  # still not checked MAX_JOB_AGE_S after it arrived
    INTERRUPTED = "interrupted"  # the bot stopped while the job was running
    INTERNAL = "internal"  # a bug on our side


# --- downloads ---------------------------------------------------------------------------
#: Bots may download 20 MB from api.telegram.org; a local Bot API server lifts that.
DOWNLOAD_LIMIT_BYTES: int = int(FileSizeLimit.FILESIZE_DOWNLOAD)
DOWNLOAD_CHUNK_BYTES: int = 256 * 1024

# --- the job worker ------------------------------------------------------------------------
WORKER_CONCURRENCY: int = 2
LEASE_S: float = 300.0  # renewed while a job runs (every LEASE_S / HEARTBEATS_PER_LEASE)
HEARTBEATS_PER_LEASE: int = 4
POLL_INTERVAL_S: float = 2.0  # idle wait between claims (a new job wakes the worker at once)
RETRY_BASE_S: float = 5.0  # backoff while serving is down: base * 2**(attempt-1), capped
RETRY_MAX_S: float = 300.0
MAX_JOB_AGE_S: float = 24 * 3600.0  # the outage budget: after that the user is told we gave up
MAX_TIMEOUTS: int = 3  # serving timeouts of one file before it fails with a clear answer
SEND_TIMEOUT_S: float = 20.0  # one Bot API send, all its parts (must stay below a heartbeat)
DB_RETRY_S: float = 0.5  # how often a worker retries a write while the database is away
STOP_GRACE_S: float = 10.0  # how long post_stop lets running checks finish
CHAT_ACTION_EVERY_S: float = 4.5  # Telegram shows a chat action for ~5 s
MODELS_REFRESH_S: float = 60.0  # how long the serving model versions are trusted

# --- albums --------------------------------------------------------------------------------
#: Albums have no end marker: the album is complete after this long without a new item
#: (measured against the intake watermark, so a bot that was down does not cut an album).
ALBUM_DEBOUNCE_S: float = 1.5

# --- the update intake (long polling) ------------------------------------------------------
INGEST_RETRY_MAX_S: float = 10.0  # backoff cap while the database is away (updates unconfirmed)
GET_UPDATES_LIMIT: int = 100
WATERMARK_MARGIN_S: float = 0.5  # the watermark trails a drained getUpdates by this much
WATERMARK_NAME = "telegram"

# --- inbound rate limits (token buckets; outbound is PTB's AIORateLimiter) ------------------
USER_BURST: int = 10
USER_PER_MINUTE: float = 10.0
CHAT_BURST: int = 30
CHAT_PER_MINUTE: float = 30.0
# 0: a 429 is not slept on inside a send; the worker postpones the job by its retry_after.
RATE_LIMITER_MAX_RETRIES: int = 0

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
