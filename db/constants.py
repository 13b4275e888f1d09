"""Names the database layer and its callers agree on, in one place."""

from __future__ import annotations

from enum import StrEnum


class CheckStatus(StrEnum):
    """Where a check is as a job: the bot's durable queue is the check log itself."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Source(StrEnum):
    """How the media reached us."""

    PRIVATE = "private"
    GROUP = "group"
    API = "api"
    WEB = "web"


# The verdicts a group may choose as its "speak up at" threshold.
THRESHOLDS: tuple[str, ...] = ("uncertain", "fake")
DEFAULT_THRESHOLD = "uncertain"

# SQLite waits this long for a competing writer instead of failing with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000

# The verdict strings of the engine's CheckResult (serving.constants.Verdict), repeated here
# because db imports nothing of ours; operator filters accept exactly these.
VERDICTS: tuple[str, ...] = ("real", "uncertain", "fake", "no_face", "invalid")

# Paging limits for operator queries: a page is small, an export is streamed.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
EXPORT_BATCH_SIZE = 2000
