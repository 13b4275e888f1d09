"""Who may call the HTTP API, and how often: API keys and per-client limits, before the body.

Decided from the headers alone (nothing is read from the body first), in a few microseconds,
per client: a client over its rate gets 429 at once and costs the others nothing.

Modes (``settings.api_access``; "auto" is resolved by the builder from the bind address):

* ``keys``: every check needs a valid key (``Authorization: Bearer …`` or ``X-API-Key``);
* ``public``: a request without a key is served under the per-client-address limits
  (``public_requests_per_minute`` / ``public_bytes_per_hour``; the address behind a trusted proxy);
* ``open``: what "auto" means on a loopback-only bind (``make run``): no key needed, no limits,
  as before keys existed. A request that came through a proxy (``X-Forwarded-For`` or
  ``Forwarded``) is not "from this machine", so it needs a key even here.

A key that is sent is always checked and limited, whatever the mode: a wrong key is a 401,
never a silent fall-back to anonymous access.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from starlette.requests import Request

from fakewatch.net import Network, client_address, is_loopback_host, limit_key, parse_networks
from serving.api_keys import KeyRecord, KeyStore, KeyStoreUnavailable, Limiter
from serving.app.constants import RATE_LIMITED, UNAUTHORIZED, UNAVAILABLE

Mode = Literal["keys", "public", "open"]
BEARER = "bearer "
# Cheap sanity bound on what we hash: keys are 60 characters.
MAX_KEY_CHARS = 200


@dataclass
class Admitted:
    """Go ahead; ``client`` is the limiter's name for the caller (None: not limited)."""

    client: str | None
    key: KeyRecord | None


@dataclass
class Denied:
    """The HTTP answer instead: 401 (no or bad key), 429 (over a limit), 503 (key store broken)."""

    status: int
    code: str
    message: str
    retry_after_s: int | None = None


def resolve_mode(api_access: str, bind_host: str | None) -> Mode:
    """``auto`` -> ``open`` on a loopback-only bind, ``keys`` anywhere else (or when unknown)."""
    if api_access == "auto":
        return "open" if is_loopback_host(bind_host) else "keys"
    if api_access not in ("keys", "public"):
        raise ValueError(f"api_access must be auto, keys or public, not {api_access!r}")
    return api_access  # type: ignore[return-value]


def presented_key(request: Request) -> str | None:
    """The key from ``Authorization: Bearer`` (first) or ``X-API-Key``; "" for a malformed one."""
    auth = request.headers.get("authorization")
    if auth is not None:
        return auth[len(BEARER) :].strip() if auth.lower().startswith(BEARER) else ""
    key = request.headers.get("x-api-key")
    return key.strip() if key is not None else None


class Access:
    """The access policy of one ingress replica (its own limiter: see serving/app/README.md)."""

    def __init__(
        self,
        mode: Mode,
        keys_file: Path | None,
        *,
        public_requests_per_minute: int,
        public_bytes_per_hour: int,
        trusted_proxies: list[str] | tuple[str, ...] = (),
        limiter: Limiter | None = None,
        keys: KeyStore | None = None,
    ) -> None:
        self.mode = mode
        self.keys = keys or KeyStore(keys_file)
        self.limiter = limiter or Limiter()
        self.public_limits = (int(public_requests_per_minute), int(public_bytes_per_hour))
        self.trusted: tuple[Network, ...] = parse_networks(trusted_proxies)
        self.counters = {UNAUTHORIZED: 0, RATE_LIMITED: 0}

    def client_address(self, request: Request) -> str:
        peer = request.client.host if request.client else None
        return client_address(peer, request.headers.getlist("x-forwarded-for"), self.trusted)

    def _deny(self, status: int, code: str, message: str, retry_after_s: int | None = None) -> Denied:
        counter = {401: UNAUTHORIZED, 429: RATE_LIMITED}.get(status, code)
        self.counters[counter] = self.counters.get(counter, 0) + 1
        return Denied(status, code, message, retry_after_s)

    def authenticate(self, request: Request) -> KeyRecord | Denied | None:
        """The caller's key record, None for no key (allowed or not: see ``admit``), or Denied."""
        key = presented_key(request)
        if key is None:
            return None
        if not key or len(key) > MAX_KEY_CHARS:
            return self._deny(401, UNAUTHORIZED, "the API key is malformed (Authorization: Bearer <key>)")
        try:
            record = self.keys.lookup(key)
        except KeyStoreUnavailable:
            return self._deny(503, UNAVAILABLE, "API keys cannot be checked right now", 5)
        if record is None:
            return self._deny(401, UNAUTHORIZED, "the API key is not valid (unknown or revoked)")
        return record

    def anonymous_allowed(self, request: Request) -> Denied | None:
        if self.mode == "keys":
            return self._deny(401, UNAUTHORIZED, "an API key is required (Authorization: Bearer <key>)")
        if self.mode == "open" and (
            request.headers.get("x-forwarded-for") is not None or request.headers.get("forwarded") is not None
        ):
            return self._deny(
                401, UNAUTHORIZED,
                "this server accepts requests without a key only from its own machine; "
                "this one came through a proxy: send an API key",
            )  # fmt: skip
        return None

    def admit(self, request: Request, declared_bytes: int | None) -> Admitted | Denied:
        """Key, then limits; charges one request and the declared bytes to the caller."""
        record = self.authenticate(request)
        if isinstance(record, Denied):
            return record
        if record is not None:
            client = f"key:{record.key_id}"
            limits = (record.requests_per_minute, record.bytes_per_hour)
        else:
            denied = self.anonymous_allowed(request)
            if denied is not None:
                return denied
            if self.mode == "open":
                return Admitted(None, None)
            client = f"addr:{limit_key(self.client_address(request))}"
            limits = self.public_limits
        refusal = self.limiter.admit(client, *limits, declared_bytes)
        if refusal is not None:
            who = f"API key {record.name!r}" if record is not None else "this address"
            return self._deny(429, RATE_LIMITED, f"{who} is {refusal.message}", refusal.retry_after_s)
        return Admitted(client, record)

    def settle(self, admitted: Admitted, declared_bytes: int | None, read_bytes: int) -> None:
        """After the body was read: charge the bytes that came beyond (or short of) the declared."""
        if admitted.client is not None:
            self.limiter.settle(admitted.client, read_bytes - max(0, declared_bytes or 0))
