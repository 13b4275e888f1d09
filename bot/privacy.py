"""Pseudonyms for user ids and a log filter that keeps the bot token out of every log line.

Why HMAC: Telegram ids have ~52 bits, so a plain hash is brute-forced in seconds; a keyed
hash cannot be reversed without ``FAKEWATCH_PSEUDONYM_SECRET``. Why a filter: httpx logs the
request URL, and the Bot API puts the token in the URL path.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

#: Anything shaped like a bot token (rules-bot's pattern), wherever it appears.
TOKEN_PATTERN = re.compile(r"\d{3,}:[A-Za-z0-9_-]{30,}")
REDACTED = "[REDACTED]"


def pseudonym(user_id: int, secret: str | bytes) -> str:
    """HMAC-SHA256 of the user id: stable per secret, irreversible without it."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, str(int(user_id)).encode(), hashlib.sha256).hexdigest()


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Replace the given secrets and anything token-shaped with ``[REDACTED]``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return TOKEN_PATTERN.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and traceback text) so no token survives formatting."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = str(record.msg)
        record.msg, record.args = redact(message, self.secrets), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def install_log_redaction(*secrets: str, logger: logging.Logger | None = None) -> RedactingFilter:
    """Silence httpx/httpcore below WARNING and attach the filter to every handler of ``logger``.

    Filters on handlers (not loggers) see the records of every child logger that propagates.
    """
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    target = logger or logging.getLogger()
    flt = RedactingFilter(*secrets)
    for handler in target.handlers:
        handler.addFilter(flt)
    return flt
