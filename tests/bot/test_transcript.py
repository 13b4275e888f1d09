"""A real end-to-end check rendered as a chat screenshot (what a person sees), in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from _bot_harness import ALICE, ALICE_CHAT, Harness, text_of
from transcript import CHROMIUM, screenshot, transcript_html

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is installed by `make test`")
async def test_video_reply_renders_as_a_chat(harness: Harness, small_video: bytes) -> None:
    async with harness.bot():
        _, msg = harness.send_media(ALICE_CHAT, ALICE, small_video, "video")
        answer = await harness.reply_to(ALICE_CHAT["id"], msg["message_id"], timeout=120)
    calls = [c for c in harness.telegram.calls if c.params.get("chat_id") == ALICE_CHAT["id"]]
    page = transcript_html("forwarded video", calls)
    assert text_of(answer).split("\n")[0] in page  # the verdict line, as the bot formatted it
    assert "Right" in page and "Wrong" in page
    out = ARTIFACTS / "bot-reply.png"
    out.unlink(missing_ok=True)
    await screenshot(page, out)
    assert out.stat().st_size > 5_000 and out.read_bytes()[:4] == b"\x89PNG"
