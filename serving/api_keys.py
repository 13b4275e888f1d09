"""API keys of the HTTP API: the key format, the hashes-only key file, and per-client limits.

Where keys live: the ``api_keys`` table is the record (``fakewatch ops keys create|list|revoke``
edits it), and every edit rewrites a key *file* of hashes and limits that the serving ingress
reads. Why a file: serving then needs no database password and no access to the check log
(one secret per service); a revoked key stops working as soon as the ingress sees the new file
(it looks at most once a second), without a restart.

Why plain SHA-256: a key holds 256 random bits, so its hash cannot be reversed by guessing (a
pepper or a slow hash protects *low-entropy* secrets such as passwords); a leaked key file lets
nobody in, and serving holds no secret at all.

Light on purpose (standard library only): ``fakewatch ops`` and the ingress both import it.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import math
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

KEY_PREFIX = "fwk"
KEY_ID_HEX = 12  # the public part: names the key in lists, logs and `revoke`
SECRET_BYTES = 32  # 256 random bits
KEY_PATTERN = re.compile(rf"^{KEY_PREFIX}_([0-9a-f]{{{KEY_ID_HEX}}})_([A-Za-z0-9_-]{{43}})$")
KEY_FILE_VERSION = 1
# How often the ingress looks at the key file's mtime/size/inode for a change.
RELOAD_CHECK_S = 1.0
# Per-client limiter entries kept (least recently seen dropped first): bounded memory.
MAX_TRACKED_CLIENTS = 10_000
# Defaults of `fakewatch ops keys create` (documented in serving/app/README.md).
DEFAULT_REQUESTS_PER_MINUTE = 60
DEFAULT_BYTES_PER_HOUR = 2 * 1024 * 1024 * 1024


def new_key() -> tuple[str, str]:
    """A fresh ``(key, key_id)``: ``fwk_<12 hex>_<43 url-safe chars>``, shown once, never stored."""
    key_id = secrets.token_hex(KEY_ID_HEX // 2)
    return f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(SECRET_BYTES)}", key_id


def key_hash(key: str) -> str:
    """What is stored: the SHA-256 of the whole key, hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_id_of(key: str) -> str | None:
    """The public id of a well-formed key, else None (nothing else is learned from a bad one)."""
    match = KEY_PATTERN.match(key)
    return match.group(1) if match else None


@dataclass(frozen=True)
class KeyRecord:
    """One active key as serving sees it: no secret, only its hash and its limits."""

    key_id: str
    name: str
    sha256: str
    requests_per_minute: int
    bytes_per_hour: int

    @classmethod
    def from_json(cls, raw: Any) -> KeyRecord:
        if not isinstance(raw, dict):
            raise ValueError("a key entry must be an object")
        record = cls(
            key_id=str(raw["key_id"]),
            name=str(raw["name"]),
            sha256=str(raw["sha256"]).lower(),
            requests_per_minute=int(raw["requests_per_minute"]),
            bytes_per_hour=int(raw["bytes_per_hour"]),
        )
        if not re.fullmatch(r"[0-9a-f]{64}", record.sha256):
            raise ValueError(f"key {record.key_id}: sha256 is not 64 hex digits")
        if record.requests_per_minute < 1 or record.bytes_per_hour < 1:
            raise ValueError(f"key {record.key_id}: limits must be positive")
        return record


class KeyFileError(ValueError):
    """The key file cannot be read or does not hold what ``write_key_file`` writes."""


def write_key_file(path: Path, records: Iterable[KeyRecord]) -> None:
    """Atomically replace ``path`` (write a temporary file beside it, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "version": KEY_FILE_VERSION,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "keys": [asdict(r) for r in sorted(records, key=lambda r: r.key_id)],
    }
    fd, tmp = tempfile.mkstemp(prefix=".api_keys.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def read_key_file(path: Path) -> dict[str, KeyRecord]:
    """Active keys by hash; a missing file is no keys; anything malformed is ``KeyFileError``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("version") != KEY_FILE_VERSION:
            raise ValueError(f"not a version-{KEY_FILE_VERSION} key file")
        records = [KeyRecord.from_json(raw) for raw in doc.get("keys", [])]
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(f"{path}: {exc}") from None
    return {r.sha256: r for r in records}


class KeyStoreUnavailable(RuntimeError):
    """The key file exists but cannot be used: refuse keyed requests (503), never guess."""


class KeyStore:
    """The key file as the ingress sees it, re-read when it changes; fails closed when broken."""

    def __init__(self, path: Path | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path) if path is not None else None
        self._clock = clock
        self._keys: dict[str, KeyRecord] = {}
        self._error: str | None = None
        self._signature: tuple[int, int, int] | None = None
        self._checked_at = -math.inf
        self._refresh(force=True)

    def _stat(self) -> tuple[int, int, int] | None:
        assert self.path is not None
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        except OSError:
            return (-1, -1, -1)
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _refresh(self, *, force: bool = False) -> None:
        now = self._clock()
        if self.path is None or (not force and now - self._checked_at < RELOAD_CHECK_S):
            return
        self._checked_at = now
        signature = self._stat()
        if not force and signature == self._signature:
            return
        self._signature = signature
        try:
            self._keys = read_key_file(self.path)
            if self._error is not None or force:
                logger.info("API keys: %d active (from %s)", len(self._keys), self.path)
            self._error = None
        except KeyFileError as exc:
            self._keys = {}
            self._error = str(exc)
            logger.error("API key file unusable, refusing keyed requests: %s", exc)

    def __len__(self) -> int:
        self._refresh()
        return len(self._keys)

    def lookup(self, key: str) -> KeyRecord | None:
        """The record of a valid, unrevoked key; None for anything else."""
        self._refresh()
        if self._error is not None:
            raise KeyStoreUnavailable(self._error)
        if key_id_of(key) is None:
            return None
        record = self._keys.get(key_hash(key))
        # The id is part of the hashed key; checking it again costs nothing and rules out a
        # hand-edited file that pairs a hash with another key's name and limits.
        return record if record is not None and key_id_of(key) == record.key_id else None


# --- limits ---------------------------------------------------------------------------------


class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` per second; may go negative (a debt) when a
    request turns out larger than it declared, so the next one waits it off."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = float(capacity)
        self.rate = float(rate)
        self.tokens = float(capacity)
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_s(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` tokens are there (0: now). Over the capacity: a full refill."""
        self._refill(now)
        need = min(float(amount), self.capacity)
        if self.tokens >= need:
            return 0.0
        return (need - self.tokens) / self.rate

    def take(self, amount: float, now: float) -> None:
        self._refill(now)
        self.tokens -= amount


@dataclass
class Refusal:
    """Why a client must wait, and for how long (``Retry-After``)."""

    retry_after_s: int
    message: str


class _Client:
    __slots__ = ("bytes", "limits", "requests")

    def __init__(self, requests_per_minute: int, bytes_per_hour: int, now: float) -> None:
        self.limits = (requests_per_minute, bytes_per_hour)
        self.requests = TokenBucket(requests_per_minute, requests_per_minute / 60.0, now)
        self.bytes = TokenBucket(bytes_per_hour, bytes_per_hour / 3600.0, now)


class Limiter:
    """Per-client request rate and byte budget: two token buckets per client, O(1) per request.

    A request needs one request token (the bucket holds a minute's worth, refilled evenly) and as
    many byte tokens as it declares in ``Content-Length`` (the bucket holds an hour's budget);
    ``settle`` charges what was really read. One client's empty bucket refuses that client
    only: nothing is shared, nothing waits. Used from one event loop (no lock); memory is
    bounded by forgetting the least recently seen clients (they start again with full buckets).
    """

    def __init__(self, *, max_clients: int = MAX_TRACKED_CLIENTS, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_clients = max_clients
        self._clock = clock
        self._clients: collections.OrderedDict[str, _Client] = collections.OrderedDict()

    def _client(self, client: str, requests_per_minute: int, bytes_per_hour: int, now: float) -> _Client:
        state = self._clients.get(client)
        if state is None or state.limits != (requests_per_minute, bytes_per_hour):
            state = _Client(requests_per_minute, bytes_per_hour, now)  # new, or its limits changed
            self._clients[client] = state
            while len(self._clients) > self.max_clients:
                self._clients.popitem(last=False)
        self._clients.move_to_end(client)
        return state

    def admit(
        self, client: str, requests_per_minute: int, bytes_per_hour: int, declared_bytes: int | None
    ) -> Refusal | None:
        """None: go ahead (the request and its declared bytes are charged). Else why not."""
        now = self._clock()
        state = self._client(client, requests_per_minute, bytes_per_hour, now)
        wait = state.requests.wait_s(1, now)
        if wait > 0:
            return Refusal(math.ceil(wait), f"over the rate of {requests_per_minute} requests per minute")
        declared = max(0, declared_bytes or 0)
        wait = state.bytes.wait_s(max(declared, 1), now)
        if wait > 0:
            why = (
                f"the upload ({declared:,} bytes) is larger than the hourly budget of {bytes_per_hour:,} bytes"
                if declared > bytes_per_hour
                else f"over the budget of {bytes_per_hour:,} bytes per hour"
            )
            return Refusal(math.ceil(wait), why)
        state.requests.take(1, now)
        state.bytes.take(declared, now)
        return None

    def settle(self, client: str, extra_bytes: int) -> None:
        """Charge (or refund, if negative) the difference between read and declared bytes."""
        state = self._clients.get(client)
        if state is not None and extra_bytes:
            state.bytes.take(extra_bytes, self._clock())
