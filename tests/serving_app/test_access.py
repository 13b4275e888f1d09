"""The access policy's pure parts: which mode a bind gets, where keys are read from, and the
``fakewatch serve`` guards (default secrets beyond loopback, the proxy's trusted addresses)."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from serving.app import AppArgs
from serving.app.access import presented_key, resolve_mode
from serving.app.builder import access_args
from serving.app.cli import use_trusted_proxies
from tests.serving_app.conftest import CONFIG_PATH


def request(*headers: tuple[str, str]) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/check",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": ("127.0.0.1", 5000),
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("access", "host", "mode"),
    [
        ("auto", "127.0.0.1", "open"),
        ("auto", "localhost", "open"),
        ("auto", "::1", "open"),
        ("auto", "0.0.0.0", "keys"),
        ("auto", "10.1.2.3", "keys"),
        ("auto", None, "keys"),
        ("keys", "127.0.0.1", "keys"),
        ("public", "0.0.0.0", "public"),
    ],
)
def test_mode_from_the_bind(access: str, host: str | None, mode: str) -> None:
    assert resolve_mode(access, host) == mode


def test_builder_takes_the_bind_from_args_or_settings(tmp_path) -> None:
    assert access_args(AppArgs())["mode"] == "open"  # settings.http_host: 127.0.0.1
    assert access_args(AppArgs(bind_host="0.0.0.0"))["mode"] == "keys"
    made = access_args(
        AppArgs(
            settings={
                "api_access": "public",
                "api_keys_file": str(tmp_path / "k.json"),
                "trusted_proxies": "10.0.0.0/8",
            }
        )
    )
    assert made == {
        "mode": "public",
        "keys_file": str(tmp_path / "k.json"),
        "public_requests_per_minute": 10,
        "public_bytes_per_hour": 500 * 1024 * 1024,
        "trusted_proxies": ["10.0.0.0/8"],
    }


def test_the_shipped_serve_config_requires_keys() -> None:
    import yaml

    (app,) = yaml.safe_load(CONFIG_PATH.read_text())["applications"]
    assert access_args(AppArgs.model_validate(app["args"]))["mode"] == "keys"


def test_key_headers() -> None:
    assert presented_key(request()) is None
    assert presented_key(request(("Authorization", "Bearer  fwk_x "))) == "fwk_x"
    assert presented_key(request(("Authorization", "bearer fwk_x"))) == "fwk_x"
    assert presented_key(request(("Authorization", "Basic abc"))) == ""  # present but malformed
    assert presented_key(request(("X-API-Key", "fwk_y"))) == "fwk_y"
    assert presented_key(request(("Authorization", "Bearer a"), ("X-API-Key", "b"))) == "a"


def test_a_public_bind_needs_keys_but_no_secret_serving_does_not_hold() -> None:
    """Serving holds none of the default secrets (they are the bot's and the console's), so a
    public bind is not refused for them; what protects it is that keys become required."""
    from fakewatch.settings import Settings

    settings = Settings("serving", http_host="0.0.0.0", environment="local")
    settings.check_secrets_for_bind("0.0.0.0", service="serving")  # nothing to refuse
    assert resolve_mode("auto", "0.0.0.0") == "keys"
    with pytest.raises(ValueError, match="listens beyond this machine"):  # the console holds one
        Settings("console").check_secrets_for_bind("0.0.0.0", service="console")


def test_the_serve_proxy_trusts_only_the_configured_proxies() -> None:
    env: dict[str, str] = {}
    assert use_trusted_proxies(["10.0.0.5", "172.18.0.0/16"], env) == "10.0.0.5,172.18.0.0/16"
    nobody: dict[str, str] = {}
    assert use_trusted_proxies([], nobody) == ""  # uvicorn's default would trust 127.0.0.1
    operator = {"FORWARDED_ALLOW_IPS": "192.0.2.1"}
    assert use_trusted_proxies(["10.0.0.5"], operator) == "192.0.2.1"  # already set: kept


# --- refused before the body is read -----------------------------------------------------------


async def test_refusals_come_before_the_body_is_read(tmp_path) -> None:
    """Front.check with a keys-only policy: 401 and 429 answered without a single receive()."""
    import json

    from serving.api_keys import KeyRecord, key_hash, new_key, write_key_file
    from serving.app.access import Access
    from serving.app.ingress import Front
    from tests.serving_app.test_ingress_errors import _Handle

    key, key_id = new_key()
    write_key_file(tmp_path / "k.json", [KeyRecord(key_id, "one-a-minute", key_hash(key), 1, 10**9)])
    access = Access("keys", tmp_path / "k.json", public_requests_per_minute=1, public_bytes_per_hour=1)
    card = {"name": "m", "version": "1", "trained": False}
    models = _Handle(card=card)
    front = Front(
        _Handle(check=AssertionError("prep must not be called")),
        models,
        models,
        max_file_bytes=1000,
        request_timeout_s=5,
        max_in_flight=4,
        retry_after_s=7,
        access=access,
    )

    def untouchable(*headers: tuple[str, str]) -> Request:
        async def receive() -> dict:
            raise AssertionError("the body was read")

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/v1/check",
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
            "client": ("203.0.113.5", 1),
        }
        return Request(scope, receive)

    no_key = await front.check(untouchable(("Content-Length", "500")), annotate=False)
    assert no_key.status_code == 401 and json.loads(no_key.body)["error"]["code"] == "unauthorized"
    access.limiter.admit(f"key:{key_id}", 1, 10**9, 0)  # its one request this minute
    over = await front.check(untouchable(("Authorization", f"Bearer {key}"), ("Content-Length", "500")), annotate=False)
    assert over.status_code == 429 and over.headers["Retry-After"] == "60"
    assert front.in_flight == 0 and front.counters["checks"] == 0
