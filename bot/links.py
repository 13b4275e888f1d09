"""Links in a message: find them, fetch the photo or video they name, never reach a private network.

A link is either the media itself (an image or video response) or a page whose ``og:video`` /
``og:image`` / ``twitter:image`` meta tags name it. Everything is bounded: bytes (Content-Length
and a streaming count), total time, redirects, the part of a page that is scanned.

Server-side request forgery is the risk: a user could point the bot at ``http://127.0.0.1:…``,
the cloud metadata service (169.254.169.254), a LAN host, or a public name that resolves to any
of those (or that redirects there). So every host is resolved first, *every* resolved address is
checked (:func:`address_refusal`), and aiohttp connects to the checked addresses themselves (the
resolver below is the connector's only resolver: there is no second lookup a DNS rebinding
could answer differently); each redirect hop goes through the same checks. IP literals never
reach a resolver, so they are checked before the request; legacy numeric forms
(``2130706433``, ``0x7f.1``, ``127.1``) are refused outright. ``Settings.allow_private_links``
(tests only) turns the address check off.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from typing import Any, Literal

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.constants import DOWNLOAD_LIMIT_BYTES

_LOGGER = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MediaKind = Literal["image", "video"]
AddressCheck = Callable[[IPAddress], "str | None"]

# --- limits (defaults; the lead may move them to the bot's constants module) ------------------------
LINK_MAX_BYTES: int = DOWNLOAD_LIMIT_BYTES  # the same cap as a Telegram download
LINK_TIMEOUT_S: float = 20.0  # the whole fetch: every hop, the page and the media it names
LINK_MAX_REDIRECTS: int = 5
LINK_MAX_HTML_BYTES: int = 1024 * 1024  # og: tags live in <head>: the first MiB is plenty
LINKS_PER_MESSAGE: int = 3
MEDIA_CANDIDATES: int = 4  # media URLs tried from one page
USER_AGENT = "Mozilla/5.0 (compatible; fakewatch-linkcheck/1.0; like TwitterBot)"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_SNIFF_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/binary"})
_NOT_MEDIA_TYPES = frozenset({"image/svg+xml"})  # scriptable text, nothing the engine decodes
_VIDEO_KEYS = ("og:video:secure_url", "og:video:url", "og:video", "twitter:player:stream")
_IMAGE_KEYS = ("og:image:secure_url", "og:image:url", "og:image", "twitter:image", "twitter:image:src")


@dataclass(frozen=True)
class LinkLimits:
    max_bytes: int = LINK_MAX_BYTES
    timeout_s: float = LINK_TIMEOUT_S
    max_redirects: int = LINK_MAX_REDIRECTS
    max_html_bytes: int = LINK_MAX_HTML_BYTES


# --- outcomes ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MediaFound:
    """The bytes to check. ``fallback_from_video``: the page named a video we could not fetch,
    so these are its preview image (the reply should say so)."""

    url: str
    final_url: str
    data: bytes = field(repr=False)
    content_type: str
    kind: MediaKind | None
    fallback_from_video: bool = False
    code: Literal["media"] = "media"


@dataclass(frozen=True)
class NotMedia:
    url: str
    code: Literal["not_media"] = "not_media"


@dataclass(frozen=True)
class TooLarge:
    url: str
    size: int | None  # the announced or counted size when known
    limit: int
    code: Literal["too_large"] = "too_large"


@dataclass(frozen=True)
class TimedOut:
    url: str
    code: Literal["timeout"] = "timeout"


@dataclass(frozen=True)
class Refused:
    """The link (or a redirect, or a name it resolves to) points at a non-public address."""

    url: str
    host: str
    address: str | None
    reason: str
    code: Literal["refused"] = "refused"


@dataclass(frozen=True)
class HttpError:
    url: str
    status: int
    code: Literal["http_error"] = "http_error"


@dataclass(frozen=True)
class Unreachable:
    url: str
    reason: str
    code: Literal["unreachable"] = "unreachable"


@dataclass(frozen=True)
class TooManyRedirects:
    url: str
    limit: int
    code: Literal["too_many_redirects"] = "too_many_redirects"


LinkOutcome = MediaFound | NotMedia | TooLarge | TimedOut | Refused | HttpError | Unreachable | TooManyRedirects


# --- finding links in a message -----------------------------------------------------------------------------
_PLAIN_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\"»…"


def _clean(url: str) -> str | None:
    url = url.strip()
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break  # a balanced parenthesis belongs to the URL (Wikipedia style)
        url = url[:-1]
    if not re.match(r"^[a-z][a-z0-9+.-]*://", url, re.IGNORECASE):
        url = "http://" + url  # Telegram marks "example.com/a.jpg" as a url entity too
    try:  # yarl encodes the host lazily: an impossible IDNA label fails on first use
        parsed = URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.raw_host:
            return None
        return str(parsed)
    except ValueError:  # UnicodeError included
        return None


def links_in_text(text: str | None, entity_urls: Iterable[str] = ()) -> list[str]:
    """http(s) URLs: those Telegram marked (``entity_urls``) first, then any in the plain text."""
    found: list[str] = []
    for raw in [*entity_urls, *(_PLAIN_URL.findall(text or ""))]:
        url = _clean(raw)
        if url and url not in found:
            found.append(url)
    return found[:LINKS_PER_MESSAGE]


def link_filter() -> Any:
    """A PTB filter for messages whose text or caption holds a link (entity or plain text).

    Register it after the media handlers: a photo whose caption holds a link is checked as a photo.
    """
    from telegram import MessageEntity
    from telegram.ext import filters

    return (
        filters.Entity(MessageEntity.URL)
        | filters.Entity(MessageEntity.TEXT_LINK)
        | filters.CaptionEntity(MessageEntity.URL)
        | filters.CaptionEntity(MessageEntity.TEXT_LINK)
        | filters.Regex(_PLAIN_URL)
        | filters.CaptionRegex(_PLAIN_URL)
    )


def links_in(message: Any) -> list[str]:
    """The links in a ``telegram.Message``'s text or caption (entities ``url`` and ``text_link``).

    PTB's ``parse_entities`` handles Telegram's UTF-16 offsets (emoji before a link).
    """
    if message is None:
        return []
    from telegram import MessageEntity

    types = [MessageEntity.URL, MessageEntity.TEXT_LINK]
    urls: list[str] = []
    for parsed in (message.parse_entities(types), message.parse_caption_entities(types)):
        for entity, text in parsed.items():
            urls.append(entity.url if entity.type == MessageEntity.TEXT_LINK and entity.url else text)
    return links_in_text(message.text or message.caption or "", urls)


# --- which addresses are refused ---------------------------------------------------------------------------
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64)."""
    inner: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        inner.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        inner.append(ip.sixtofour)
    if ip.teredo is not None:
        inner.extend(ip.teredo)
    if any(ip in net for net in _NAT64):
        inner.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return inner


def address_refusal(ip: IPAddress) -> str | None:
    """Why connecting to ``ip`` is refused, or None for a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "scoped"
        for inner in _embedded_ipv4(ip):
            reason = address_refusal(inner)
            if reason:
                return f"embedded {reason}"
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
        ("not global", not ip.is_global),
    )
    for reason, hit in checks:
        if hit:
            return reason
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address when ``host`` is an IP literal (``[::1]`` brackets allowed)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_numeric_host(host: str) -> bool:
    """A legacy numeric IPv4 spelling that the C library would accept (2130706433, 0x7f.1, 127.1)."""
    if not re.fullmatch(r"[0-9a-fA-FxX.]+", host) or not re.search(r"\d", host):
        return False
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


class AddressRefused(OSError):
    """Raised by the resolver; aiohttp wraps it, :class:`LinkFetcher` turns it into ``Refused``."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        super().__init__(f"{host} resolves to {address} ({reason})")
        self.host, self.address, self.reason = host, address, reason


class CheckingResolver(AbstractResolver):
    """The connector's resolver: resolve with ``base``, refuse the answer if any address is not
    public, return the checked addresses (aiohttp connects to exactly these)."""

    def __init__(
        self,
        base: AbstractResolver | None = None,
        *,
        allow_private: bool = False,
        check: AddressCheck = address_refusal,
    ) -> None:
        self._base = base or aiohttp.ThreadedResolver()
        self._allow_private = allow_private
        self._check = check

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._base.resolve(host, port, family)
        if not answers:
            raise OSError(f"{host} has no address")
        if not self._allow_private:
            for answer in answers:
                ip = ipaddress.ip_address(answer["host"])
                reason = self._check(ip)
                if reason:
                    raise AddressRefused(host, str(ip), reason)
        return answers

    async def close(self) -> None:
        await self._base.close()


# --- pages ------------------------------------------------------------------------------------------------
class _MetaScanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "meta":
            return
        values = {name.lower(): (value or "") for name, value in attrs}
        key = (values.get("property") or values.get("name") or "").strip().lower()
        content = values.get("content", "").strip()
        if key and content:
            self.found.setdefault(key, []).append(content)


def media_candidates(html: str, page_url: str) -> list[tuple[str, MediaKind]]:
    """Media URLs a page names, videos first (a video page's og:image is only its poster)."""
    scanner = _MetaScanner()
    try:
        scanner.feed(html)
        scanner.close()
    except Exception:  # a broken page: keep what was read before the error
        pass
    base = URL(page_url)
    out: list[tuple[str, MediaKind]] = []
    for keys, kind in ((_VIDEO_KEYS, "video"), (_IMAGE_KEYS, "image")):
        for key in keys:
            for value in scanner.found.get(key, []):
                try:
                    url = base.join(URL(value))
                except ValueError:
                    continue
                if url.scheme in ("http", "https") and url.host and all(str(url) != u for u, _ in out):
                    out.append((str(url), kind))  # type: ignore[arg-type]
    return out


# --- content types ------------------------------------------------------------------------------------------
def _sniff(head: bytes) -> tuple[str, MediaKind] | None:
    """The media type from the first bytes (servers often say application/octet-stream)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "image"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "image"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "image"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm", "video"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"heim", b"heis"):
            return "image/heic", "image"
        return "video/mp4", "video"
    return None


def _declared_kind(content_type: str) -> MediaKind | None:
    if content_type in _NOT_MEDIA_TYPES:
        return None
    if content_type.startswith("image/"):
        return "image"
    if content_type.startswith("video/"):
        return "video"
    return None


@dataclass(frozen=True)
class _Page:
    final_url: str
    html: str


async def _read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes | None:
    """The body, or None as soon as it passes ``cap`` bytes (a missing or lying Content-Length)."""
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        total += len(chunk)
        if total > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_head(response: aiohttp.ClientResponse, cap: int) -> bytes:
    """At most ``cap`` bytes of a page (the rest is not needed and not read)."""
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        chunks.append(chunk[: cap - total])
        total += len(chunks[-1])
        if total >= cap:
            break
    return b"".join(chunks)


def _refused_in(exc: BaseException) -> AddressRefused | None:
    """The resolver's refusal inside whatever aiohttp wrapped it in."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, AddressRefused):
            return current
        seen.add(id(current))
        nested = getattr(current, "os_error", None)
        current = nested if isinstance(nested, BaseException) else (current.__cause__ or current.__context__)
    return None


# --- the fetcher ------------------------------------------------------------------------------------------
class LinkFetcher:
    """Fetches what a link points to, within :class:`LinkLimits`; one per bot (one session).

    ``resolver`` is the DNS lookup under the address check (aiohttp's threaded getaddrinfo by
    default); ``address_check`` decides which addresses are refused. Tests inject a fixed DNS
    answer and may declare a loopback alias "public" to stand in for the internet.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        limits: LinkLimits | None = None,
        resolver: AbstractResolver | None = None,
        address_check: AddressCheck = address_refusal,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.allow_private = allow_private
        self.limits = limits or LinkLimits()
        self._resolver = CheckingResolver(resolver, allow_private=allow_private, check=address_check)
        self._check = address_check
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> LinkFetcher:
        return cls(allow_private=bool(getattr(settings, "allow_private_links", False)), **kwargs)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=self._resolver, use_dns_cache=False, limit=32)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self.limits.timeout_s, sock_read=self.limits.timeout_s
                ),
                headers={"User-Agent": self._user_agent, "Accept": "image/*,video/*,text/html;q=0.8,*/*;q=0.5"},
                cookie_jar=aiohttp.DummyCookieJar(),  # nothing carried from one user's link to another's
                trust_env=False,  # never through an environment proxy (it would resolve for us)
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> LinkFetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def fetch(self, url: str) -> LinkOutcome:
        """The media at ``url`` (or named by the page at ``url``), or why not. Never raises for
        anything the link or the remote server does."""
        try:
            async with asyncio.timeout(self.limits.timeout_s):
                return await self._fetch(url)
        except TimeoutError:
            return TimedOut(url)
        except ValueError:  # a URL yarl or IDNA cannot encode (UnicodeError is a ValueError)
            return NotMedia(url)
        except Exception as exc:  # whatever else a remote server provokes: a typed answer, not a crash
            _LOGGER.warning("link fetch failed unexpectedly: %s", type(exc).__name__, exc_info=True)
            return Unreachable(url, type(exc).__name__)

    async def _fetch(self, url: str) -> LinkOutcome:
        first = await self._get(url, url, accept_html=True)
        if not isinstance(first, _Page):
            return first
        candidates = media_candidates(first.html, first.final_url)[:MEDIA_CANDIDATES]
        failures: list[LinkOutcome] = []
        video_failed = False
        for candidate, kind in candidates:
            outcome = await self._get(candidate, url, accept_html=False, kind_hint=kind)
            if isinstance(outcome, MediaFound):
                return replace(outcome, fallback_from_video=video_failed and outcome.kind == "image")
            if isinstance(outcome, (TooLarge, Refused)):
                return outcome  # decisive: a smaller poster image would not be what was linked
            video_failed = video_failed or kind == "video"
            if not isinstance(outcome, _Page):  # a page where media was expected: nothing to say
                failures.append(outcome)
        informative = [f for f in failures if not isinstance(f, NotMedia)]
        return informative[0] if informative else NotMedia(url)

    def _refuse_url(self, target: URL, original: str) -> Refused | None:
        host = target.raw_host or ""
        if self.allow_private:
            return None
        address = literal_address(host)
        if address is not None:
            reason = self._check(address)
            return Refused(original, host, str(address), reason) if reason else None
        if is_numeric_host(host):
            return Refused(original, host, None, "numeric host")
        return None

    async def _get(
        self, url: str, original: str, *, accept_html: bool, kind_hint: MediaKind | None = None
    ) -> LinkOutcome | _Page:
        limits = self.limits
        try:
            target = URL(url)
        except ValueError:
            return NotMedia(original)
        for _hop in range(limits.max_redirects + 1):
            if target.scheme not in ("http", "https") or not target.raw_host:
                return NotMedia(original)
            refused = self._refuse_url(target, original)
            if refused is not None:
                return refused
            try:
                async with self._client().get(target, allow_redirects=False) as response:
                    if response.status in _REDIRECTS:
                        location = response.headers.get("Location")
                        if not location:
                            return HttpError(original, response.status)
                        try:
                            target = target.join(URL(location))
                        except ValueError:
                            return NotMedia(original)
                        continue
                    if response.status >= 400:
                        return HttpError(original, response.status)
                    if response.status != 200:
                        return NotMedia(original)
                    return await self._body(response, original, accept_html=accept_html, kind_hint=kind_hint)
            except (aiohttp.ClientError, OSError) as exc:
                refusal = _refused_in(exc)
                if refusal is not None:
                    return Refused(original, refusal.host, refusal.address, refusal.reason)
                if isinstance(exc, TimeoutError):  # aiohttp's socket timeouts
                    return TimedOut(original)
                if isinstance(exc, aiohttp.InvalidURL):
                    return Refused(original, target.raw_host or "", None, "invalid host")
                return Unreachable(original, type(exc).__name__)
        return TooManyRedirects(original, limits.max_redirects)

    async def _body(
        self, response: aiohttp.ClientResponse, original: str, *, accept_html: bool, kind_hint: MediaKind | None
    ) -> LinkOutcome | _Page:
        content_type = (response.content_type or "").lower()
        if response.headers.get("Content-Type") is None:
            content_type = ""
        final_url = str(response.url)
        if content_type in _HTML_TYPES:
            if not accept_html:
                return NotMedia(original)
            head = await _read_head(response, self.limits.max_html_bytes)
            try:
                html = head.decode(response.charset or "utf-8", errors="replace")
            except LookupError:  # a charset Python does not know
                html = head.decode("utf-8", errors="replace")
            return _Page(final_url, html)
        kind = _declared_kind(content_type)
        if kind is None and content_type not in _SNIFF_TYPES:
            return NotMedia(original)
        declared = response.content_length
        if declared is not None and declared > self.limits.max_bytes:
            return TooLarge(original, declared, self.limits.max_bytes)
        data = await _read_capped(response, self.limits.max_bytes)
        if data is None:
            return TooLarge(original, None, self.limits.max_bytes)
        if not data:
            return NotMedia(original)
        if kind is None:
            sniffed = _sniff(data[:32])
            if sniffed is None:
                return NotMedia(original)
            content_type, kind = sniffed
        return MediaFound(original, final_url, data, content_type, kind or kind_hint)


async def fetch_first(fetcher: LinkFetcher, urls: Sequence[str]) -> LinkOutcome | None:
    """The first link that yields media, else the first link's outcome (None: no links)."""
    first: LinkOutcome | None = None
    for url in urls:
        outcome = await fetcher.fetch(url)
        if isinstance(outcome, MediaFound):
            return outcome
        first = first or outcome
    return first
