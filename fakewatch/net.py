"""Addresses: which binds are loopback-only, and who the client is behind a trusted proxy.

Pure functions on strings, shared by the settings (bind rule), the operator console and the
serving ingress (per-client limits). Why a right-to-left walk of ``X-Forwarded-For``: a client
can put anything in the header it sends; only the entries appended by proxies *we* trust are
facts, so the client is the first address, from the right, that is not one of our proxies.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback_host(host: str | None) -> bool:
    """True when binding ``host`` listens on the loopback interface only.

    ``0.0.0.0``, ``::``, an empty host (all interfaces) and any real name or address are not.
    """
    if host is None:
        return False
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.5", "172.18.0.0/16"]`` -> networks; raises ValueError naming a bad entry."""
    out: list[Network] = []
    for value in values:
        text = value.strip()
        if not text:
            continue
        try:
            out.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {value!r}") from None
    return tuple(out)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # "[2001:db8::1]:443"
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # "203.0.113.7:5123"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def in_networks(address: str | None, networks: Sequence[Network]) -> bool:
    parsed = _address(address) if address else None
    return parsed is not None and any(parsed in net for net in networks)


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The real client: ``peer`` itself unless ``peer`` is a trusted proxy, in which case the
    right-most ``X-Forwarded-For`` entry that is not a trusted proxy (or the left-most entry
    when every hop is trusted). ``forwarded_for`` is every X-Forwarded-For header, in order."""
    if not peer:
        return "unknown"
    if not trusted or not in_networks(peer, trusted):
        return peer
    hops = [part.strip() for header in forwarded_for for part in header.split(",") if part.strip()]
    for hop in reversed(hops):
        parsed = _address(hop)
        if parsed is None:
            return peer  # a garbled header: do not let it choose an identity
        if not any(parsed in net for net in trusted):
            return str(parsed)
    return str(_address(hops[0])) if hops else peer


def forwarded_https(peer: str | None, forwarded_proto: str | None, trusted: Sequence[Network]) -> bool:
    """True when a trusted proxy says the client used HTTPS (``X-Forwarded-Proto: https``)."""
    if not forwarded_proto or not in_networks(peer, trusted):
        return False
    # A chain of proxies may append: the first value is the client-facing one.
    return forwarded_proto.split(",")[0].strip().lower() == "https"


def limit_key(address: str) -> str:
    """Whom a per-address limit counts: the address, or its /64 for IPv6 (one subscriber gets a
    whole /64 and could otherwise take a fresh address for every request)."""
    parsed = _address(address)
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(parsed) if parsed is not None else address
