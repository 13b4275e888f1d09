"""bot.handlers end to end: real PTB polling → fake Telegram → DB job → engine → reply."""

from __future__ import annotations

import asyncio
from pathlib import Path

from _bot_harness import ALICE, ALICE_CHAT, OPERATOR_ID, SECRET, Harness, text_of
from fake_telegram import group_chat, private_chat, user

import db
from bot import pseudonym

VERDICT_WORDS = ("No signs of face manipulation", "Unclear", "Likely fake", "Made with AI", "No faces found")


def assert_verdict_text(text: str) -> None:
    assert any(word in text for word in VERDICT_WORDS), text
    if "No faces found" not in text and "Made with AI" not in text:
        assert "Chance of manipulation:" in text and "%" in text and "checked" in text


async def test_forwarded_video_gets_verdict_and_a_row(harness: Harness, small_video: bytes) -> None:
    async with harness.bot():
        _, msg = harness.send_media(
            ALICE_CHAT, ALICE, small_video, "video",
            forward_origin={"type": "hidden_user", "sender_user_name": "Someone", "date": 1700000000},
        )  # fmt: skip
        answer = await harness.reply_to(ALICE_CHAT["id"], msg["message_id"], timeout=120)
        assert_verdict_text(text_of(answer))
        assert harness.telegram.sent("sendChatAction", chat_id=ALICE_CHAT["id"])  # "checking…"
        rows = await harness.wait_checks(lambda r: r and r[0].status == db.CheckStatus.DONE)
    row = rows[0]
    assert row.media_kind == "video" and row.verdict in ("real", "uncertain", "fake", "no_face")
    assert row.user_pseudonym == pseudonym(ALICE["id"], SECRET)
    assert row.chat_id is None and row.message_id is None  # private ids dropped once closed
    assert row.sha256 and len(row.sha256) == 64 and row.result["kind"] == "video"
    if row.verdict in ("real", "uncertain", "fake"):
        markup = answer.params["reply_markup"]["inline_keyboard"][0]
        assert [b["callback_data"] for b in markup] == [f"fb:{row.id}:1", f"fb:{row.id}:0"]


async def test_photo_and_feedback_buttons(harness: Harness, face_photo: bytes) -> None:
    async with harness.bot():
        _, msg = harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo")
        answer = await harness.reply_to(ALICE_CHAT["id"], msg["message_id"])
        assert_verdict_text(text_of(answer))
        rows = await harness.wait_checks(lambda r: r and r[0].status == db.CheckStatus.DONE)
        row = rows[0]
        assert row.media_kind == "image"
        if row.verdict in ("fake", "uncertain"):  # the annotated image comes with the verdict
            assert answer.method == "sendPhoto" and answer.files.get("photo", b"")[:2] == b"\xff\xd8"
        if row.verdict == "no_face":
            return
        bot_message = answer.result
        harness.telegram.push_callback(ALICE, bot_message, f"fb:{row.id}:0")
        harness.telegram.push_callback(ALICE, bot_message, f"fb:{row.id}:1")
        answers = await harness.telegram.wait_for("answerCallbackQuery", count=2)
        assert answers[0].params.get("text") == "Thanks, noted!"
        assert answers[1].params.get("text") == "You already answered — thanks!"
        async with harness.sessions() as s:
            votes = (await s.execute(db.Feedback.__table__.select())).all()
        assert len(votes) == 1 and votes[0].agrees is True  # idempotent per voter, last press wins


async def test_document_that_is_really_a_video(harness: Harness, small_video: bytes) -> None:
    async with harness.bot():
        _, msg = harness.send_media(
            ALICE_CHAT, ALICE, small_video, "document",
            document_extra={"file_name": "notes.txt", "mime_type": "text/plain"},
        )  # fmt: skip
        answer = await harness.reply_to(ALICE_CHAT["id"], msg["message_id"], timeout=120)
        assert_verdict_text(text_of(answer))
        rows = await harness.wait_checks(lambda r: r and r[0].status == db.CheckStatus.DONE)
    assert rows[0].media_kind == "video"  # decided by decoding, not by the claimed MIME


async def test_text_file_named_mp4_is_refused_clearly(harness: Harness) -> None:
    async with harness.bot():
        _, msg = harness.send_media(
            ALICE_CHAT, ALICE, b"just some notes, not a video\n" * 20, "document",
            document_extra={"file_name": "clip.mp4", "mime_type": "video/mp4"},
        )  # fmt: skip
        answer = await harness.reply_to(ALICE_CHAT["id"], msg["message_id"])
        rows = await harness.wait_checks(lambda r: r and r[0].status == db.CheckStatus.DONE)
    assert "not an image or video" in text_of(answer)
    assert "reply_markup" not in answer.params  # nothing to vote on
    assert rows[0].verdict == "invalid" and rows[0].error_code == "unsupported"


async def test_album_gets_one_combined_reply(harness: Harness, face_photo: bytes, shared_data: Path) -> None:
    second = sorted((shared_data / "faces" / "stylegan" / "real").glob("*.jpg"))[0].read_bytes()
    async with harness.bot():
        _, first_msg = harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo", media_group_id="alb1")
        await asyncio.sleep(0.2)
        _, second_msg = harness.send_media(ALICE_CHAT, ALICE, second, "photo", media_group_id="alb1")
        answer = await harness.reply_to(ALICE_CHAT["id"], first_msg["message_id"], timeout=60)
        await asyncio.sleep(1.5)  # no second reply may follow
        replies = [c for c in harness.telegram.sent("sendMessage", "sendPhoto") if c.params.get("reply_parameters")]
        harness.telegram.push_message(ALICE_CHAT, ALICE, text="/check", reply_to_message=second_msg,
                                      entities=[{"type": "bot_command", "offset": 0, "length": 6}])  # fmt: skip
        single = await harness.reply_to(ALICE_CHAT["id"], second_msg["message_id"])
        assert "Album" not in text_of(single) and "Chance of manipulation" in text_of(single)
        rows = await harness.wait_checks(lambda r: len(r) == 3 and all(x.status == db.CheckStatus.DONE for x in r))
    assert "Album, 2 files" in text_of(answer)
    assert len(rows) == 3 and rows[2].media_group_id is None  # /check on an item: checked alone
    assert len(replies) == 1
    assert [r.status for r in rows] == [db.CheckStatus.DONE] * 3
    assert {r.media_group_id for r in rows[:2]} == {"alb1"}
    assert second_msg["message_id"] > first_msg["message_id"]


async def test_repeated_update_does_nothing(harness: Harness, face_photo: bytes) -> None:
    async with harness.bot():
        update_id, msg = harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo")
        await harness.reply_to(ALICE_CHAT["id"], msg["message_id"])
        harness.telegram.redeliver(update_id)
        await harness.telegram.wait_for(lambda c: c.method == "getUpdates" and update_id in (c.result or []), count=2)
        await asyncio.sleep(1.0)
        rows = await harness.checks()
    assert len(rows) == 1
    assert harness.serving.calls == 1
    replies = [c for c in harness.telegram.sent("sendMessage", "sendPhoto") if c.params.get("reply_parameters")]
    assert len(replies) == 1


async def test_group_autocheck_admin_only_and_silent_threshold(harness: Harness, face_photo: bytes) -> None:
    group = group_chat(-100555)
    admin, member = user(201, "Admin"), user(202, "Member")
    harness.telegram.set_member(group["id"], admin["id"], "administrator")
    async with harness.bot():
        _, refused = harness.telegram.push_message(group, member, text="/autocheck on",
                                                   entities=[{"type": "bot_command", "offset": 0, "length": 10}])  # fmt: skip
        calls = await harness.telegram.wait_for(
            lambda c: c.method == "sendMessage" and "Only the group's admins" in text_of(c)
        )
        assert calls[0].params["reply_parameters"]["message_id"] == refused["message_id"]
        _, before = harness.send_media(group, member, face_photo, "photo")  # auto-check still off
        harness.telegram.push_message(group, admin, text="/autocheck on",
                                              entities=[{"type": "bot_command", "offset": 0, "length": 10}])  # fmt: skip
        await harness.telegram.wait_for(lambda c: "Auto-check is on" in text_of(c))
        harness.telegram.push_message(group, admin, text="/threshold fake",
                                                     entities=[{"type": "bot_command", "offset": 0, "length": 10}])  # fmt: skip
        await harness.telegram.wait_for(lambda c: "speak up for media that looks fake" in text_of(c))
        _, auto = harness.send_media(group, member, face_photo, "photo", unique_id="U-group-photo")
        rows = await harness.wait_checks(lambda r: len(r) == 1 and r[0].status == db.CheckStatus.DONE)
        await asyncio.sleep(0.5)
        async with harness.sessions() as s:
            settings = await db.jobs.get_chat_settings(s, group["id"])
    assert settings.autocheck is True and settings.threshold == "fake"
    assert harness.telegram.sent("getChatMember")  # admin status asked from Telegram
    row = rows[0]
    assert row.source == db.Source.GROUP and row.message_id is None and row.chat_id == group["id"]
    spoke = [c for c in harness.telegram.sent("sendMessage", "sendPhoto")
             if (c.params.get("reply_parameters") or {}).get("message_id") == auto["message_id"]]  # fmt: skip
    assert len(spoke) == (1 if row.verdict == "fake" else 0)  # silent below the threshold
    assert not any((c.params.get("reply_parameters") or {}).get("message_id") == before["message_id"]
                   for c in harness.telegram.calls)  # fmt: skip


async def test_check_command_as_reply_in_a_group(harness: Harness, face_photo: bytes) -> None:
    group = group_chat(-100777)
    member = user(301, "Bob")
    async with harness.bot():
        _, media = harness.send_media(group, member, face_photo, "photo")
        harness.telegram.push_message(
            group, member, text="/check", reply_to_message=media,
            entities=[{"type": "bot_command", "offset": 0, "length": 6}],
        )  # fmt: skip
        answer = await harness.reply_to(group["id"], media["message_id"])
        assert_verdict_text(text_of(answer))
        harness.telegram.push_message(group, member, text="/check",
                                                  entities=[{"type": "bot_command", "offset": 0, "length": 6}])  # fmt: skip
        await harness.telegram.wait_for(lambda c: "Reply to a photo or video with /check" in text_of(c))
        harness.telegram.push_message(group, member, text="/history",
                                      entities=[{"type": "bot_command", "offset": 0, "length": 8}])  # fmt: skip
        await harness.telegram.wait_for(lambda c: "Your history is private" in text_of(c))


async def test_commands_history_and_operator_only(harness: Harness, face_photo: bytes) -> None:
    def command(text: str, who: dict = ALICE, chat: dict = ALICE_CHAT) -> None:
        harness.telegram.push_message(chat, who, text=text,
                                      entities=[{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}])  # fmt: skip

    operator = user(OPERATOR_ID, "Op")
    async with harness.bot():
        await harness.telegram.wait_for("setMyCommands")
        _, msg = harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo")
        await harness.reply_to(ALICE_CHAT["id"], msg["message_id"])
        await harness.wait_checks(lambda r: r and r[0].status == db.CheckStatus.DONE)
        command("/start")
        await harness.telegram.wait_for(lambda c: "I check photos and videos" in text_of(c))
        command("/history")
        history = await harness.telegram.wait_for(lambda c: "Your last checks" in text_of(c))
        command("/stats")
        await harness.telegram.wait_for(lambda c: "This command is for operators." in text_of(c))
        command("/stats", operator, private_chat(OPERATOR_ID))
        stats = await harness.telegram.wait_for(lambda c: "fakewatch stats" in text_of(c))
        command("/export", operator, private_chat(OPERATOR_ID))
        export = await harness.telegram.wait_for("sendDocument")
        harness.telegram.push_message(ALICE_CHAT, ALICE, text="hello")
        await harness.telegram.wait_for(lambda c: "Please send a photo or a video" in text_of(c))
    names = [c["command"] for c in harness.telegram.sent("setMyCommands")[0].params["commands"]]
    assert {"start", "help", "check", "history", "settings"} <= set(names) and "stats" not in names
    assert "image" in text_of(history[0])
    assert "Checks in the last 24 h: 1" in text_of(stats[0])
    exported = export[0].files["document"].decode()
    assert pseudonym(ALICE["id"], SECRET) in exported and str(ALICE["id"]) not in exported


async def test_inbound_rate_limit_is_polite_once(harness: Harness, face_photo: bytes) -> None:
    from dataclasses import replace

    options = replace(harness.options, user_burst=2, user_per_minute=0.001)
    async with harness.bot(options):
        for _ in range(4):
            harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="U-same")
        await harness.telegram.wait_for(lambda c: "please wait a minute" in text_of(c))
        await harness.wait_checks(lambda r: len(r) == 2 and all(x.status == db.CheckStatus.DONE for x in r))
        await asyncio.sleep(0.5)
    polite = [c for c in harness.telegram.calls if "please wait a minute" in text_of(c)]
    assert len(polite) == 1
    assert len(await harness.checks()) == 2


async def test_bot_added_removed_and_group_migration(harness: Harness) -> None:
    group = group_chat(-4001, type_="group")
    admin = user(501, "Owner")
    async with harness.bot():
        harness.telegram.push_my_chat_member(group, admin, "left", "member")
        await harness.telegram.wait_for(lambda c: "Reply to a photo or video with /check" in text_of(c))
        harness.telegram.set_member(group["id"], admin["id"], "creator")
        harness.telegram.push_message(group, admin, text="/autocheck on",
                                      entities=[{"type": "bot_command", "offset": 0, "length": 10}])  # fmt: skip
        await harness.telegram.wait_for(lambda c: "Auto-check is on" in text_of(c))
        harness.telegram.push_message(group, admin, migrate_to_chat_id=-1004001)
        super_group = group_chat(-1004001)
        harness.telegram.push_message(super_group, admin, migrate_from_chat_id=-4001)
        harness.telegram.push_my_chat_member(super_group, admin, "member", "left")
        for _ in range(50):
            async with harness.sessions() as s:
                moved = await s.get(db.ChatSettings, -1004001)
                old = await s.get(db.ChatSettings, -4001)
            if moved is not None and moved.removed_at is not None:
                break
            await asyncio.sleep(0.1)
    assert old is None and moved is not None and moved.autocheck is True
    assert moved.removed_at is not None


async def test_animation_and_video_note_are_checked_once_each(harness: Harness, small_video: bytes) -> None:
    async with harness.bot():
        _, gif = harness.send_media(ALICE_CHAT, ALICE, small_video, "animation")  # also sets document
        _, note = harness.send_media(ALICE_CHAT, ALICE, small_video, "video_note", unique_id="U-note")
        await harness.reply_to(ALICE_CHAT["id"], gif["message_id"], timeout=120)
        await harness.reply_to(ALICE_CHAT["id"], note["message_id"], timeout=120)
        rows = await harness.wait_checks(lambda r: len(r) == 2 and all(x.status == db.CheckStatus.DONE for x in r))
    assert [r.payload["attachment"] for r in rows] == ["animation", "video_note"]
    assert all(r.media_kind == "video" for r in rows)


async def test_bad_input_gets_clear_answers(harness: Harness) -> None:
    group = group_chat(-100888)
    admin = user(601, "Admin")
    harness.telegram.set_member(group["id"], admin["id"], "administrator")

    def command(text: str, chat: dict, who: dict) -> None:
        harness.telegram.push_message(chat, who, text=text,
                                      entities=[{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}])  # fmt: skip

    async with harness.bot():
        harness.telegram.push_message(ALICE_CHAT, ALICE, sticker={
            "file_id": "st", "file_unique_id": "stu", "type": "regular", "width": 1, "height": 1,
            "is_animated": False, "is_video": False})  # fmt: skip
        await harness.telegram.wait_for(lambda c: "Please send a photo or a video" in text_of(c))
        command("/autocheck maybe", group, admin)
        await harness.telegram.wait_for(lambda c: "Usage: /autocheck on" in text_of(c))
        command("/threshold", group, admin)
        await harness.telegram.wait_for(lambda c: "Usage: /threshold uncertain" in text_of(c))
        command("/autocheck on", ALICE_CHAT, ALICE)
        await harness.telegram.wait_for(lambda c: "only in groups" in text_of(c))
        command("/settings", group, admin)
        await harness.telegram.wait_for(lambda c: "Auto-check: off" in text_of(c))
        command("/settings", ALICE_CHAT, ALICE)
        await harness.telegram.wait_for(lambda c: "Private chat: every photo" in text_of(c))
        harness.telegram.push_callback(ALICE, {"message_id": 1, "date": 1, "chat": ALICE_CHAT}, "fb:999999:1")
        harness.telegram.push_callback(ALICE, {"message_id": 1, "date": 1, "chat": ALICE_CHAT}, "fb:nonsense")
        answers = await harness.telegram.wait_for("answerCallbackQuery", count=2)
        harness.telegram.push_message(ALICE_CHAT, ALICE, text="/check",
                                      entities=[{"type": "bot_command", "offset": 0, "length": 6}])  # fmt: skip
        await harness.telegram.wait_for(lambda c: "Reply to a photo or video with /check" in text_of(c))
    assert answers[0].params.get("text") == "This check is no longer stored."
    assert answers[1].params.get("text") is None  # answered, silently
    assert await harness.checks() == []


async def test_edits_start_no_work_and_cost_no_token(harness: Harness, face_photo: bytes) -> None:
    """A caption edit of a checked photo (and an edited /check) is neither a job nor a token."""
    from dataclasses import replace

    options = replace(harness.options, user_burst=2, user_per_minute=0.001)
    group = group_chat(-100444)
    async with harness.bot(options):
        _, msg = harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo", caption="look")
        await harness.reply_to(ALICE_CHAT["id"], msg["message_id"])
        edits = [harness.telegram.push_edit(msg, caption=f"look {i}") for i in range(3)]
        bob = user(333, "Bob")  # the group's commands cost Bob's tokens, not Alice's
        _, media = harness.send_media(group, bob, face_photo, "photo")
        _, command = harness.telegram.push_message(group, bob, text="/help", reply_to_message=media,
                                                   entities=[{"type": "bot_command", "offset": 0, "length": 5}])  # fmt: skip
        edits.append(harness.telegram.push_edit(command, text="/check"))
        for _ in range(100):  # every edit was taken in (and marked) by the intake
            async with harness.sessions() as s:
                if all([await db.jobs.update_seen(s, u) for u in edits]):
                    break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the edits were never taken in")
        _, second = harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="U-after-edits")
        await harness.reply_to(ALICE_CHAT["id"], second["message_id"])  # the 2nd token was still there
        rows = await harness.checks()
    assert len(rows) == 2 and {r.update_id for r in rows}.isdisjoint(edits)
    answers = [c for c in harness.telegram.sent("sendMessage", "sendPhoto")
               if (c.params.get("reply_parameters") or {}).get("message_id") == msg["message_id"]]  # fmt: skip
    assert len(answers) == 1
    assert not [c for c in harness.telegram.calls if "please wait a minute" in text_of(c)]


async def test_operator_commands_answer_only_in_a_private_chat(harness: Harness) -> None:
    group = group_chat(-100999)
    operator = user(OPERATOR_ID, "Op")
    async with harness.bot():
        for text in ("/stats", "/export"):
            harness.telegram.push_message(group, operator, text=text,
                                          entities=[{"type": "bot_command", "offset": 0, "length": len(text)}])  # fmt: skip
        refusals = await harness.telegram.wait_for(lambda c: "only in a private chat" in text_of(c), count=2)
    assert all(c.params["chat_id"] == group["id"] for c in refusals)
    assert not [c for c in harness.telegram.calls if "fakewatch stats" in text_of(c)]
    assert not harness.telegram.sent("sendDocument")


async def test_limits_count_album_items_and_files_like_any_message(harness: Harness, face_photo: bytes) -> None:
    """Burst 3: an album of two and a file pass, the next message is refused (one polite notice);
    the album is answered for the items that passed."""
    from dataclasses import replace

    options = replace(harness.options, user_burst=3, user_per_minute=0.001)
    async with harness.bot(options):
        _, first = harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="lim-a", media_group_id="lim")
        harness.send_media(ALICE_CHAT, ALICE, face_photo, "photo", unique_id="lim-b", media_group_id="lim")
        _, doc = harness.send_media(ALICE_CHAT, ALICE, face_photo, "document", unique_id="lim-c",
                                    document_extra={"file_name": "x.jpg"})  # fmt: skip
        _, over = harness.send_media(ALICE_CHAT, ALICE, face_photo, "document", unique_id="lim-d")
        notice = await harness.reply_to(ALICE_CHAT["id"], over["message_id"])
        album = await harness.reply_to(ALICE_CHAT["id"], first["message_id"])
        await harness.reply_to(ALICE_CHAT["id"], doc["message_id"])
        rows = await harness.wait_checks(lambda r: len(r) == 3 and all(x.status == db.CheckStatus.DONE for x in r))
    assert "please wait a minute" in text_of(notice) and "Album, 2 files" in text_of(album)
    assert sorted(r.file_unique_id for r in rows) == ["lim-a", "lim-b", "lim-c"]
