"""The soak (issue 16, "Done when"): every update answered exactly once while bots are SIGKILLed,
serving is killed and restarted, PostgreSQL stops, and Telegram answers 429s and drops connections;
all of it through serving's API keys, after which requests without a valid key are refused and one
client over its rate is refused without slowing the others.

Short by default so ``make test`` runs it (60 updates, 3 bot kills, 1 serving restart, a 5 s
database outage). The full size (300 updates from 30 users, 10 kills, 2 serving restarts, 20 s
outage): ``FAKEWATCH_SOAK_FULL=1 pytest -m soak``, or ``tests/bot/soak.py --out
benchmarks/results/soak-cpu2.json`` to keep the figures. Sizes: ``FAKEWATCH_SOAK_UPDATES``,
``_USERS``, ``_KILLS``, ``_SERVING_RESTARTS``, ``_DB_OUTAGE_S``, ``_SEED``; ``FAKEWATCH_SOAK_WEBHOOK=1``
takes the updates by webhook instead of long polling.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from _pg_instance import pg_bin_dir
from soak import SoakConfig, api_key_problems, run_soak

pytestmark = [
    pytest.mark.soak,
    pytest.mark.timeout(int(os.environ.get("FAKEWATCH_SOAK_TIMEOUT_S", "3600"))),
    pytest.mark.skipif(pg_bin_dir() is None, reason="PostgreSQL server binaries (initdb, pg_ctl) not installed"),
]


async def test_every_update_is_answered_exactly_once_through_kills_and_outages(shared_data: Path) -> None:
    config = SoakConfig.from_env()
    config.shared_data = shared_data
    workdir = Path(tempfile.mkdtemp(prefix="fakewatch-soak-"))  # the logs stay when it fails
    figures = await run_soak(config, workdir)
    summary = {k: v for k, v in figures.items() if k != "events"}
    print(json.dumps(summary, indent=1))
    out = os.environ.get("FAKEWATCH_SOAK_OUT")
    if out:
        Path(out).write_text(json.dumps(figures, indent=1, default=str) + "\n")
    assert figures["updates"] >= config.updates
    assert sum(figures["bot_starts"].values()) >= 2 + config.bot_kills
    assert figures["lost"] == 0, figures["lost_detail"]
    assert figures["duplicates"] == 0, figures["duplicate_detail"]
    assert figures["non_terminal_jobs"] == 0 and figures["albums_unreplied"] == 0, figures["jobs"]
    assert figures["tracebacks_in_bot_logs"] == 0, f"see the bot logs in {figures['logs_dir']}"
    assert figures["tracebacks_in_serve_log"] == 0, f"see serve.log in {figures['logs_dir']}"
    assert figures["answered"] > 0 and figures["p95_answer_s"] is not None
    print("api_keys:", json.dumps(figures["api_keys"]))
    assert api_key_problems(figures["api_keys"]) == [], figures["api_keys"]
    shutil.rmtree(workdir, ignore_errors=True)


def test_the_soak_counts_lost_duplicate_and_stray_answers() -> None:
    """The soak's own arithmetic can fail: a missing answer is lost, a second one a duplicate."""
    from types import SimpleNamespace

    from fake_telegram import Call
    from soak import Plan, Target, verdict_of

    def answer(chat: int, message: int, text: str = "✅ Looks real", ok: bool = True) -> Call:
        result = {"message_id": 1} if ok else {"error_code": 429}
        return Call("sendMessage", {"chat_id": chat, "text": text, "reply_parameters": {"message_id": message}},
                    at=10.0, result=result)  # fmt: skip

    plan = Plan()
    plan.add(Target(1, 1, "private-photo", 0.0, 1, 101))  # answered once
    plan.add(Target(1, 2, "private-photo", 0.0, 1, 102))  # answered twice
    plan.add(Target(1, 3, "private-photo", 0.0, 1, 103))  # only a 429 and a "queued" notice: lost
    plan.add(Target(1, 4, "album-item", 0.0, 0, 104))  # answered, should not be
    plan.add(Target(-5, 5, "group-auto", 0.0, None, 105, "fake"))  # silent "real": 0 expected
    plan.add(Target(7, 6, "spam", 0.0, None, 106))  # refused (no job row): 0 expected
    rows = [
        SimpleNamespace(update_id=u, status=db_done(), verdict="real", answer_claims=1) for u in (101, 102, 103, 105)
    ]
    calls = [answer(1, 1), answer(1, 2), answer(1, 2), answer(1, 3, ok=False),
             answer(1, 3, text="The checker is busy or offline right now. Your check is queued and I'll reply"),
             answer(1, 4), answer(9, 9)]  # fmt: skip
    figures = verdict_of(plan, calls, rows, [])
    assert figures["lost"] == 1 and figures["lost_detail"][0]["message"] == 3
    assert figures["duplicates"] == 3  # message 2 twice, the album item, the stray answer to 9
    assert figures["refused_by_rate_limit"] == 1 and figures["interim_notices"] == 1
    assert figures["answered"] == 3 and figures["p95_answer_s"] == 10.0


def db_done():
    import db

    return db.CheckStatus.DONE


def test_the_soak_fails_on_bad_api_key_figures() -> None:
    """The API-key asserts can fail: a key let in, no 429, a refused or slowed other client."""
    good = {"unauthorized_sent": 5, "unauthorized_refused": 5, "greedy_sent": 30, "greedy_ok": 6, "greedy_429": 24,
            "other_sent": 10, "other_ok": 10, "other_median_s_baseline": 0.4, "other_median_s_during_flood": 0.9}  # fmt: skip
    assert api_key_problems(good) == []
    assert api_key_problems(good | {"other_median_s_during_flood": 1.4}) == []  # baseline + 1 s
    assert api_key_problems(good | {"other_median_s_baseline": 3.0, "other_median_s_during_flood": 6.0}) == []
    bad = {
        "let in": {"unauthorized_refused": 4},
        "nothing sent": {"unauthorized_sent": 0, "unauthorized_refused": 0},
        "never refused": {"greedy_429": 0, "greedy_ok": 30},
        "other refused": {"other_ok": 9},
        "slowed": {"other_median_s_during_flood": 1.5},
        "slowed, slow baseline": {"other_median_s_baseline": 3.0, "other_median_s_during_flood": 6.1},
        "not measured": {"other_median_s_during_flood": None},
    }
    for why, change in bad.items():
        assert len(api_key_problems(good | change)) == 1, why
    assert api_key_problems({"status": "not built on this branch"})
    assert api_key_problems({"error": "ClientConnectorError(...)"})
