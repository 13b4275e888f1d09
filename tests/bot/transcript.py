"""Render what the bot sent to the fake Telegram server as a chat screenshot (headless Chromium).

Used by a test (the transcript of a real end-to-end check becomes ``test-artifacts/bot-reply.png``)
and, run as a script, to make the README's ``docs/bot-reply.png`` with the shipped models:

    .venv/bin/python tests/bot/transcript.py ../shared/data/videos/fake/dfdc_widuwuoiur.mp4 docs/bot-reply.png
"""

from __future__ import annotations

import asyncio
import base64
import html
import sys
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

_PAGE = """<!doctype html><meta charset="utf-8"><style>
body{{margin:0;background:#c9d8e6;font:15px/1.4 system-ui,sans-serif}}
.chat{{width:420px;padding:16px;display:flex;flex-direction:column;gap:8px}}
.b{{max-width:330px;padding:8px 12px;border-radius:14px;white-space:pre-wrap;box-shadow:0 1px 1px #0002}}
.in{{align-self:flex-end;background:#e1ffc7}}.out{{align-self:flex-start;background:#fff}}
.b img{{display:block;max-width:306px;border-radius:8px;margin-bottom:6px}}
.kb{{display:flex;gap:6px;margin-top:6px}}.kb span{{flex:1;text-align:center;background:#eef3f8;
border-radius:8px;padding:4px;color:#3a6d99}}.who{{font-size:12px;color:#3a6d99;font-weight:600}}
</style><div class="chat">{bubbles}</div>"""


def transcript_html(user_text: str, calls: list[Any]) -> str:
    """Chat bubbles: the user's forwarded media, then every sendMessage / sendPhoto of the bot."""
    bubbles = [f'<div class="b in">{html.escape(user_text)}</div>']
    for call in calls:
        if call.method not in ("sendMessage", "sendPhoto"):
            continue
        text = str(call.params.get("text") or call.params.get("caption") or "")
        if call.params.get("parse_mode") != "HTML":  # HTML-mode text is Telegram's b/i subset
            text = html.escape(text)
        img = ""
        if call.method == "sendPhoto" and call.files.get("photo"):
            img = f'<img src="data:image/jpeg;base64,{base64.b64encode(call.files["photo"]).decode()}">'
        keyboard = ""
        markup = call.params.get("reply_markup")
        if isinstance(markup, dict):
            labels = [b.get("text", "") for row in markup.get("inline_keyboard", []) for b in row]
            keyboard = '<div class="kb">' + "".join(f"<span>{html.escape(x)}</span>" for x in labels) + "</div>"
        bubbles.append(f'<div class="b out"><div class="who">fakewatch</div>{img}{text}{keyboard}</div>')
    return _PAGE.format(bubbles="".join(bubbles))


async def screenshot(page_html: str, out: Path) -> None:
    from playwright.async_api import async_playwright

    out.parent.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 452, "height": 300})
            await page.set_content(page_html)
            await page.locator(".chat").screenshot(path=str(out))
        finally:
            await browser.close()


async def _demo(video: Path, out: Path) -> None:
    """A real check of ``video`` through the real bot with the shipped models (README image)."""
    import json
    import tempfile

    sys.path.insert(0, str(Path(__file__).parent))
    from _bot_harness import ALICE, ALICE_CHAT, FAST, Harness
    from engine_http import engine_check_fn, engine_models, serving_stand_in
    from fake_telegram import FakeTelegram

    import db
    from fakewatch.settings import Settings
    from serving.engine import Engine

    engine = Engine(Settings(environment="test"))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/demo.sqlite3"
        await db.upgrade(url)
        fake = await FakeTelegram().start()
        try:
            async with serving_stand_in(engine_check_fn(engine), engine_models(engine)) as serving:
                dbe = db.create_engine(url)
                h = Harness(fake, serving, url, db.session_factory(dbe), FAST)
                async with h.bot():
                    _, msg = h.send_media(ALICE_CHAT, ALICE, video.read_bytes(), "video")
                    await h.reply_to(ALICE_CHAT["id"], msg["message_id"], timeout=300)
                    await asyncio.sleep(1.0)
                await dbe.dispose()
            calls = [c for c in fake.calls if c.params.get("chat_id") == ALICE_CHAT["id"]]
            print(json.dumps([c.params.get("text") or c.params.get("caption") for c in calls], indent=1))
            await screenshot(transcript_html(f"{video.name} (forwarded video)", calls), out)
        finally:
            await fake.close()


if __name__ == "__main__":
    asyncio.run(_demo(Path(sys.argv[1]), Path(sys.argv[2])))
