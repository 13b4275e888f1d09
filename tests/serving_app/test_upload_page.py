"""The upload page in a real headless Chromium against the real Ray Serve app (tiny models).

Pick a photo or a video, see the verdict in plain words, one row per person, the timeline chart,
the most suspicious moments and the provenance block. Screenshots go to ``test-artifacts/``
(ignored by git); ``docs/upload-page.png`` is made by ``make docs``, never by a test.
"""

from __future__ import annotations

import io
import json
import sys
import urllib.request
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from serving.contract import CheckResult, Reason, Verdict
from serving.provenance import read_provenance
from tests.conftest import REPO_ROOT
from tests.serving_app.conftest import ServeApp

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"  # in .gitignore
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def provenance_factory():
    """tests/serving/_provenance_factory (signing with certificates made in the test)."""
    path = str(REPO_ROOT / "tests" / "serving")
    if path not in sys.path:
        sys.path.insert(0, path)
    import _provenance_factory

    return _provenance_factory


@pytest.fixture
async def page():
    if not Path(CHROMIUM).exists():
        pytest.skip("no /usr/bin/chromium (make system-deps installs it)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            # A phone-sized window: the page must read well at this width.
            context = await browser.new_context(viewport={"width": 420, "height": 900}, device_scale_factor=1)
            yield await context.new_page()
        finally:
            await browser.close()


def offline_guard(page, serve_app: ServeApp) -> list[str]:
    external: list[str] = []
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith((serve_app.url, "data:")) else None,
    )
    return external


async def upload(page, serve_app: ServeApp, path: Path) -> dict:
    """Pick the file in the page; return the JSON answer the page received."""
    await page.goto(serve_app.url + "/")
    async with page.expect_response(lambda r: "/v1/check" in r.url, timeout=120_000) as answer:
        await page.set_input_files("#file", str(path))
    data = await (await answer.value).json()
    await page.locator("#verdict").wait_for(state="visible", timeout=60_000)
    return data


async def fits_a_phone(page) -> None:
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a 420px phone screen"


def server_answer(serve_app: ServeApp, data: bytes) -> dict:
    req = urllib.request.Request(
        serve_app.url + "/v1/check",
        data=data,
        method="POST",
        headers={"Content-Type": "application/octet-stream"},
    )
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.loads(resp.read())


def png_with_xmp(source: Path, source_type: str, tool: str) -> bytes:
    """The photo as a PNG whose XMP declares how it was made (the way generators tag files)."""
    packet = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'Iptc4xmpExt:DigitalSourceType="{IPTC}{source_type}" xmp:CreatorTool="{tool}"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet)
    buffer = io.BytesIO()
    Image.open(source).convert("RGB").save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


async def render(page, serve_app: ServeApp, answer: CheckResult) -> None:
    """Show a real answer with the page's own renderer (no upload)."""
    await page.goto(serve_app.url + "/")
    await page.evaluate("data => window.fakewatch.render(data)", answer.to_json())
    await page.locator("#verdict").wait_for(state="visible")


async def test_pick_a_photo_and_see_verdict_and_heat_map(serve_app: ServeApp, face_image: Path, page) -> None:
    external = offline_guard(page, serve_app)
    data = await upload(page, serve_app, face_image)
    verdict = page.locator("#verdict")
    assert await verdict.get_attribute("data-verdict") == data["verdict"] in {"real", "uncertain", "fake"}
    assert "likely fake" in await page.locator("#confidence").inner_text()
    heat = page.locator("#heatmap")
    await heat.wait_for(state="visible")
    assert (await heat.get_attribute("src")).startswith("data:image/jpeg;base64,")
    assert await heat.evaluate("img => img.complete && img.naturalWidth > 0")
    rows = page.locator("#people tbody tr")
    assert await rows.count() == len(data["faces"]) >= 1
    table = await page.locator("#people").inner_text()
    assert "Face 1" in table and "box" not in table.lower()  # boxes stay in the JSON
    assert "untrained" in await page.locator("#model").inner_text()
    assert await page.locator("#timeline-section").is_hidden()  # a photo has no timeline
    await page.locator("#raw-box summary").click()
    raw = json.loads(await page.locator("#raw").inner_text())
    assert raw["faces"][0]["box"] == data["faces"][0]["box"]
    await fits_a_phone(page)
    assert external == [], f"the page fetched outside assets: {external}"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "upload-page.png"), full_page=True)


async def test_a_video_shows_people_timeline_and_moments(serve_app: ServeApp, shared_videos, page) -> None:
    external = offline_guard(page, serve_app)
    data = await upload(page, serve_app, shared_videos["ffpp_cyshih704_fake"])
    assert data["kind"] == "video" and data["tracks"], data.get("verdict")
    rows = page.locator("#people tbody tr")
    assert await rows.count() == len(data["tracks"])
    assert len(data["faces"]) > len(data["tracks"])  # not one row per sampled frame any more
    first = await rows.nth(0).inner_text()
    track = data["tracks"][0]
    assert "Person 1" in first and f"{100 * track['fake_probability']:.1f}%" in first
    assert f"{track['faces']} of {data['frames_sampled']}" in first
    assert "box" not in (await page.locator("#people").inner_text()).lower()
    chart = page.locator("#timeline svg")
    await chart.wait_for(state="visible")
    assert await chart.locator("circle").count() == len(data["timeline"])
    assert await chart.locator("circle.moment").count() == len({m["t"] for m in data["moments"]})
    moments = page.locator("#moments li")
    assert await moments.count() == len(data["moments"]) >= 1
    assert f"{100 * data['moments'][0]['fake_probability']:.1f}% likely fake" in await moments.nth(0).inner_text()
    await fits_a_phone(page)
    assert external == []
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "upload-page-video.png"), full_page=True)


async def test_the_provenance_block_shows_what_the_reader_found(
    serve_app: ServeApp, face_image: Path, page, tmp_path: Path
) -> None:
    """The server's real answer for a marked file, with the real reader's provenance in it.

    Until serving.provenance is wired into intake (the lead's integration) the server leaves
    ``provenance`` empty, so the reader's answer for the same bytes is put in here; after that
    the server's own answer is used as it is.
    """
    factory = provenance_factory()
    xmp_png = png_with_xmp(face_image, "trainedAlgorithmicMedia", "Midjourney v7")
    signed, _ = factory.sign(
        xmp_png,
        "image/png",
        factory.manifest("DALL·E", "trainedAlgorithmicMedia", agent="DALL·E 3"),
        factory.make_chain(),
    )
    cases = {
        "xmp": (xmp_png, ["Midjourney", "not signed", "made by a generative AI model"]),
        "c2pa": (signed, ["OpenAI DALL·E", "signature is valid", "not on the C2PA trust list", "created"]),
    }
    external = offline_guard(page, serve_app)
    for name, (data, words) in cases.items():
        answer = CheckResult.model_validate(server_answer(serve_app, data))
        if not answer.provenance.found:
            answer = answer.model_copy(update={"provenance": read_provenance(data)})
        await render(page, serve_app, answer)
        block = page.locator("#provenance")
        assert await block.is_visible() and await block.get_attribute("data-state") == "ai", name
        text = await block.inner_text()
        assert "declares that it was made or changed with generative AI" in text, name
        for word in words:
            assert word in text, (name, word, text)
        await fits_a_phone(page)
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / f"upload-page-provenance-{name}.png"), full_page=True)
    assert external == []


async def test_verdict_wording(serve_app: ServeApp, face_image: Path, page) -> None:
    """What each verdict says, on the server's real answer for a face photo and a no-face photo."""
    face = CheckResult.model_validate(server_answer(serve_app, face_image.read_bytes()))
    marked = read_provenance(png_with_xmp(face_image, "trainedAlgorithmicMedia", "Adobe Firefly"))
    empty = read_provenance(face_image.read_bytes())
    assert marked.ai_generated is True and empty.found is False

    await render(page, serve_app, face.model_copy(update={"verdict": Verdict.REAL, "reason": Reason.FACE_MODEL}))
    assert (await page.locator("#summary").inner_text()).startswith("No signs of face manipulation found")
    assert "faces only" in await page.locator("#limits").inner_text()

    await render(page, serve_app, face.model_copy(update={"verdict": Verdict.FAKE, "reason": Reason.FACE_MODEL}))
    assert "face model found signs of face manipulation" in await page.locator("#summary").inner_text()

    await render(
        page,
        serve_app,
        face.model_copy(update={"verdict": Verdict.FAKE, "reason": Reason.PROVENANCE, "provenance": marked}),
    )
    summary = await page.locator("#summary").inner_text()
    assert "declares that it was made with generative AI (Adobe Firefly)" in summary
    assert "not the face model" in summary
    assert await page.locator("#confidence").inner_text() == "declared by the file"
    assert await page.locator("#limits").is_hidden()

    no_face = CheckResult(kind=face.kind, verdict=Verdict.NO_FACE, model=face.model, provenance=empty)
    await render(page, serve_app, no_face)
    summary = await page.locator("#summary").inner_text()
    assert "This service checks faces" in summary and "cannot be judged" in summary
    assert "No content credentials or AI marks found" in await page.locator("#provenance").inner_text()

    await render(page, serve_app, no_face.model_copy(update={"provenance": marked}))
    summary = await page.locator("#summary").inner_text()
    assert "checks faces" in summary and "cannot be judged" not in summary


async def test_marked_upload_end_to_end(serve_app: ServeApp, face_image: Path, page, tmp_path: Path) -> None:
    """A PNG whose XMP declares AI reads as such in the page: verdict fake, by its own marks."""
    path = tmp_path / "generated.png"
    path.write_bytes(png_with_xmp(face_image, "trainedAlgorithmicMedia", "Midjourney v7"))
    data = await upload(page, serve_app, path)
    assert data["provenance"]["found"] is True and data["provenance"]["ai_generated"] is True
    assert await page.locator("#provenance").get_attribute("data-state") == "ai"
    assert data["verdict"] == "fake" and data["reason"] == "provenance"
    assert "not the face model" in await page.locator("#summary").inner_text()


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
