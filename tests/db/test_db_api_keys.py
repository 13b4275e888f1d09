"""The api_keys table and ``fakewatch ops keys`` on both backends: only hashes stored, revocation
reaches the key file serving reads, and every mistake is a one-line error."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from sqlalchemy import text

from db import api_keys as store
from fakewatch.ops_cli import ops_main
from serving.api_keys import KeyStore, key_hash, read_key_file


async def test_add_list_revoke(sessions) -> None:
    async with sessions() as s:
        a = await store.add_key(
            s, key_id="aaaaaaaaaaaa", name="bot", key_hash="a" * 64, requests_per_minute=60, bytes_per_hour=10
        )
        await store.add_key(
            s, key_id="bbbbbbbbbbbb", name="partner", key_hash="b" * 64, requests_per_minute=5, bytes_per_hour=10
        )
        await store.add_key(
            s, key_id="cccccccccccc", name="partner", key_hash="c" * 64, requests_per_minute=5, bytes_per_hour=10
        )
        assert [k.key_id for k in await store.list_keys(s)] == ["aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"]
        with pytest.raises(store.ApiKeyError, match="2 active keys are named 'partner'"):
            await store.revoke_key(s, "partner")
        revoked = await store.revoke_key(s, "bbbbbbbbbbbb")
        assert revoked.revoked_at is not None
        assert (await store.revoke_key(s, "partner")).key_id == "cccccccccccc"  # now unique
        with pytest.raises(store.ApiKeyError, match="no active API key"):
            await store.revoke_key(s, "partner")
        assert [k.key_id for k in await store.active_keys(s)] == [a.key_id]
        assert len(await store.list_keys(s, include_revoked=True)) == 3
        with pytest.raises(store.ApiKeyError):
            await store.add_key(
                s, key_id="dddddddddddd", name=" ", key_hash="d" * 64, requests_per_minute=1, bytes_per_hour=1
            )
        with pytest.raises(store.ApiKeyError):
            await store.add_key(
                s, key_id="dddddddddddd", name="x", key_hash="d" * 64, requests_per_minute=0, bytes_per_hour=1
            )


async def _ops(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = await asyncio.to_thread(ops_main, list(argv), out=out)
    return code, out.getvalue()


async def test_ops_keys_end_to_end(db_url, engine, tmp_path, capsys) -> None:
    key_file = tmp_path / "serving" / "api_keys.json"
    common = ["--database-url", db_url, "--key-file", str(key_file)]
    code, out = await _ops("keys", "create", "bot", "--requests-per-minute", "120", "--bytes-per-hour", "500M", *common)
    assert code == 0
    key = out.strip()
    assert key.startswith("fwk_") and "only time the key is shown" in capsys.readouterr().err
    code, out = await _ops("keys", "create", "partner", "--json", *common)
    made = json.loads(out)
    assert made["requests_per_minute"] == 60 and made["bytes_per_hour"] == 2 * 1024**3

    # the database holds the hash, never the key; the file the same
    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT key_hash, key_id FROM api_keys ORDER BY id"))).all()
    assert stored[0] == (key_hash(key), key.split("_")[1])
    assert key not in key_file.read_text() and made["key"] not in key_file.read_text()
    serving_view = KeyStore(key_file)
    assert serving_view.lookup(key).name == "bot" and serving_view.lookup(key).bytes_per_hour == 500 * 2**20
    assert serving_view.lookup(made["key"]).name == "partner"

    code, out = await _ops("keys", "list", "--database-url", db_url)
    assert code == 0 and "bot" in out and "partner" in out and key not in out
    code, out = await _ops("keys", "revoke", made["key_id"], *common)
    assert code == 0 and "revoked" in out
    assert set(r.name for r in read_key_file(key_file).values()) == {"bot"}
    assert KeyStore(key_file).lookup(made["key"]) is None
    code, out = await _ops("keys", "list", "--all", "--json", "--database-url", db_url)
    assert [k["revoked_at"] is not None for k in json.loads(out)] == [False, True]

    # the file is derived: lost or stale, `export` rewrites it from the database
    key_file.unlink()
    code, out = await _ops("keys", "export", "--json", *common)
    assert json.loads(out)["active_keys"] == 1 and KeyStore(key_file).lookup(key).name == "bot"


async def test_ops_keys_errors_are_one_line(db_url, tmp_path, capsys) -> None:
    common = ["--database-url", db_url, "--key-file", str(tmp_path / "k.json")]
    assert (await _ops("keys", "revoke", "nobody", *common))[0] == 1
    assert "no active API key" in capsys.readouterr().err
    assert (await _ops("keys", "create", "x", "--bytes-per-hour", "lots", *common))[0] == 1
    assert "not a size" in capsys.readouterr().err
    assert (await _ops("keys", "create", "x" * 65, *common))[0] == 1
    assert "1 to 64 characters" in capsys.readouterr().err
    code, _ = await _ops("keys", "list", "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}")
    assert code == 1 and "fakewatch db upgrade" in capsys.readouterr().err


async def test_a_key_file_that_cannot_be_written_is_explained(db_url, tmp_path, capsys) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the key file's folder should be")
    common = ["--database-url", db_url, "--key-file", str(blocked / "api_keys.json")]
    code, out = await _ops("keys", "create", "bot", *common)
    assert code == 1 and out.strip().startswith("fwk_")  # the key is still shown, once
    err = capsys.readouterr().err
    assert "was created in the database" in err and "fakewatch ops keys export" in err
    code, _ = await _ops("keys", "revoke", "bot", *common)
    err = capsys.readouterr().err
    assert code == 1 and "was revoked in the database" in err and "still uses the old file" in err
