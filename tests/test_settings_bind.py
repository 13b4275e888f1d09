"""The one rule for default secrets: refused beyond loopback in every environment.

Also the address helpers it rests on (``fakewatch.net``): loopback binds and the client address
behind a trusted proxy.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fakewatch.net import client_address, forwarded_https, is_loopback_host, limit_key, parse_networks
from fakewatch.settings import DEFAULT_SECRET, Settings

REAL = {"pseudonym_secret": "a-real-pepper-1", "operator_token": "a-real-token-1"}


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.5", "example.org", "10.0.0.1", None])
def test_non_loopback_hosts(host: str | None) -> None:
    assert not is_loopback_host(host)


@pytest.mark.parametrize("environment", ["local", "test"])
@pytest.mark.parametrize("field", ["http_host", "console_host"])
def test_default_secrets_refused_on_a_public_bind_outside_production(environment: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, environment=environment, **{field: "0.0.0.0"})
    text = str(caught.value)
    assert f"FAKEWATCH_{field.upper()}=0.0.0.0" in text
    assert "FAKEWATCH_PSEUDONYM_SECRET" in text and "FAKEWATCH_OPERATOR_TOKEN" in text
    # one real secret is not enough; both are
    with pytest.raises(ValidationError, match="OPERATOR_TOKEN"):
        Settings(_env_file=None, environment=environment, pseudonym_secret="p-1234567", **{field: "0.0.0.0"})
    ok = Settings(_env_file=None, environment=environment, **REAL, **{field: "0.0.0.0"})
    assert getattr(ok, field) == "0.0.0.0"


def test_loopback_bind_keeps_the_local_experience() -> None:
    s = Settings(_env_file=None, environment="local")
    assert s.pseudonym_secret.get_secret_value() == DEFAULT_SECRET
    s.check_secrets_for_bind("127.0.0.1")  # no error
    with pytest.raises(ValueError, match="--host=0.0.0.0 listens beyond this machine"):
        s.check_secrets_for_bind("0.0.0.0")  # what `fakewatch serve --host 0.0.0.0` calls


def test_env_lists_and_bad_proxy_entries(monkeypatch) -> None:
    monkeypatch.setenv("FAKEWATCH_TRUSTED_PROXIES", "10.0.0.5, 172.18.0.0/16")
    monkeypatch.setenv("FAKEWATCH_VIDEO_CODECS", "h264,vp9")
    s = Settings(_env_file=None)
    assert s.trusted_proxies == ["10.0.0.5", "172.18.0.0/16"] and s.video_codecs == ["h264", "vp9"]
    monkeypatch.setenv("FAKEWATCH_TRUSTED_PROXIES", "10.0.0.5,proxy.local")
    with pytest.raises(ValidationError, match="proxy.local"):
        Settings(_env_file=None)


def test_api_keys_path_defaults_to_the_data_dir(tmp_path) -> None:
    assert Settings(_env_file=None, data_dir=tmp_path).api_keys_path == tmp_path / "api_keys.json"
    assert Settings(_env_file=None, api_keys_file=tmp_path / "k.json").api_keys_path == tmp_path / "k.json"


# --- the client behind a proxy ---------------------------------------------------------------

TRUSTED = parse_networks(["10.0.0.5", "172.18.0.0/16"])


def test_client_address_ignores_forwarded_for_from_anyone_else() -> None:
    assert client_address("203.0.113.9", ["1.2.3.4"], TRUSTED) == "203.0.113.9"
    assert client_address("203.0.113.9", ["1.2.3.4"], ()) == "203.0.113.9"


def test_client_address_from_a_trusted_proxy_takes_the_right_most_untrusted_hop() -> None:
    # the client forged "6.6.6.6"; our proxy appended the address it really saw
    assert client_address("10.0.0.5", ["6.6.6.6, 198.51.100.7"], TRUSTED) == "198.51.100.7"
    # two of our proxies in a row
    assert client_address("172.18.0.3", ["198.51.100.7, 10.0.0.5"], TRUSTED) == "198.51.100.7"
    # several headers count as one list; ports and IPv6 brackets are stripped
    assert client_address("10.0.0.5", ["6.6.6.6", "[2001:db8::1]:443"], TRUSTED) == "2001:db8::1"
    # no header: the proxy itself
    assert client_address("10.0.0.5", [], TRUSTED) == "10.0.0.5"
    # garbage from the proxy: never an identity the client chose
    assert client_address("10.0.0.5", ["not-an-ip"], TRUSTED) == "10.0.0.5"


def test_forwarded_https_only_from_a_trusted_proxy() -> None:
    assert forwarded_https("10.0.0.5", "https", TRUSTED)
    assert forwarded_https("10.0.0.5", "https, http", TRUSTED)
    assert not forwarded_https("10.0.0.5", "http", TRUSTED)
    assert not forwarded_https("203.0.113.9", "https", TRUSTED)


def test_limit_key_groups_ipv6_by_its_64() -> None:
    assert limit_key("203.0.113.9") == "203.0.113.9"
    assert limit_key("2001:db8:1:2:aaaa::1") == limit_key("2001:db8:1:2:bbbb::7") == "2001:db8:1:2::/64"
    assert limit_key("2001:db8:1:3::1") != limit_key("2001:db8:1:2::1")
    assert limit_key("::ffff:203.0.113.9") == "203.0.113.9"
    assert limit_key("unknown") == "unknown"
