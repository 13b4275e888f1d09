"""The console in a real headless Chromium: sign in, see the chart, filter the log, export CSV."""

from __future__ import annotations

import csv
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from fakewatch.console import create_console_app

CHROMIUM = os.environ.get("FAKEWATCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TOKEN = "browser-test-operator-token-42"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (make system-deps)"),
    pytest.mark.parametrize("backend", ["postgresql"]),  # the production backend; HTTP tests cover both
]


@pytest.fixture
async def console_url(sessions, console_log) -> AsyncIterator[str]:
    runner = web.AppRunner(create_console_app(sessions, TOKEN))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def browser_page():
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = await browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 1100})
        page = await context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors  # type: ignore[attr-defined]
        yield page
        await browser.close()


async def test_refused_without_and_with_a_wrong_token(console_url, browser_page, backend) -> None:
    page = browser_page
    await page.goto(f"{console_url}/checks")
    assert page.url == f"{console_url}/login"  # no session: sent to sign in
    assert await page.locator("#check-log").count() == 0
    await page.fill("#token", "definitely-wrong-token")
    await page.click("#login-form button[type=submit]")
    assert "not right" in await page.locator("#login-error").inner_text()
    await page.goto(f"{console_url}/")
    assert page.url == f"{console_url}/login"
    assert await page.context.cookies() == []


async def test_sign_in_chart_filter_export(console_url, browser_page, backend, tmp_path) -> None:
    page = browser_page
    await page.goto(f"{console_url}/")
    await page.fill("#token", TOKEN)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_url(f"{console_url}/")
    assert TOKEN not in page.url

    cookie = next(c for c in await page.context.cookies() if c["name"] == "fakewatch_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and TOKEN not in cookie["value"]
    assert await page.evaluate("document.cookie") == ""  # HttpOnly: invisible to scripts

    chart = page.locator("#chart-checks-per-day")
    await chart.wait_for()
    bars = chart.locator("rect.bar")
    assert await bars.count() >= 5
    assert await chart.bounding_box() is not None and (await chart.bounding_box())["height"] > 100
    assert await page.locator("#chart-latency polyline.line-p95").count() == 1
    assert "70% agree" in await page.locator("#chart-agreement").text_content()
    assert await page.locator("#total-checks").inner_text() == "40"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "console.png"), full_page=True)

    # The window selector submits itself (console.js).
    await page.select_option("#days", "7")
    await page.wait_for_url(f"{console_url}/?days=7")

    await page.click("nav >> text=Check log")
    await page.wait_for_url(f"{console_url}/checks")
    assert "40 checks" in await page.locator("#result-count").inner_text()
    await page.select_option("#verdict", "fake")
    await page.fill("input[name=chat_id]", "-1002")
    await page.click("#apply-filters")
    await page.wait_for_url("**/checks?**verdict=fake**")
    assert "10 checks" in await page.locator("#result-count").inner_text()
    verdicts = await page.locator("#check-log tbody .verdict").all_inner_texts()
    assert verdicts and set(verdicts) == {"fake"}
    await page.screenshot(path=str(ARTIFACTS / "console-log.png"), full_page=True)

    async with page.expect_download() as info:
        await page.click("#export-csv")
    download = await info.value
    target = tmp_path / "export.csv"
    await download.save_as(target)
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert len(rows) == 10 and {r["verdict"] for r in rows} == {"fake"} and {r["chat_id"] for r in rows} == {"-1002"}

    await page.click("nav button:has-text('Sign out')")
    await page.wait_for_url(f"{console_url}/login")
    await page.goto(f"{console_url}/checks")
    assert page.url == f"{console_url}/login"
    assert page.errors == []  # no CSP violations or script errors
