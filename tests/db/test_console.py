"""The operator console over HTTP: sign-in, refusals, pages, CSV export (both backends)."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from fakewatch.console import COOKIE_NAME, create_console_app

TOKEN = "operator-token-for-tests-0123456789"


@pytest.fixture
async def client(sessions) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_console_app(sessions, TOKEN))) as c:
        yield c


async def _sign_in(client: TestClient, token: str = TOKEN):
    return await client.post("/login", data={"token": token}, allow_redirects=False)


async def test_refused_without_a_session(client) -> None:
    for path in ("/", "/checks", "/export.csv", f"/checks?token={TOKEN}"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/login", path
    assert (await client.post("/logout", allow_redirects=False)).status == 401
    login = await client.get("/login")
    assert login.status == 200 and 'name="token"' in await login.text()
    assert "default-src 'none'" in login.headers["Content-Security-Policy"]


async def test_wrong_token_is_refused_and_guessing_is_throttled(client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    response = await _sign_in(client, "not-the-token")
    assert response.status == 403 and "not right" in await response.text()
    assert COOKIE_NAME not in response.cookies
    assert (await client.get("/", allow_redirects=False)).status == 303
    for _ in range(4):
        await _sign_in(client, "still-wrong")
    assert (await _sign_in(client)).status == 429  # even the right token waits now
    assert "not-the-token" not in caplog.text and TOKEN not in caplog.text


async def test_sign_in_sets_a_strict_httponly_session(client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    response = await _sign_in(client)
    assert response.status == 303 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    assert (await client.get("/", allow_redirects=False)).status == 200
    assert TOKEN not in caplog.text
    await client.post("/logout")
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_a_forged_cookie_is_refused(client) -> None:
    client.session.cookie_jar.update_cookies({COOKIE_NAME: "made-up-session-id"})
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_dashboard_shows_charts_and_counts(client, console_log) -> None:
    await _sign_in(client)
    page = await (await client.get("/?days=7")).text()
    assert 'id="chart-checks-per-day"' in page and 'id="chart-latency"' in page
    assert 'id="chart-agreement"' in page and "70% agree (7 of 10 votes)" in page
    assert page.count('class="bar"') >= 5 and 'data-verdict="fake"' in page
    assert '<span class="value" id="total-checks">40</span>' in page


async def test_check_log_filters_and_pages(client, console_log) -> None:
    await _sign_in(client)
    page = await (await client.get("/checks?verdict=fake&chat_id=-1002")).text()
    assert "10 checks · page 1 of 1" in page
    assert 'verdict-real"' not in page
    page = await (await client.get("/checks?page=1")).text()
    assert "40 checks · page 1 of 1" in page
    bad = await client.get("/checks?verdict=maybe")
    assert bad.status == 400 and "unknown verdict" in await bad.text()


async def test_csv_export_follows_the_filters(client, console_log) -> None:
    await _sign_in(client)
    response = await client.get("/export.csv?verdict=real&since=7d")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert len(rows) == 15 and {r["verdict"] for r in rows} == {"real"}
    assert (await client.get("/export.csv?min_probability=7")).status == 400


def test_console_refuses_a_weak_token(sessions) -> None:
    with pytest.raises(ValueError, match="operator token"):
        create_console_app(sessions, "")
