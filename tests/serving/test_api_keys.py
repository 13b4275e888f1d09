"""API key format, the hashes-only key file, and the per-client limiter (fake clock)."""

from __future__ import annotations

import json
import os

import pytest

from serving.api_keys import (
    KeyFileError,
    KeyRecord,
    KeyStore,
    KeyStoreUnavailable,
    Limiter,
    TokenBucket,
    key_hash,
    key_id_of,
    new_key,
    read_key_file,
    write_key_file,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(key: str, name: str = "k", rpm: int = 60, bph: int = 10_000) -> KeyRecord:
    return KeyRecord(key_id_of(key) or "", name, key_hash(key), rpm, bph)


def test_keys_are_random_well_formed_and_only_their_hash_is_kept() -> None:
    key, key_id = new_key()
    other, _ = new_key()
    assert key != other and key.startswith(f"fwk_{key_id}_") and len(key) == 60
    assert key_id_of(key) == key_id
    assert key_hash(key) == key_hash(key) != key_hash(other) and len(key_hash(key)) == 64
    for bad in ("", "fwk_", key + "x", key.replace("fwk_", "fwx_"), key[:-1] + "!"):
        assert key_id_of(bad) is None


def test_key_file_round_trip_holds_no_key(tmp_path) -> None:
    key, _ = new_key()
    path = tmp_path / "sub" / "api_keys.json"
    write_key_file(path, [record(key, "bot")])
    text = path.read_text()
    assert key not in text and key.split("_")[2] not in text and key_hash(key) in text
    assert oct(os.stat(path).st_mode & 0o777) == "0o640"
    assert read_key_file(path) == {key_hash(key): record(key, "bot")}
    assert read_key_file(tmp_path / "missing.json") == {}
    for broken in (
        "{",
        "[]",
        json.dumps({"version": 2, "keys": []}),
        json.dumps({"version": 1, "keys": [{"key_id": "a"}]}),
        json.dumps({"version": 1, "keys": [{**record(key).__dict__, "sha256": "zz"}]}),
        json.dumps({"version": 1, "keys": [{**record(key).__dict__, "requests_per_minute": 0}]}),
    ):
        path.write_text(broken)
        with pytest.raises(KeyFileError):
            read_key_file(path)


def test_key_store_reloads_on_change_and_fails_closed(tmp_path) -> None:
    clock = Clock()
    path = tmp_path / "api_keys.json"
    store = KeyStore(path, clock=clock)
    a, _ = new_key()
    b, _ = new_key()
    assert len(store) == 0 and store.lookup(a) is None  # no file yet: no keys
    write_key_file(path, [record(a, "a")])
    assert store.lookup(a) is None  # not looked at again within RELOAD_CHECK_S
    clock.now += 1.5
    assert store.lookup(a) == record(a, "a") and store.lookup(b) is None
    write_key_file(path, [record(b, "b")])  # a revoked, b added
    clock.now += 1.5
    assert store.lookup(a) is None and store.lookup(b) == record(b, "b")
    path.write_text("{ half a file")
    clock.now += 1.5
    with pytest.raises(KeyStoreUnavailable):
        store.lookup(b)  # never guess from a broken file
    write_key_file(path, [record(b, "b")])
    clock.now += 1.5
    assert store.lookup(b) == record(b, "b")
    # a hash paired with another key's id (a hand-edited file) does not authenticate
    forged = KeyRecord("000000000000", "b", key_hash(b), 60, 10)
    write_key_file(path, [forged])
    clock.now += 1.5
    assert store.lookup(b) is None


def test_token_bucket_refills_and_owes() -> None:
    bucket = TokenBucket(capacity=10, rate=1.0, now=0.0)
    assert bucket.wait_s(10, 0.0) == 0
    bucket.take(10, 0.0)
    assert bucket.wait_s(1, 0.0) == pytest.approx(1.0)
    assert bucket.wait_s(1, 1.0) == 0
    bucket.take(15, 1.0)  # more than it had: a debt of 14
    assert bucket.wait_s(1, 1.0) == pytest.approx(15.0)
    assert bucket.wait_s(50, 100.0) == 0  # never more than the capacity is asked for


def test_limiter_rate_is_per_client_and_says_how_long_to_wait() -> None:
    clock = Clock()
    limiter = Limiter(clock=clock)
    assert [limiter.admit("key:a", 3, 10**9, 100) for _ in range(3)] == [None] * 3
    refusal = limiter.admit("key:a", 3, 10**9, 100)
    assert refusal is not None and refusal.retry_after_s == 20 and "3 requests per minute" in refusal.message
    assert limiter.admit("key:b", 3, 10**9, 100) is None  # another client is untouched
    clock.now += 20
    assert limiter.admit("key:a", 3, 10**9, 100) is None
    assert limiter.admit("key:a", 3, 10**9, 100) is not None


def test_limiter_byte_budget_charges_declared_then_read_bytes() -> None:
    clock = Clock()
    limiter = Limiter(clock=clock)
    assert limiter.admit("k", 600, 3600, 3000) is None  # 3600 bytes/h = 1 byte/s
    refusal = limiter.admit("k", 600, 3600, 1000)
    assert refusal is not None and refusal.retry_after_s == 400 and "bytes per hour" in refusal.message
    assert limiter.admit("k", 600, 3600, None) is None  # chunked: needs 1 byte of budget...
    limiter.settle("k", 5000)  # ... then pays what it really sent
    assert limiter.admit("k", 600, 3600, None).retry_after_s > 4000  # in debt
    huge = Limiter(clock=clock).admit("k", 600, 3600, 10_000)
    assert huge is None  # a full bucket lets one big upload through, then owes for it


def test_limiter_changed_limits_and_bounded_memory() -> None:
    clock = Clock()
    limiter = Limiter(max_clients=3, clock=clock)
    for _ in range(2):
        limiter.admit("a", 2, 100, 0)
    assert limiter.admit("a", 2, 100, 0) is not None
    assert limiter.admit("a", 5, 100, 0) is None  # the key's limits were raised: new buckets
    for name in ("b", "c", "d"):
        limiter.admit(name, 1, 100, 0)
    assert "a" not in limiter._clients and len(limiter._clients) == 3
