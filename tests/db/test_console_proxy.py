"""The console behind a TLS-terminating proxy: the real client for the sign-in throttle, the
Secure cookie from X-Forwarded-Proto, and HSTS in production (both backends).

The aiohttp test server's peer is 127.0.0.1, so "behind a proxy" means trusting 127.0.0.1 and
sending the headers that proxy would add.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from fakewatch.console import COOKIE_NAME, create_console_app

TOKEN = "operator-token-for-tests-0123456789"


@pytest.fixture
async def behind_proxy(sessions) -> AsyncIterator[TestClient]:
    app = create_console_app(sessions, TOKEN, trusted_proxies=["127.0.0.1"])
    async with TestClient(TestServer(app)) as c:
        yield c


@pytest.fixture
async def direct(sessions) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_console_app(sessions, TOKEN))) as c:
        yield c


async def sign_in(client: TestClient, token: str, **headers: str):
    return await client.post("/login", data={"token": token}, headers=headers, allow_redirects=False)


def forwarded(client_ip: str, forged: str = "6.6.6.6") -> dict[str, str]:
    # the client's own (forged) entry first, then the address our proxy saw
    return {"X-Forwarded-For": f"{forged}, {client_ip}", "X-Forwarded-Proto": "https"}


async def test_one_guessing_client_does_not_lock_out_other_operators(behind_proxy) -> None:
    for i in range(5):  # rotating the forged part changes nothing
        assert (await sign_in(behind_proxy, "wrong", **forwarded("198.51.100.1", f"6.6.6.{i}"))).status == 403
    assert (await sign_in(behind_proxy, TOKEN, **forwarded("198.51.100.1"))).status == 429
    response = await sign_in(behind_proxy, TOKEN, **forwarded("198.51.100.2"))
    assert response.status == 303 and COOKIE_NAME in response.cookies


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(direct) -> None:
    for i in range(5):  # each guess claims another address: all count for the real peer
        await sign_in(direct, "wrong", **{"X-Forwarded-For": f"198.51.100.{i}"})
    assert (await sign_in(direct, TOKEN, **{"X-Forwarded-For": "198.51.100.99"})).status == 429


async def test_cookie_is_secure_when_the_proxy_says_https(behind_proxy) -> None:
    response = await sign_in(behind_proxy, TOKEN, **forwarded("198.51.100.3"))
    assert "Secure" in response.headers["Set-Cookie"]
    plain = await sign_in(behind_proxy, TOKEN, **{"X-Forwarded-For": "198.51.100.4", "X-Forwarded-Proto": "http"})
    assert "Secure" not in plain.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in response.headers  # not production


async def test_x_forwarded_proto_from_an_untrusted_peer_is_ignored(direct) -> None:
    response = await sign_in(direct, TOKEN, **{"X-Forwarded-Proto": "https"})
    assert response.status == 303 and "Secure" not in response.headers["Set-Cookie"]


async def test_production_always_sets_secure_cookies_and_hsts(sessions) -> None:
    app = create_console_app(sessions, TOKEN, production=True)
    async with TestClient(TestServer(app)) as client:
        login = await client.get("/login")
        assert login.headers["Strict-Transport-Security"] == "max-age=31536000"
        response = await sign_in(client, TOKEN)
        assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        refused = await client.get("/", allow_redirects=False)  # no cookie sent back over http
        assert refused.headers["Strict-Transport-Security"].startswith("max-age=")


def test_bad_proxy_entries_are_refused(sessions) -> None:
    with pytest.raises(ValueError, match="not an IP"):
        create_console_app(sessions, TOKEN, trusted_proxies=["proxy.internal"])


def test_console_refuses_a_public_bind_with_the_default_token(db_url, monkeypatch, capsys) -> None:
    from fakewatch.ops_cli import console_main
    from fakewatch.settings import get_settings

    for name in ("FAKEWATCH_PSEUDONYM_SECRET", "FAKEWATCH_OPERATOR_TOKEN", "FAKEWATCH_CONSOLE_HOST"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    try:
        assert console_main(["--host", "0.0.0.0", "--database-url", db_url]) == 2  # before serving anything
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "--host=0.0.0.0 listens beyond this machine" in err and "FAKEWATCH_OPERATOR_TOKEN" in err
