"""docker-compose.yml and docker-compose.gpu.yml: valid for Debian's docker-compose (offline: no
Docker engine runs here), and checked against the code: each service gets only the settings and
secrets its command reads (fakewatch/settings.py SERVICE_SETTINGS), builds valid production
settings from them, has a health check, and publishes no Ray port."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from fakewatch.cli import COMMANDS
from fakewatch.settings import ENV_PREFIX, SECRET_SETTINGS, SECRETS_DIR_VAR, SERVICE_SETTINGS, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
GPU = ROOT / "docker-compose.gpu.yml"
RAY_PORTS = {"6379", "8265", "10001", "52365", "8076"}
VAR = re.compile(r"\$\{([A-Z0-9_]+)(:?[?-])?([^}]*)\}")
# `fakewatch <command>` -> the settings service (SERVICE_SETTINGS) it is.
COMMAND_SERVICE = {"db": "migrate", "bot": "bot", "console": "console", "ops": "ops", "serve": "serving"}


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load(COMPOSE)


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def _substitute(value: str, env: dict[str, str]) -> str:
    """Compose-style ${VAR:?msg} / ${VAR:-default} substitution."""

    def repl(m: re.Match) -> str:
        name, op, arg = m.group(1), m.group(2) or "", m.group(3)
        if env.get(name):
            return env[name]
        if op.endswith("?"):
            raise KeyError(f"${{{name}}} is required: {arg}")
        return arg if op.endswith("-") else ""

    return VAR.sub(repl, value)


def _service_of(service: dict[str, Any]) -> str:
    """The settings service a compose service is, from its command."""
    command = service.get("command") or []
    if command[:1] == ["ray"]:
        return "ray-node"
    assert command[:1] == ["fakewatch"] and command[1] in COMMAND_SERVICE, command
    return COMMAND_SERVICE[command[1]]


def _ours(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if "postgres" not in str(s.get("image"))}


def _secret_names(service: dict[str, Any]) -> set[str]:
    return {s if isinstance(s, str) else s["source"] for s in service.get("secrets", [])}


def _check_least_privilege(compose: dict[str, Any]) -> None:
    for name, service in _ours(compose).items():
        kind = _service_of(service)
        env = service.get("environment") or {}
        settings_keys = {k[len(ENV_PREFIX) :].lower() for k in env if k.startswith(ENV_PREFIX)} - {"secrets_dir"}
        secrets = _secret_names(service)
        if kind == "ray-node":  # replicas get their settings from `serving`, never from the node
            assert not settings_keys, f"{name} is a Ray node but gets {sorted(settings_keys)}"
            assert secrets == {"ray_auth_token"}, f"{name}: {secrets}"
            continue
        uses = SERVICE_SETTINGS[kind]
        assert settings_keys <= uses, f"{name} ({kind}) gets settings it never reads: {sorted(settings_keys - uses)}"
        assert not settings_keys & SECRET_SETTINGS, f"{name} gets a secret as an env value; use a secret file"
        file_settings = {s.removeprefix("fakewatch_") for s in secrets if s.startswith("fakewatch_")}
        assert file_settings <= uses & SECRET_SETTINGS, f"{name} holds secrets it never reads: {file_settings - uses}"
        # the webhook's secret only exists in webhook mode (compose's bot polls)
        needed = uses & SECRET_SETTINGS - {"telegram_webhook_secret"}
        assert needed <= file_settings, f"{name} lacks {sorted(needed - file_settings)}"
        if file_settings:
            assert env.get(SECRETS_DIR_VAR) == "/run/secrets", name
        other = secrets - {f"fakewatch_{s}" for s in file_settings}
        assert other <= {"ray_auth_token"} and (not other or kind == "serving"), f"{name}: {other}"


def test_each_service_gets_only_the_settings_and_secrets_it_reads(compose: dict[str, Any]) -> None:
    _check_least_privilege(compose)
    assert _load(COMPOSE)["secrets"].keys() == {
        "postgres_password", "ray_auth_token",
        *(f"fakewatch_{s}" for s in SECRET_SETTINGS - {"telegram_webhook_secret"}),  # polling here
    }  # fmt: skip


def test_least_privilege_check_catches_an_extra_secret(compose: dict[str, Any]) -> None:
    """The check above can fail: the serving process must not hold the pseudonym secret."""
    broken = yaml.safe_load(yaml.safe_dump(compose))
    broken["services"]["serving"]["secrets"].append("fakewatch_pseudonym_secret")
    with pytest.raises(AssertionError, match="holds secrets it never reads"):
        _check_least_privilege(broken)
    broken = yaml.safe_load(yaml.safe_dump(compose))
    broken["services"]["console"]["environment"]["FAKEWATCH_SERVING_URL"] = "http://x"
    with pytest.raises(AssertionError, match="never reads"):
        _check_least_privilege(broken)


def test_each_service_builds_its_production_settings(compose: dict[str, Any], tmp_path: Path, monkeypatch) -> None:
    """With .env.example's values and the secret files, each service's own environment makes a
    valid production Settings for that service (what its container does at start)."""
    example = _env_example()
    values = {
        "database_url": "postgresql+asyncpg://fakewatch:pw@postgres:5432/fakewatch",
        "telegram_token": "123456:" + "A" * 35,
        "pseudonym_secret": "pepper-secret",
        "operator_token": "operator-secret",
    }
    for name, service in _ours(compose).items():
        kind = _service_of(service)
        if kind == "ray-node":
            continue
        secrets_dir = tmp_path / name
        secrets_dir.mkdir()
        for secret in _secret_names(service):
            setting = secret.removeprefix("fakewatch_")
            if setting in values:
                (secrets_dir / secret).write_text(values[setting] + "\n")
        for key in [k for k in os.environ if k.startswith(ENV_PREFIX)]:
            monkeypatch.delenv(key)
        for key, value in (service.get("environment") or {}).items():
            value = _substitute(str(value), example)
            if key == SECRETS_DIR_VAR:
                value = str(secrets_dir)
            if value:
                monkeypatch.setenv(key, value)
        settings = Settings(kind)  # type: ignore[arg-type]
        assert settings.environment == "production", name
        if kind in {"bot", "console", "migrate"}:
            assert settings.database_url == values["database_url"], name
        if kind == "bot":
            assert settings.serving_url == "http://ray-head:8000"
            assert settings.telegram_token is not None
        if kind == "serving":
            assert settings.ray_address == "ray://ray-head:10001" and settings.http_host == "0.0.0.0"


def test_commands_exist_and_serving_joins_the_cluster(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in _ours(compose).items():
        command = service["command"]
        if command[0] == "fakewatch":
            assert command[1] in COMMANDS, f"service {name} runs unknown subcommand {command[1]!r}"
    assert services["ray-head"]["command"][:3] == ["ray", "start", "--head"]
    assert "--address=ray-head:6379" in services["ray-worker"]["command"]
    assert services["serving"]["environment"]["FAKEWATCH_RAY_ADDRESS"] == "ray://ray-head:10001"
    # the cluster needs its token; every Ray process and the deployer get it
    for name in ("ray-head", "ray-worker", "serving"):
        env = services[name]["environment"]
        assert env["RAY_AUTH_MODE"] == "token" and env["RAY_AUTH_TOKEN_PATH"] == "/run/secrets/ray_auth_token"


def test_no_ray_port_is_published(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for mapping in service.get("ports", []):
            parts = str(mapping).split(":")
            assert not RAY_PORTS & set(parts), f"{name} publishes a Ray port: {mapping}"
            assert str(mapping).startswith("127.0.0.1:"), f"{name} publishes {mapping} on all interfaces"


def test_every_long_running_service_has_a_health_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        if service.get("restart") == "no":  # a one-shot job (migrate)
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert services["bot"]["depends_on"]["serving"]["condition"] == "service_healthy"
    assert services["bot"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["serving"]["depends_on"]["ray-head"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_env_example_is_exactly_what_compose_substitutes() -> None:
    used = set()
    for path in (COMPOSE, GPU):
        text = yaml.safe_dump(_load(path))  # without comments
        used |= {m.group(1) for m in VAR.finditer(text)}
    example = set(_env_example())
    assert used <= example, f".env.example lacks {sorted(used - example)}"
    assert example <= used, f".env.example lists variables no compose file uses: {sorted(example - used)}"
    assert not {f"FAKEWATCH_{s.upper()}" for s in SECRET_SETTINGS} & example, "secrets belong in ./secrets"


def test_make_secrets_writes_what_compose_mounts(compose: dict[str, Any], tmp_path: Path) -> None:
    out = subprocess.run(
        ["bash", str(ROOT / "deploy" / "make-secrets.sh"), str(tmp_path / "secrets")],
        env={**os.environ, "FAKEWATCH_TELEGRAM_TOKEN": "123:abc"}, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    written = {p.name for p in (tmp_path / "secrets").iterdir()}
    # the bot's API key is made by `fakewatch ops keys create` once the database is up: the
    # script says how, and writes every other secret compose mounts
    by_ops = "fakewatch_serving_api_key"
    assert written == {Path(s["file"]).name for s in compose["secrets"].values()} - {by_ops}
    assert f"ops keys create bot > {tmp_path / 'secrets' / by_ops}" in out.stdout
    password = (tmp_path / "secrets" / "postgres_password").read_text().strip()
    url = (tmp_path / "secrets" / "fakewatch_database_url").read_text().strip()
    assert len(password) >= 32 and f":{password}@postgres:5432/" in url
    assert all((p.stat().st_mode & 0o077) == 0 for p in (tmp_path / "secrets").iterdir())


def _docker_compose() -> str:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose is not installed (`make system-deps` installs Debian's; apt was unreachable)")
    return exe


@pytest.mark.parametrize("files", [["docker-compose.yml"], ["docker-compose.yml", "docker-compose.gpu.yml"]])
def test_docker_compose_validates(files: list[str]) -> None:
    exe = _docker_compose()
    args = [exe, "--project-directory", str(ROOT)] + [a for f in files for a in ("-f", str(ROOT / f))]
    out = subprocess.run([*args, "config", "-q"], capture_output=True, text=True, timeout=120, env=_no_compose_env())
    assert out.returncode == 0, out.stderr
    merged = yaml.safe_load(subprocess.run([*args, "config"], capture_output=True, text=True, timeout=120,
                                           env=_no_compose_env(), check=True).stdout)  # fmt: skip
    _check_least_privilege(merged)
    if "docker-compose.gpu.yml" in files:
        worker = merged["services"]["ray-worker"]
        assert worker["image"].startswith("fakewatch-serving-cuda")
        assert "gpu" in worker["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"]
        assert merged["services"]["serving"]["environment"]["FAKEWATCH_DEVICE"] == "cuda"
    else:
        assert all("cuda" not in str(s.get("image")) for s in merged["services"].values())
        assert all("deploy" not in s for s in merged["services"].values()), "CPU by default"


def test_docker_compose_rejects_a_broken_file(tmp_path: Path) -> None:
    """The validation above can fail: an unknown option in a service is an error."""
    exe = _docker_compose()
    broken = _load(COMPOSE)
    broken["services"]["bot"]["restart_policy_typo"] = "always"
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    out = subprocess.run([exe, "--project-directory", str(ROOT), "-f", str(path), "config", "-q"],
                         capture_output=True, text=True, timeout=120, env=_no_compose_env())  # fmt: skip
    assert out.returncode != 0 and "restart_policy_typo" in out.stderr


def _no_compose_env() -> dict[str, str]:
    """docker-compose would read the operator's variables; validate against the defaults."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("FAKEWATCH_", "RAY_", "COMPOSE_"))}
