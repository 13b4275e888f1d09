"""docker-compose.yml cannot run here (no Docker engine), so it is checked against the code:
every variable the code needs is provided, every command exists, no Ray port is published."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from fakewatch.cli import COMMANDS
from fakewatch.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
RAY_PORTS = {"6379", "8265", "10001", "52365", "8076"}
VAR = re.compile(r"\$\{([A-Z0-9_]+)(:?[?-])?([^}]*)\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _substitute(value: str, env: dict[str, str]) -> str:
    """Compose-style ${VAR:?msg} / ${VAR:-default} substitution; a missing required var fails."""

    def repl(m: re.Match) -> str:
        name, op, arg = m.group(1), m.group(2) or "", m.group(3)
        if env.get(name):
            return env[name]
        if op.endswith("?"):
            raise KeyError(f"${{{name}}} is required: {arg}")
        return arg if op.endswith("-") else ""

    return VAR.sub(repl, value)


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def test_every_service_command_exists(compose: dict) -> None:
    for name, service in compose["services"].items():
        command = service.get("command")
        if command is None:
            assert "image" in service and "postgres" in service["image"], name
            continue
        assert command[0] == "fakewatch", (name, command)
        assert command[1] in COMMANDS, f"service {name} runs unknown subcommand {command[1]!r}"


def test_no_ray_port_is_published(compose: dict) -> None:
    for name, service in compose["services"].items():
        for mapping in service.get("ports", []):
            published = str(mapping).split(":")
            assert not RAY_PORTS & set(published), f"{name} publishes a Ray port: {mapping}"
            # Anything published is bound to localhost: a TLS proxy belongs in front.
            assert str(mapping).startswith("127.0.0.1:"), f"{name} publishes {mapping} on all interfaces"


def test_secrets_are_required_not_defaulted() -> None:
    text = yaml.safe_dump(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))  # no comments
    for secret in ("POSTGRES_PASSWORD", "FAKEWATCH_PSEUDONYM_SECRET", "FAKEWATCH_OPERATOR_TOKEN",
                   "FAKEWATCH_TELEGRAM_TOKEN"):
        uses = [m for m in VAR.finditer(text) if m.group(1) == secret]
        assert uses, f"{secret} is not used"
        assert all((m.group(2) or "").endswith("?") for m in uses), f"{secret} must be ${{{secret}:?…}}"


def test_env_example_lists_every_setting_and_compose_variable() -> None:
    example = _env_example()
    for field in Settings.model_fields:
        assert f"FAKEWATCH_{field.upper()}" in example, f".env.example lacks FAKEWATCH_{field.upper()}"
    text = yaml.safe_dump(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))  # no comments
    for m in VAR.finditer(text):
        assert m.group(1) in example, f".env.example lacks {m.group(1)} used by docker-compose.yml"


def test_each_service_gets_valid_production_settings(compose: dict, monkeypatch) -> None:
    """With .env.example filled in, every service's environment builds a production Settings."""
    example = _env_example()
    example.update(
        POSTGRES_PASSWORD="pg-secret",
        FAKEWATCH_PSEUDONYM_SECRET="pepper-secret",
        FAKEWATCH_OPERATOR_TOKEN="operator-secret",
        FAKEWATCH_TELEGRAM_TOKEN="123456:" + "A" * 35,
    )
    for name, service in compose["services"].items():
        if service.get("command") is None:
            continue
        env = {k: _substitute(str(v), example) for k, v in service["environment"].items()}
        for key in list(__import__("os").environ):
            if key.startswith("FAKEWATCH_"):
                monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = Settings(_env_file=None)
        assert settings.environment == "production"
        assert settings.database_url.startswith("postgresql+asyncpg://"), name
        if service["command"][1] == "bot":
            assert settings.telegram_token is not None
            assert settings.serving_url == "http://serving:8000"
        if service["command"][1] == "serve":
            assert settings.http_host == "0.0.0.0"


def test_missing_secret_fails_substitution(compose: dict) -> None:
    env = dict(_env_example(), POSTGRES_PASSWORD="pg", FAKEWATCH_OPERATOR_TOKEN="op",
               FAKEWATCH_TELEGRAM_TOKEN="1:x", FAKEWATCH_PSEUDONYM_SECRET="")
    bot_env = compose["services"]["bot"]["environment"]
    with pytest.raises(KeyError, match="FAKEWATCH_PSEUDONYM_SECRET"):
        for value in bot_env.values():
            _substitute(str(value), env)


def test_dockerfile_copies_what_exists_and_uses_the_makefile() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for m in re.finditer(r"^COPY (.+) \./", dockerfile, re.M):
        for src in m.group(1).split():
            assert (ROOT / src).exists(), f"Dockerfile copies missing {src}"
    assert "make venv" in dockerfile
    assert "venv:" in (ROOT / "Makefile").read_text()


def test_healthchecks_and_dependencies(compose: dict) -> None:
    services = compose["services"]
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["serving"]
    assert services["bot"]["depends_on"]["serving"]["condition"] == "service_healthy"
    assert services["serving"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["serving"]["shm_size"]
    gpu = services["serving"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert "gpu" in gpu["capabilities"]
