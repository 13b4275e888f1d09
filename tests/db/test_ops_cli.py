"""``fakewatch db`` and ``fakewatch ops`` end to end on a real database (both backends)."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import pytest

import db
from fakewatch.db_cli import db_main
from fakewatch.ops_cli import format_table, ops_main

WINDOW = ["--since", "2026-01-13T12:00", "--until", "2026-01-20T12:00"]


async def _ops(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = await asyncio.to_thread(ops_main, list(argv), out=out)
    return code, out.getvalue()


def test_db_upgrade_check_current_on_a_new_sqlite_file(tmp_path, capsys, monkeypatch) -> None:
    from fakewatch.settings import get_settings

    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'fw.sqlite3'}"
    monkeypatch.setenv("FAKEWATCH_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        assert db_main(["current"]) == 1  # empty database: not at head
        assert db_main(["check"]) == 1
        assert "fakewatch db upgrade" in capsys.readouterr().err
        assert db_main(["upgrade"]) == 0  # URL from the settings
        assert db_main(["check"]) == 0
        assert db_main(["current"]) == 0
        assert f"current: {db.head_revision()}" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


def test_db_cli_reports_bad_urls_and_unreachable_servers(capsys) -> None:
    assert db_main(["--database-url", "mysql://x@y/z", "upgrade"]) == 2
    assert "unsupported database" in capsys.readouterr().err
    assert db_main(["--database-url", "postgresql+asyncpg://u:hunter2@127.0.0.1:1/x", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert "cannot use database" in err and "hunter2" not in err


async def test_ops_on_unmigrated_database_says_what_to_do(tmp_path, capsys) -> None:
    code, _ = await _ops("checks", "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    assert code == 1
    assert "run `fakewatch db upgrade`" in capsys.readouterr().err


async def test_ops_stats_table_and_json(db_url, seeded) -> None:
    code, text = await _ops("stats", "--database-url", db_url, *WINDOW)
    assert code == 0
    assert "checks from 2026-01-13 12:00:00 → 2026-01-20 12:00:00: 10" in text
    assert "latency p50 55.0 ms, p95 95.5 ms" in text
    assert "agreement 60.0%" in text
    code, text = await _ops("stats", "--database-url", db_url, "--json", *WINDOW)
    data = json.loads(text)
    assert data["total"] == 10 and data["by_verdict"]["fake"] == 3
    assert data["latency_ms"]["p95"] == pytest.approx(95.5)
    assert data["feedback"]["agreement_rate"] == pytest.approx(0.6)


async def test_ops_checks_filters_paging_and_table(db_url, seeded) -> None:
    ids = seeded["ids"]
    code, text = await _ops("checks", "--database-url", db_url, "--json", "--verdict", "fake", "--min-prob", "0.9")
    page = json.loads(text)
    assert code == 0 and [i["id"] for i in page["items"]] == [ids[0], ids[6], ids[10]]
    code, text = await _ops("checks", "--database-url", db_url, "--json", "--chat", "-200", "--user", "bob")
    assert [i["id"] for i in json.loads(text)["items"]] == [ids[1]]
    code, text = await _ops("checks", "--database-url", db_url, "--limit", "3", "--page", "2")
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["id", "created_at", "source"]
    assert len(lines) == 2 + 3 + 1 and lines[-1] == "page 2 of 4 (11 checks)"


async def test_ops_bad_filters_are_refused(db_url, seeded, capsys) -> None:
    code, _ = await _ops("checks", "--database-url", db_url, "--verdict", "maybe")
    assert code == 2 and "unknown verdict" in capsys.readouterr().err
    code, _ = await _ops("checks", "--database-url", db_url, "--since", "yesterday-ish")
    assert code == 2 and "cannot read time" in capsys.readouterr().err


async def test_ops_feedback_wrong(db_url, seeded) -> None:
    code, text = await _ops("feedback", "--database-url", db_url, "--wrong", "--json")
    data = json.loads(text)
    assert code == 0 and data["total"] == 2
    assert {i["check_id"] for i in data["items"]} == {seeded["ids"][0], seeded["ids"][1]}
    code, text = await _ops("feedback", "--database-url", db_url, "--all")
    assert "4 checks with votes" in text


async def test_ops_export_csv_and_jsonl(db_url, seeded, tmp_path) -> None:
    target = tmp_path / "out.csv"
    code, _ = await _ops("export", "--database-url", db_url, "--verdict", "fake", "-o", str(target))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [int(r["id"]) for r in rows] == [seeded["ids"][i] for i in (0, 1, 6, 10)]
    assert rows[0]["verdict"] == "fake" and rows[0]["chat_id"] == "-200"
    code, text = await _ops("export", "--database-url", db_url, "--format", "jsonl", "--with-result")
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 11 and lines[0]["result"] == {"verdict": "real"}


async def test_ops_purge(db_url, seeded) -> None:
    # The seeded log is dated January 2026, so everything is older than a day now.
    code, text = await _ops("purge", "--database-url", db_url, "--older-than", "36500", "--json")
    assert code == 0 and json.loads(text)["deleted_checks"] == 0
    code, text = await _ops("purge", "--database-url", db_url, "--older-than", "1")
    assert code == 0 and text.startswith("deleted 11 checks")
    code, text = await _ops("checks", "--database-url", db_url, "--json")
    assert json.loads(text)["total"] == 0


def test_format_table_aligns_columns() -> None:
    table = format_table([{"a": "x", "n": 5}, {"a": "longer", "n": 12345}], ["a", "n"])
    lines = table.splitlines()
    assert lines[0] == "a           n"
    assert lines[2] == "x           5" and lines[3] == "longer  12345"
