"""API keys and per-client limits on the real application, keys made by ``fakewatch ops keys`` on
PostgreSQL: no key / a bad key / a revoked key refused, a key over its rate refused while another
key's requests keep being answered, byte budgets, the public mode's per-address limit, the open
(loopback) mode, and the OpenAPI description of it all.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest

from serving.client import ServiceUnavailable, ServingClient, ServingError
from tests.serving_app.conftest import (
    PUBLIC_REQUESTS_PER_MINUTE,
    KeyStore,
    ServeApp,
    wait_until_key_works,
)

pytestmark = pytest.mark.slow


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def post(
    session: aiohttp.ClientSession,
    url: str,
    data: bytes,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict, float, aiohttp.typedefs.LooseHeaders]:
    started = time.monotonic()
    async with session.post(url + "/v1/check", data=data, headers=headers or {}) as resp:
        body = await resp.json(content_type=None)
        return resp.status, body, time.monotonic() - started, resp.headers


@pytest.fixture(scope="module")
def keyed(serve_app: ServeApp) -> str:
    return serve_app.url + "/keyed"


async def test_requests_without_a_valid_key_are_refused(keyed: str, key_store: KeyStore, face_image: Path) -> None:
    good = await key_store.acreate("newsroom")
    gone = await key_store.acreate("former-partner")
    await key_store.arevoke("former-partner")
    await asyncio.to_thread(wait_until_key_works, keyed, good)
    await asyncio.to_thread(wait_until_key_works, keyed, gone, expect=401)
    photo = face_image.read_bytes()
    wrong = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")  # well-formed, not ours
    async with aiohttp.ClientSession() as s:
        for headers, why in [
            ({}, "an API key is required"),
            ({"Authorization": "Basic dXNlcjpwYXNz"}, "malformed"),
            (bearer("not-a-key"), "not valid"),
            (bearer(wrong), "not valid"),
            (bearer(gone), "not valid"),
            ({"X-API-Key": gone}, "not valid"),
        ]:
            status, body, took, resp_headers = await post(s, keyed, photo, headers)
            assert status == 401, (headers, body)
            assert body["error"]["code"] == "unauthorized" and why in body["error"]["message"]
            assert resp_headers["WWW-Authenticate"].startswith("Bearer")
            assert gone not in json.dumps(body) and good not in json.dumps(body)
        for headers in (bearer(good), {"X-API-Key": good}):
            status, body, _, _ = await post(s, keyed, photo, headers)
            assert status == 200 and body["verdict"] in {"real", "uncertain", "fake", "no_face"}, body
        # operators' stats need a key too; health and models stay open for probes and the bot
        async with s.get(keyed + "/v1/stats") as resp:
            assert resp.status == 401
        async with s.get(keyed + "/v1/stats", headers=bearer(good)) as resp:
            stats = await resp.json()
            assert resp.status == 200 and stats["ingress"]["access"] == "keys"
            assert stats["ingress"]["unauthorized"] >= 6
        async with s.get(keyed + "/v1/health") as resp:
            assert resp.status == 200
        async with s.get(keyed + "/v1/models") as resp:
            assert resp.status == 200


async def test_one_key_over_its_rate_is_refused_while_another_keeps_being_answered(
    keyed: str, key_store: KeyStore, face_image: Path
) -> None:
    slow = await key_store.acreate("flooder", requests_per_minute=3)
    busy = await key_store.acreate("bot", requests_per_minute=600)
    await asyncio.to_thread(wait_until_key_works, keyed, busy)
    photo = face_image.read_bytes()
    async with aiohttp.ClientSession() as s:
        async with s.get(keyed + "/v1/stats", headers=bearer(busy)) as resp:
            checks_before = (await resp.json())["ingress"]["checks"]
        flood = [post(s, keyed, photo, bearer(slow)) for _ in range(40)]
        work = [post(s, keyed, photo, bearer(busy)) for _ in range(8)]
        answers = await asyncio.gather(*flood, *work)
        async with s.get(keyed + "/v1/stats", headers=bearer(busy)) as resp:
            stats = (await resp.json())["ingress"]
    flooded, served = answers[:40], answers[40:]
    statuses = sorted(status for status, *_ in flooded)
    assert statuses == [200] * 3 + [429] * 37, statuses  # a minute's worth, then refused
    for status, body, _, headers in flooded:
        if status == 429:
            assert body["error"]["code"] == "rate_limited" and "'flooder'" in body["error"]["message"]
            assert 1 <= int(headers["Retry-After"]) <= 20
    # the other key's checks were all answered, none refused, none starved
    assert [status for status, *_ in served] == [200] * 8
    assert all(body["verdict"] != "invalid" for _, body, *_ in served)
    # refusals come from the headers alone: quick, and they never became checks
    refused_times = sorted(took for status, _, took, _ in flooded if status == 429)
    served_times = sorted(took for _, _, took, _ in served)
    assert refused_times[len(refused_times) // 2] < served_times[0] + 1.0, (refused_times, served_times)
    assert stats["checks"] - checks_before == 3 + 8
    assert stats["rate_limited"] >= 37


async def test_a_byte_budget_refuses_the_upload_that_would_exceed_it(
    keyed: str, key_store: KeyStore, face_image: Path
) -> None:
    photo = face_image.read_bytes()
    budget = len(photo) * 2 + len(photo) // 2  # two uploads fit, the third does not
    key = await key_store.acreate("small-budget", requests_per_minute=600, bytes_per_hour=str(budget))
    await asyncio.to_thread(wait_until_key_works, keyed, key)
    async with aiohttp.ClientSession() as s:
        first = await post(s, keyed, photo, bearer(key))

        async def chunks():  # no Content-Length: charged as it is read
            yield photo

        async with s.post(keyed + "/v1/check", data=chunks(), headers=bearer(key)) as resp:
            second = resp.status
        third = await post(s, keyed, photo, bearer(key))
    assert first[0] == 200 and second == 200
    status, body, _, headers = third
    assert status == 429 and body["error"]["code"] == "rate_limited", body
    assert "bytes per hour" in body["error"]["message"] and int(headers["Retry-After"]) >= 1


async def test_public_mode_limits_each_address_and_honours_keys(
    serve_app: ServeApp, key_store: KeyStore, face_image: Path
) -> None:
    public = serve_app.url + "/public"
    key = await key_store.acreate("public-partner")
    await asyncio.to_thread(wait_until_key_works, public, key)
    photo = face_image.read_bytes()
    async with aiohttp.ClientSession() as s:
        anonymous = [await post(s, public, photo) for _ in range(PUBLIC_REQUESTS_PER_MINUTE)]
        # a forged X-Forwarded-For from an untrusted peer does not make a new client
        spoofed = await post(s, public, photo, {"X-Forwarded-For": "198.51.100.77"})
        with_key = await post(s, public, photo, bearer(key))
        bad_key = await post(s, public, photo, bearer(key[:-1] + ("x" if key[-1] != "x" else "y")))
    assert [a[0] for a in anonymous] == [200] * PUBLIC_REQUESTS_PER_MINUTE
    assert spoofed[0] == 429 and "this address" in spoofed[1]["error"]["message"]
    assert with_key[0] == 200  # a key has its own limits, not the address's
    assert bad_key[0] == 401  # a wrong key is never downgraded to anonymous access


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    serve_app: ServeApp, face_image: Path
) -> None:
    proxied = serve_app.url + "/proxied"
    photo = face_image.read_bytes()

    def via_proxy(client: str) -> dict[str, str]:
        # what our proxy sends: the client's own (forged) entries, then the address it saw
        return {"X-Forwarded-For": f"10.66.66.66, {client}"}

    async with aiohttp.ClientSession() as s:
        first = [
            await post(s, proxied, photo, via_proxy("198.51.100.1")) for _ in range(PUBLIC_REQUESTS_PER_MINUTE + 1)
        ]
        other = await post(s, proxied, photo, via_proxy("198.51.100.2"))
    assert [a[0] for a in first] == [200] * PUBLIC_REQUESTS_PER_MINUTE + [429]
    assert other[0] == 200  # another client behind the same proxy is not locked out


async def test_open_mode_on_loopback_keeps_keys_optional(
    serve_app: ServeApp, key_store: KeyStore, face_image: Path
) -> None:
    key = await key_store.acreate("local-script")
    await asyncio.to_thread(wait_until_key_works, serve_app.url, key)
    photo = face_image.read_bytes()
    async with aiohttp.ClientSession() as s:
        plain = await post(s, serve_app.url, photo)
        keyed_ok = await post(s, serve_app.url, photo, bearer(key))
        bad = await post(s, serve_app.url, photo, bearer("fwk_000000000000_" + "A" * 43))
        proxied = await post(s, serve_app.url, photo, {"X-Forwarded-For": "203.0.113.9"})
        async with s.get(serve_app.url + "/v1/stats") as resp:
            access = (await resp.json())["ingress"]["access"]
    assert plain[0] == 200 and keyed_ok[0] == 200 and access == "open"
    assert bad[0] == 401
    assert proxied[0] == 401 and "proxy" in proxied[1]["error"]["message"]


async def test_the_bot_client_sends_its_key(keyed: str, key_store: KeyStore, face_image: Path) -> None:
    key = await key_store.acreate("bot-client", requests_per_minute=1)
    await asyncio.to_thread(wait_until_key_works, keyed, key)
    photo = face_image.read_bytes()
    async with ServingClient(keyed, api_key=key, retries=0) as client:
        result = await client.check(photo, filename="face.jpg")
        assert result.verdict in {"real", "uncertain", "fake", "no_face"}
        with pytest.raises(ServiceUnavailable) as caught:  # its one request this minute is spent
            await client.check(photo)
        assert caught.value.status == 429 and caught.value.retry_after_s and caught.value.retry_after_s >= 1
        assert client.breaker.consecutive_failures == 0  # "slow down" is not "serving is down"
    async with ServingClient(keyed, retries=0) as anonymous:
        with pytest.raises(ServingError) as refused:
            await anonymous.check(photo)
        assert refused.value.status == 401 and not isinstance(refused.value, ServiceUnavailable)


async def test_openapi_documents_keys_and_their_errors(serve_app: ServeApp) -> None:
    async with aiohttp.ClientSession() as s, s.get(serve_app.url + "/keyed/openapi.json") as resp:
        doc = await resp.json()
    check = doc["paths"]["/v1/check"]["post"]
    for status in ("401", "429", "503"):
        schema = check["responses"][status]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/ApiError"), status
    assert "Retry-After" in check["responses"]["429"]["headers"]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["APIKeyHeader"] == {**schemes["APIKeyHeader"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert {"HTTPBearer": []} in check["security"] and {"APIKeyHeader": []} in check["security"]
    assert "401" in doc["paths"]["/v1/stats"]["get"]["responses"]
