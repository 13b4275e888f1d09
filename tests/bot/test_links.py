"""bot.links: links found in messages; media fetched from real local HTTP servers within byte, time and
redirect caps; private addresses refused before any connection (and on every redirect).

The "internet" here: a second server on 127.0.0.2 that the tests declare public (their address
check treats that one loopback alias as public) and a fixed DNS answer for ``*.test`` names, so
a public-looking name can redirect or resolve to 127.0.0.1 and be refused. Every refusal test also
asserts the local server saw no request at all.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from PIL import Image
from telegram import Message, MessageEntity

from bot import links as L
from fakewatch.settings import Settings

LIMITS = L.LinkLimits(max_bytes=200_000, timeout_s=2.0, max_redirects=3, max_html_bytes=64_000)
PUBLIC_ALIAS = ipaddress.ip_address("127.0.0.2")


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


JPEG = jpeg_bytes()
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 512


@dataclass
class Site:
    """A real aiohttp server on one loopback address; ``seen`` lists the paths it was asked for."""

    host: str
    port: int = 0
    seen: list[str] = field(default_factory=list)
    runner: web.AppRunner | None = None
    other: Site | None = None  # where cross-site redirects point

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    async def start(self) -> Site:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.2)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.seen.append(path)
        if path == "/photo.jpg":
            return web.Response(body=JPEG, content_type="image/jpeg")
        if path == "/clip.mp4":
            return web.Response(body=MP4, content_type="video/mp4")
        if path == "/octet":
            return web.Response(body=JPEG, content_type="application/octet-stream")
        if path == "/text":
            return web.Response(text="hello", content_type="text/plain")
        if path == "/svg":
            return web.Response(text="<svg xmlns='http://www.w3.org/2000/svg'/>", content_type="image/svg+xml")
        if path == "/page-video":
            return _html('<meta property="og:image" content="/photo.jpg">'
                         '<meta property="og:video:secure_url" content="/clip.mp4">')  # fmt: skip
        if path == "/page-image":
            return _html('<meta name="twitter:image" content="photo.jpg?a=1&amp;b=2">')
        if path == "/page-embed":  # og:video is a player page (HTML): fall back to the poster image
            return _html(
                '<meta property="og:video" content="/page-none"><meta property="og:image" content="/photo.jpg">'
            )
        if path == "/page-none":
            return _html("<title>nothing here</title><p>text</p>")
        if path == "/page-private-image" and self.other is not None:
            return _html(f'<meta property="og:image" content="{self.other.url("/photo.jpg")}">')
        if path.startswith("/r/"):  # /r/N: N redirects, then the photo
            left = int(path.rsplit("/", 1)[1])
            raise web.HTTPFound("/photo.jpg" if left <= 1 else f"/r/{left - 1}")
        if path == "/to-local" and self.other is not None:
            raise web.HTTPFound(self.other.url("/photo.jpg"))
        if path == "/to-internal-name" and self.other is not None:
            raise web.HTTPFound(self.other.url("/photo.jpg", host="internal.test"))
        if path == "/big":  # honest Content-Length over the cap
            return web.Response(body=b"\xff\xd8\xff" + b"\x00" * 300_000, content_type="image/jpeg")
        if path == "/big-stream":  # no Content-Length, more bytes than the cap
            response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for _ in range(40):
                await response.write(b"\x00" * 10_000)
            await response.write_eof()
            return response
        if path == "/slow":
            await asyncio.sleep(10)
            return web.Response(body=JPEG, content_type="image/jpeg")
        if path == "/slow-body":
            response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
            await response.prepare(request)
            for _ in range(100):
                await response.write(b"\x00" * 100)
                await asyncio.sleep(0.1)
            return response
        if path == "/missing":
            raise web.HTTPNotFound()
        if path == "/no-location":
            return web.Response(status=302)
        raise web.HTTPNotFound()


def _html(head: str) -> web.Response:
    return web.Response(
        text=f"<!doctype html><html><head>{head}</head><body>page</body></html>", content_type="text/html"
    )


class FixedDNS(AbstractResolver):
    """A DNS answer the test decides: name -> addresses (nothing else resolves)."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.answers:
            raise OSError(f"{host}: no such name")
        return [
            ResolveResult(
                hostname=host,
                host=a,
                port=port,
                family=socket.AF_INET6 if ":" in a else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for a in self.answers[host]
        ]

    async def close(self) -> None:
        pass


def alias_is_public(ip: L.IPAddress) -> str | None:
    """The real address check, except that 127.0.0.2 stands in for a public address."""
    return None if ip == PUBLIC_ALIAS else L.address_refusal(ip)


@pytest.fixture
async def local() -> AsyncIterator[Site]:
    site = await Site("127.0.0.1").start()
    yield site
    await site.close()


@pytest.fixture
async def public(local: Site) -> AsyncIterator[Site]:
    site = await Site("127.0.0.2", other=local).start()
    yield site
    await site.close()


@pytest.fixture
async def open_fetcher() -> AsyncIterator[L.LinkFetcher]:
    """Private addresses allowed (what ``allow_private_links`` does for tests)."""
    async with L.LinkFetcher.from_settings(Settings(allow_private_links=True), limits=LIMITS) as fetcher:
        yield fetcher


DNS = {"public.test": ["127.0.0.2"], "internal.test": ["127.0.0.1"], "mixed.test": ["127.0.0.2", "127.0.0.1"],
       "mapped.test": ["::ffff:127.0.0.1"]}  # fmt: skip


@pytest.fixture
async def guarded() -> AsyncIterator[tuple[L.LinkFetcher, FixedDNS]]:
    """Private addresses refused; the fixed DNS answer and the 127.0.0.2-is-public check."""
    dns = FixedDNS(DNS)
    async with L.LinkFetcher(limits=LIMITS, resolver=dns, address_check=alias_is_public) as fetcher:
        yield fetcher, dns


# --- media, pages, caps (private addresses allowed) ---------------------------------------------------
async def test_direct_image(open_fetcher: L.LinkFetcher, local: Site) -> None:
    outcome = await open_fetcher.fetch(local.url("/photo.jpg"))
    assert isinstance(outcome, L.MediaFound) and outcome.data == JPEG
    assert outcome.kind == "image" and outcome.content_type == "image/jpeg" and not outcome.fallback_from_video


async def test_octet_stream_is_sniffed(open_fetcher: L.LinkFetcher, local: Site) -> None:
    outcome = await open_fetcher.fetch(local.url("/octet"))
    assert isinstance(outcome, L.MediaFound) and outcome.content_type == "image/jpeg" and outcome.kind == "image"


async def test_og_video_page_fetches_the_video_not_the_poster(open_fetcher: L.LinkFetcher, local: Site) -> None:
    outcome = await open_fetcher.fetch(local.url("/page-video"))
    assert isinstance(outcome, L.MediaFound) and outcome.data == MP4 and outcome.kind == "video"
    assert outcome.url == local.url("/page-video") and outcome.final_url == local.url("/clip.mp4")
    assert "/photo.jpg" not in local.seen


async def test_og_image_page_resolves_relative_urls(open_fetcher: L.LinkFetcher, local: Site) -> None:
    outcome = await open_fetcher.fetch(local.url("/page-image"))
    assert isinstance(outcome, L.MediaFound) and outcome.data == JPEG
    assert outcome.final_url == local.url("/photo.jpg?a=1&b=2")


async def test_player_page_falls_back_to_the_poster_and_says_so(open_fetcher: L.LinkFetcher, local: Site) -> None:
    outcome = await open_fetcher.fetch(local.url("/page-embed"))
    assert isinstance(outcome, L.MediaFound) and outcome.kind == "image" and outcome.fallback_from_video


@pytest.mark.parametrize("path", ["/page-none", "/text", "/svg"])
async def test_other_links_are_not_media(open_fetcher: L.LinkFetcher, local: Site, path: str) -> None:
    assert isinstance(await open_fetcher.fetch(local.url(path)), L.NotMedia)


async def test_http_errors(open_fetcher: L.LinkFetcher, local: Site) -> None:
    outcome = await open_fetcher.fetch(local.url("/missing"))
    assert isinstance(outcome, L.HttpError) and outcome.status == 404
    assert isinstance(await open_fetcher.fetch(local.url("/no-location")), L.HttpError)


async def test_redirects_up_to_the_limit(open_fetcher: L.LinkFetcher, local: Site) -> None:
    assert isinstance(await open_fetcher.fetch(local.url("/r/3")), L.MediaFound)  # 3 redirects: allowed
    local.seen.clear()
    outcome = await open_fetcher.fetch(local.url("/r/4"))
    assert isinstance(outcome, L.TooManyRedirects) and outcome.limit == 3
    assert local.seen == ["/r/4", "/r/3", "/r/2", "/r/1"] and "/photo.jpg" not in local.seen


async def test_oversize_by_content_length(open_fetcher: L.LinkFetcher, local: Site) -> None:
    outcome = await open_fetcher.fetch(local.url("/big"))
    assert isinstance(outcome, L.TooLarge) and outcome.size == 300_003 and outcome.limit == LIMITS.max_bytes


async def test_oversize_by_streaming_count(open_fetcher: L.LinkFetcher, local: Site) -> None:
    outcome = await open_fetcher.fetch(local.url("/big-stream"))
    assert isinstance(outcome, L.TooLarge) and outcome.size is None


@pytest.mark.parametrize("path", ["/slow", "/slow-body"])
async def test_slow_server_hits_the_time_cap(local: Site, path: str) -> None:
    limits = L.LinkLimits(max_bytes=LIMITS.max_bytes, timeout_s=0.5)
    async with L.LinkFetcher(allow_private=True, limits=limits) as fetcher:
        loop = asyncio.get_running_loop()
        start = loop.time()
        outcome = await fetcher.fetch(local.url(path))
        assert isinstance(outcome, L.TimedOut)
        assert loop.time() - start < 3.0  # the cap, not the server, ended it


async def test_unreachable(open_fetcher: L.LinkFetcher) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outcome = await open_fetcher.fetch(f"http://127.0.0.1:{port}/photo.jpg")
    assert isinstance(outcome, L.Unreachable)


# --- private addresses: refused before connecting, on every hop ---------------------------------------------
@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1", "127.1", "0177.0.0.1", "localhost",
     "169.254.169.254", "10.0.0.1", "192.168.1.1", "[fe80::1]", "[fd00::1]", "0.0.0.0", "[::]", "224.0.0.1",
     "100.64.0.1", "[64:ff9b::7f00:1]", "[2002:7f00:1::]"],
)  # fmt: skip
async def test_private_hosts_are_refused_without_a_connection(local: Site, host: str) -> None:
    async with L.LinkFetcher(limits=LIMITS) as fetcher:  # the real resolver and the real check
        outcome = await fetcher.fetch(f"http://{host}:{local.port}/photo.jpg")
    assert isinstance(outcome, L.Refused), outcome
    assert local.seen == []


async def test_a_public_name_is_fetched_at_the_checked_address(
    guarded: tuple[L.LinkFetcher, FixedDNS], public: Site
) -> None:
    """public.test exists only in the test's DNS answer: reaching it proves the connector used the
    checked answer and made no lookup of its own."""
    fetcher, dns = guarded
    outcome = await fetcher.fetch(public.url("/photo.jpg", host="public.test"))
    assert isinstance(outcome, L.MediaFound) and outcome.data == JPEG
    assert dns.asked == ["public.test"] and public.seen == ["/photo.jpg"]


async def test_redirect_to_loopback_is_refused(
    guarded: tuple[L.LinkFetcher, FixedDNS], public: Site, local: Site
) -> None:
    fetcher, _ = guarded
    outcome = await fetcher.fetch(public.url("/to-local", host="public.test"))
    assert isinstance(outcome, L.Refused) and outcome.address == "127.0.0.1" and outcome.reason == "loopback"
    assert public.seen == ["/to-local"] and local.seen == []


async def test_redirect_to_a_name_resolving_to_loopback_is_refused(
    guarded: tuple[L.LinkFetcher, FixedDNS], public: Site, local: Site
) -> None:
    fetcher, dns = guarded
    outcome = await fetcher.fetch(public.url("/to-internal-name", host="public.test"))
    assert isinstance(outcome, L.Refused) and outcome.host == "internal.test" and outcome.address == "127.0.0.1"
    assert dns.asked == ["public.test", "internal.test"] and local.seen == []


async def test_page_naming_a_private_image_is_refused(
    guarded: tuple[L.LinkFetcher, FixedDNS], public: Site, local: Site
) -> None:
    fetcher, _ = guarded
    outcome = await fetcher.fetch(public.url("/page-private-image", host="public.test"))
    assert isinstance(outcome, L.Refused) and local.seen == []


@pytest.mark.parametrize("name", ["internal.test", "mixed.test", "mapped.test"])
async def test_names_with_any_private_address_are_refused(
    guarded: tuple[L.LinkFetcher, FixedDNS], local: Site, public: Site, name: str
) -> None:
    fetcher, _ = guarded
    outcome = await fetcher.fetch(f"http://{name}:{local.port}/photo.jpg")
    assert isinstance(outcome, L.Refused), outcome
    assert local.seen == [] and public.seen == []


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "1.1.1.1", "93.184.215.14"])
def test_public_addresses_pass(address: str) -> None:
    assert L.address_refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "127.255.0.9", "::1", "10.1.2.3", "172.16.0.1", "192.168.0.10", "169.254.169.254", "fe80::1",
     "0.0.0.0", "::", "224.0.0.251", "239.1.1.1", "ff02::1", "fc00::1", "100.64.0.1", "198.18.0.1", "240.0.0.1",
     "255.255.255.255", "192.0.2.1", "::ffff:127.0.0.1", "::ffff:8.8.8.8", "64:ff9b::a00:1", "2002:c0a8:0001::",
     "2001:0:4136:e378:8000:63bf:80ff:fffe", "fec0::1", "fe80::1%eth0"],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    assert L.address_refusal(ipaddress.ip_address(address)) is not None


def test_refusal_reasons_name_the_kind_of_address() -> None:
    reason = lambda a: L.address_refusal(ipaddress.ip_address(a))  # noqa: E731
    assert reason("127.0.0.1") == "loopback" and reason("::1") == "loopback"
    assert reason("169.254.169.254") == "link-local" and reason("224.0.0.251") == "multicast"
    assert reason("::ffff:127.0.0.1") == "embedded loopback" and reason("64:ff9b::a00:1") == "embedded private"


def test_numeric_hosts() -> None:
    assert all(L.is_numeric_host(h) for h in ["2130706433", "0x7f.1", "127.1", "017700000001", "0x7f000001"])
    assert not any(L.is_numeric_host(h) for h in ["example.com", "cafe.de", "abc", "1.2.3.4.5", "face"])


def test_production_refuses_private_links(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKEWATCH_ENVIRONMENT", "production")
    monkeypatch.setenv("FAKEWATCH_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("FAKEWATCH_PSEUDONYM_SECRET", "s3cret-pepper")
    monkeypatch.setenv("FAKEWATCH_OPERATOR_TOKEN", "t0ken")
    assert Settings(_env_file=None).allow_private_links is False
    with pytest.raises(ValueError, match="ALLOW_PRIVATE_LINKS"):
        Settings(_env_file=None, allow_private_links=True)


# --- finding links ----------------------------------------------------------------------------------------
def test_links_in_plain_text() -> None:
    text = (
        "look (https://example.com/a_(b).jpg), and http://x.org/v.mp4. also ftp://no and https://example.com/a_(b).jpg"
    )
    assert L.links_in_text(text) == ["https://example.com/a_(b).jpg", "http://x.org/v.mp4"]
    assert L.links_in_text("no links here") == []
    assert len(L.links_in_text(" ".join(f"https://e{i}.com/" for i in range(10)))) == L.LINKS_PER_MESSAGE


def test_links_in_a_telegram_message_with_entities() -> None:
    text = "🙂 see example.com/pic.jpg and this"
    # Telegram offsets count UTF-16 code units: the emoji is 2, so "example.com/pic.jpg" starts at 7
    message = Message.de_json(
        {
            "message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": text,
            "entities": [
                {"type": "url", "offset": 7, "length": 19},
                {"type": "text_link", "offset": 31, "length": 4, "url": "https://news.example/story"},
            ],
        },
        None,
    )  # fmt: skip
    assert L.links_in(message) == ["http://example.com/pic.jpg", "https://news.example/story"]
    caption = Message.de_json(
        {"message_id": 2, "date": 0, "chat": {"id": 1, "type": "private"}, "caption": "src: https://a.example/v.mp4",
         "caption_entities": [{"type": "url", "offset": 5, "length": 23}]},
        None,
    )  # fmt: skip
    assert L.links_in(caption) == ["https://a.example/v.mp4"]
    assert MessageEntity.TEXT_LINK == "text_link"


async def test_fetch_first_prefers_media(open_fetcher: L.LinkFetcher, local: Site) -> None:
    outcome = await L.fetch_first(open_fetcher, [local.url("/text"), local.url("/photo.jpg")])
    assert isinstance(outcome, L.MediaFound)
    outcome = await L.fetch_first(open_fetcher, [local.url("/missing"), local.url("/text")])
    assert isinstance(outcome, L.HttpError)
    assert await L.fetch_first(open_fetcher, []) is None


def test_link_filter_matches_links_only() -> None:
    from telegram import Update

    flt = L.link_filter()

    def update(**fields: object) -> Update:
        body = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, **fields}
        return Update.de_json({"update_id": 1, "message": body}, None)

    assert flt.check_update(update(text="x example.com", entities=[{"type": "url", "offset": 2, "length": 11}]))
    assert flt.check_update(update(text="see https://a.example/p.jpg"))  # no entity: plain text
    assert flt.check_update(
        update(
            caption="link",
            caption_entities=[{"type": "text_link", "offset": 0, "length": 4, "url": "https://a.example"}],
        )
    )
    assert not flt.check_update(update(text="no link here"))


@pytest.mark.parametrize(
    "url",
    ["http://" + "a" * 300 + ".com/x", "http://a..b/", "http://[::1/", "http:///x", "http://exa mple.com/",
     "http://%00/", "http://-/"],
)  # fmt: skip
async def test_malformed_links_get_a_typed_answer(url: str) -> None:
    async with L.LinkFetcher(limits=LIMITS, resolver=FixedDNS({})) as fetcher:
        outcome = await fetcher.fetch(url)
    assert isinstance(outcome, (L.NotMedia, L.Unreachable, L.Refused)), outcome
    assert isinstance(L.links_in_text(f"see {url} here"), list)  # finding links never raises either
