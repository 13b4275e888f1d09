"""The upload page in a real headless Chromium: pick a photo, see the verdict and the heat map."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.serving_app.conftest import ServeApp

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


@pytest.fixture
async def page():
    if not Path(CHROMIUM).exists():
        pytest.skip("no /usr/bin/chromium (make system-deps installs it)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 420, "height": 900}, device_scale_factor=1)
            yield await context.new_page()
        finally:
            await browser.close()


async def test_pick_a_photo_and_see_verdict_and_heat_map(serve_app: ServeApp, face_image: Path, page) -> None:
    external: list[str] = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith((serve_app.url, "data:")) else None)
    await page.goto(serve_app.url + "/")
    await page.set_input_files("#file", str(face_image))
    verdict = page.locator("#verdict")
    await verdict.wait_for(state="visible", timeout=60_000)
    assert await verdict.get_attribute("data-verdict") in {"real", "uncertain", "fake"}
    assert "likely fake" in await page.locator("#confidence").inner_text()
    heat = page.locator("#heatmap")
    await heat.wait_for(state="visible")
    assert (await heat.get_attribute("src")).startswith("data:image/jpeg;base64,")
    assert await heat.evaluate("img => img.complete && img.naturalWidth > 0")
    assert await page.locator("#faces tbody tr").count() >= 1
    assert "untrained" in await page.locator("#model").inner_text()
    assert external == [], f"the page fetched outside assets: {external}"

    artifacts = REPO_ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shot = artifacts / "upload-page.png"
    await page.screenshot(path=str(shot), full_page=True)
    # The committed copy in docs/: a 256-colour palette keeps it small.
    from PIL import Image

    docs_png = REPO_ROOT / "docs" / "upload-page.png"
    docs_png.parent.mkdir(exist_ok=True)
    with Image.open(shot) as im:
        small = im.convert("RGB").quantize(colors=256)
    if docs_png.exists():
        with Image.open(docs_png) as old:
            if old.size == small.size and old.convert("RGB").tobytes() == small.convert("RGB").tobytes():
                return  # unchanged: leave the committed file alone
    small.save(docs_png, optimize=True)


async def test_the_page_explains_a_file_it_cannot_check(serve_app: ServeApp, page, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo\n" * 10)
    await page.goto(serve_app.url + "/")
    await page.set_input_files("#file", str(notes))
    verdict = page.locator("#verdict")
    await verdict.wait_for(state="visible", timeout=60_000)
    assert await verdict.get_attribute("data-verdict") == "invalid"
    assert "unsupported" in await page.locator("#summary").inner_text()


async def test_a_key_only_page_asks_for_a_key_once(serve_app: ServeApp, key_store, face_image: Path, page) -> None:
    """/keyed requires API keys: the page prompts, sends the key (X-API-Key), and keeps it."""
    import asyncio

    from tests.serving_app.conftest import wait_until_key_works

    key = await key_store.acreate("upload-page")
    await asyncio.to_thread(wait_until_key_works, serve_app.url + "/keyed", key)
    prompts: list[str] = []

    async def answer(dialog) -> None:
        prompts.append(dialog.message)
        await dialog.accept(key)

    page.on("dialog", answer)
    await page.goto(serve_app.url + "/keyed/")
    other = sorted(face_image.parent.glob("*.jpg"))[-1]
    for photo in (face_image, other):  # the second file reuses the key: no second prompt
        await page.set_input_files("#file", str(photo))
        verdict = page.locator("#verdict")
        await verdict.wait_for(state="visible", timeout=60_000)
        assert await verdict.get_attribute("data-verdict") in {"real", "uncertain", "fake", "no_face"}
        await page.evaluate("() => { document.getElementById('result').hidden = true; }")
    assert prompts == ["This checker needs an API key:"]
