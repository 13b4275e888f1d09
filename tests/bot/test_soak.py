"""The soak (issue 16, "Done when"): every update answered exactly once while bots are SIGKILLed,
serving is killed and restarted, PostgreSQL stops, and Telegram answers 429s and drops connections.

Short by default so ``make test`` runs it (60 updates, 3 bot kills, 1 serving restart, a 5 s
database outage). The full size (300 updates from 30 users, 10 kills, 2 serving restarts, 20 s
outage): ``FAKEWATCH_SOAK_FULL=1 pytest -m soak``, or ``tests/bot/soak.py --out
benchmarks/results/soak-cpu2.json`` to keep the figures. Sizes: ``FAKEWATCH_SOAK_UPDATES``,
``_USERS``, ``_KILLS``, ``_SERVING_RESTARTS``, ``_DB_OUTAGE_S``, ``_SEED``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from _pg_instance import pg_bin_dir
from soak import SoakConfig, run_soak

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
    assert figures["bot_starts"]["poller"] + figures["bot_starts"]["worker"] >= 2 + config.bot_kills
    assert figures["lost"] == 0, figures["lost_detail"]
    assert figures["duplicates"] == 0, figures["duplicate_detail"]
    assert figures["non_terminal_jobs"] == 0 and figures["albums_unreplied"] == 0, figures["jobs"]
    assert figures["tracebacks_in_bot_logs"] == 0, f"see the bot logs in {figures['logs_dir']}"
    assert figures["answered"] > 0 and figures["p95_answer_s"] is not None
    shutil.rmtree(workdir, ignore_errors=True)
