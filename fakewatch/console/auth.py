"""Operator sign-in: one shared token, random session cookies, throttled guessing.

The token is compared in constant time (over fixed-length digests, so not even its length
leaks), only ever arrives in a POST body (never a URL, so never in access logs), and is
exchanged for a random session id. The cookie is HttpOnly and SameSite=Strict, which is also
what protects the console's few POST forms from cross-site requests. Only a hash of each
session id is kept in memory, so a memory dump does not hand out live sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict, deque

COOKIE_NAME = "fakewatch_console"
SESSION_TTL_S = 8 * 3600
MAX_SESSIONS = 1000
# Failed sign-ins allowed per client address within the window before it must wait.
MAX_FAILURES = 5
FAILURE_WINDOW_S = 60.0


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


def token_matches(given: str, expected: str) -> bool:
    """Constant-time comparison of the operator token."""
    return hmac.compare_digest(_digest(given), _digest(expected))


class SessionStore:
    """Signed-in sessions by hashed id, expiring after ``ttl_s``; the oldest go first when full."""

    def __init__(self, ttl_s: float = SESSION_TTL_S, max_sessions: int = MAX_SESSIONS) -> None:
        self.ttl_s = ttl_s
        self.max_sessions = max_sessions
        self._expiry: OrderedDict[bytes, float] = OrderedDict()

    def create(self) -> str:
        session_id = secrets.token_urlsafe(32)
        self._expiry[_digest(session_id)] = time.monotonic() + self.ttl_s
        while len(self._expiry) > self.max_sessions:
            self._expiry.popitem(last=False)
        return session_id

    def valid(self, session_id: str | None) -> bool:
        if not session_id or len(session_id) > 128:
            return False
        key = _digest(session_id)
        expiry = self._expiry.get(key)
        if expiry is None:
            return False
        if expiry < time.monotonic():
            del self._expiry[key]
            return False
        return True

    def end(self, session_id: str | None) -> None:
        if session_id:
            self._expiry.pop(_digest(session_id), None)


class SignInThrottle:
    """At most ``MAX_FAILURES`` wrong tokens per client per window: guessing stays hopeless.

    Keyed on the real client address (behind a trusted proxy, from X-Forwarded-For), so one
    client's guesses never lock out the other operators behind the same proxy.
    """

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = FAILURE_WINDOW_S) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str) -> deque[float]:
        now = time.monotonic()
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] < now - self.window_s:
            failures.popleft()
        return failures

    def blocked(self, client: str) -> bool:
        return len(self._recent(client)) >= self.max_failures

    def failed(self, client: str) -> None:
        self._recent(client).append(time.monotonic())
        if len(self._failures) > 10_000:  # forget idle clients rather than grow without bound
            for key in [k for k, v in self._failures.items() if not v][:5000]:
                del self._failures[key]

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)
