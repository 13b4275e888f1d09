"""Make the README's pictures from the running app (``make docs``); tests never write into docs/.

``docs/upload-page.png``: the real Ray Serve app with the shipped models (``models/``) on a local
Ray, the upload page in headless Chromium at a phone's width, one file checked, a full-page
screenshot kept as a 256-colour PNG (small in git):

    .venv/bin/python docs/make_images.py [--file PATH] [--out docs/upload-page.png]

The default file is a real face photo from ../shared/data (read, never copied into the repo).

``docs/bot-reply.png`` is made by the bot's transcript renderer on the fake Telegram server:

    .venv/bin/python tests/bot/transcript.py ../shared/data/videos/fake/dfdc_widuwuoiur.mp4 docs/bot-reply.png
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import socket
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("FAKEWATCH_SHARED_DATA", REPO.parent / "shared" / "data"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
DEFAULT_FILE = "faces/stylegan/real/00600.jpg"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(port: int) -> str:
    """The app as ``fakewatch serve`` builds it (shipped models), on a local Ray; returns its URL."""
    import ray
    from ray import serve

    from serving.app import build_app
    from serving.app.cli import use_throughput_mode

    use_throughput_mode()
    ray.init(num_cpus=os.cpu_count() or 2, include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    small = {"num_cpus": 0.25}  # fits a 2-core machine, like the tests' app
    args = {"settings": {"device": "cpu"}, "ingress": small, "prep": small, "image": small, "video": small}
    serve.run(build_app(args), name="fakewatch", route_prefix="/")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        try:
            with urllib.request.urlopen(url + "/v1/health", timeout=10) as resp:
                if resp.status == 200:
                    return url
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


async def screenshot(url: str, file: Path, out: Path) -> None:
    from PIL import Image
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 420, "height": 900}, device_scale_factor=1)
            page = await context.new_page()
            await page.goto(url + "/")
            await page.set_input_files("#file", str(file))
            await page.locator("#verdict").wait_for(state="visible", timeout=300_000)
            await page.wait_for_timeout(300)  # let the heat map image paint
            png = await page.screenshot(full_page=True)
        finally:
            await browser.close()
    with Image.open(io.BytesIO(png)) as image:
        small = image.convert("RGB").quantize(colors=256)
    out.parent.mkdir(parents=True, exist_ok=True)
    small.save(out, optimize=True)
    print(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=SHARED / DEFAULT_FILE, help="the photo or video to check")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "upload-page.png")
    args = parser.parse_args()
    if not args.file.exists():
        raise SystemExit(f"no such file: {args.file} (set FAKEWATCH_SHARED_DATA or pass --file)")
    if not Path(CHROMIUM).exists():
        raise SystemExit("no /usr/bin/chromium: run `make system-deps` first")
    from ray import serve

    try:
        url = start_app(free_port())
        asyncio.run(screenshot(url, args.file, args.out))
    finally:
        serve.shutdown()


if __name__ == "__main__":
    main()
