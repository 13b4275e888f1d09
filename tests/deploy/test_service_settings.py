"""``SERVICE_SETTINGS`` (fakewatch/settings.py) against the code: each service's set must be what
its code reads, no more and no less, because deployments hand a service exactly that set
(docker-compose.yml, deploy/k8s) and the replicas get exactly theirs from the builder.

"What its code reads" is found statically: from the service's entry point, follow the imports of
our own packages (module level and inside functions), and collect every ``<...settings...>.name``
attribute and ``settings["name"]`` subscript naming a settings field.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fakewatch.settings import SECRET_SETTINGS, SERVICE_SETTINGS, Settings

ROOT = Path(__file__).resolve().parents[2]
OURS = ("bot", "db", "serving", "training", "fakewatch")
FIELDS = set(Settings.model_fields)
# Properties that read fields.
DERIVED = {
    "database_url_or_default": {"database_url", "data_dir"},
    "api_keys_path": {"api_keys_file", "data_dir"},
}
# Read by Settings itself (the production check), whatever the service.
ALWAYS = {"environment"}

# service -> entry points: "module" (the whole module) or "module:function" (that function's
# body, plus the modules it and its module import).
ENTRIES: dict[str, list[str]] = {
    "migrate": ["fakewatch.db_cli:db_main", "fakewatch.db_cli:database_url"],
    "bot": ["bot.cli:bot_main", "bot.cli:_run_until_signalled", "fakewatch.db_cli:database_url"],
    "console": ["fakewatch.ops_cli:console_main", "fakewatch.console"],
    "ops": ["fakewatch.ops_cli:ops_main", "fakewatch.ops_cli:_key_file", "fakewatch.db_cli:database_url"],
    "serving": ["serving.app.cli:serve_main", "serving.app.builder", "serving.engine"],
    "replica": ["serving.app.deployments", "serving.app.workers", "serving.engine"],
}


def _path(module: str) -> Path | None:
    base = ROOT / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imports(node: ast.AST, module: str) -> set[str]:
    found: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for n in ast.walk(node):
        if isinstance(n, ast.Import):
            found |= {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom):
            base = n.module or ""
            if n.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - n.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in n.names}
    return {m for m in found if m.split(".")[0] in OURS and _path(m) and m != "fakewatch.settings"}


def _reads(node: ast.AST) -> set[str]:
    names: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Attribute) and "settings" in ast.unparse(n.value).lower():
            attr = n.attr
        elif (
            isinstance(n, ast.Subscript)
            and "settings" in ast.unparse(n.value).lower()
            and isinstance(n.slice, ast.Constant)
            and isinstance(n.slice.value, str)
        ):
            attr = n.slice.value
        else:
            continue
        if attr in FIELDS:
            names.add(attr)
        names |= DERIVED.get(attr, set())
    return names


def _used_by(service: str) -> set[str]:
    todo: list[tuple[str, str | None]] = []
    for entry in ENTRIES[service]:
        module, _, func = entry.partition(":")
        todo.append((module, func or None))
    seen: set[tuple[str, str | None]] = set()
    used: set[str] = set()
    while todo:
        module, func = todo.pop()
        if (module, func) in seen:
            continue
        seen.add((module, func))
        path = _path(module)
        assert path is not None, module
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if func:
            body = next(
                n for n in ast.walk(tree)
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == func
            )  # fmt: skip
            top = ast.Module(
                body=[n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))], type_ignores=[]
            )
            used |= _reads(body)
            nxt = _imports(body, module) | _imports(top, module)
        else:
            used |= _reads(tree)
            nxt = _imports(tree, module)
        todo += [(m, None) for m in nxt]
    return used


@pytest.mark.parametrize("service", sorted(SERVICE_SETTINGS))
def test_declared_settings_are_what_the_code_reads(service: str) -> None:
    used = _used_by(service)
    declared = set(SERVICE_SETTINGS[service])
    assert used <= declared, f"{service} reads {sorted(used - declared)} but SERVICE_SETTINGS does not say so"
    assert declared <= used | ALWAYS, f"{service} never reads {sorted(declared - used - ALWAYS)}"
    assert not (declared - FIELDS), sorted(declared - FIELDS)


def test_every_setting_is_read_by_some_service() -> None:
    covered = set().union(*SERVICE_SETTINGS.values())
    assert FIELDS - covered == set(), f"no service reads {sorted(FIELDS - covered)}"


def test_the_engine_gets_no_secret() -> None:
    assert not SERVICE_SETTINGS["replica"] & SECRET_SETTINGS
    assert not SERVICE_SETTINGS["serving"] & SECRET_SETTINGS


def test_builder_hands_the_replicas_no_secret_and_nothing_of_the_bot() -> None:
    from serving.app import resolve_settings
    from serving.app.args import AppArgs

    resolved = resolve_settings(AppArgs(settings={"frames_per_video": 5}))
    keys = set(resolved) - {"_engine"}
    assert resolved["frames_per_video"] == 5
    assert SERVICE_SETTINGS["replica"] <= keys <= SERVICE_SETTINGS["serving"]


def _settings_in_subprocess(cwd: Path, env: dict[str, str], service: str = "") -> str:
    code = (
        "import sys; from fakewatch.settings import Settings; "
        "s = Settings(sys.argv[1] or None); print(s.environment, s.log_level)"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FAKEWATCH_")}
    out = subprocess.run(
        [sys.executable, "-c", code, service], cwd=cwd, env={**clean, **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return (out.stdout + out.stderr).strip()


def test_a_dotenv_file_is_read_only_when_asked_for(tmp_path: Path) -> None:
    """`cp .env.example .env` for compose must not change `make run` (FAKEWATCH_ENV_FILE opts in)."""
    (tmp_path / ".env").write_text("FAKEWATCH_ENVIRONMENT=test\nFAKEWATCH_LOG_LEVEL=DEBUG\n")
    assert _settings_in_subprocess(tmp_path, {}) == "local INFO"
    assert _settings_in_subprocess(tmp_path, {"FAKEWATCH_ENV_FILE": ".env"}) == "test DEBUG"
    missing = _settings_in_subprocess(tmp_path, {"FAKEWATCH_ENV_FILE": "nope.env"})
    assert "FAKEWATCH_ENV_FILE=nope.env: no such file" in missing


def test_secrets_come_from_files_and_are_checked_per_service(tmp_path: Path, monkeypatch, caplog) -> None:
    from fakewatch.settings import get_settings

    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "fakewatch_database_url").write_text("postgresql+asyncpg://u:pw@db/fw\n")
    (secrets / "fakewatch_operator_token").write_text("operator-token-from-a-file\n")
    for key in [k for k in os.environ if k.startswith("FAKEWATCH_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("FAKEWATCH_ENVIRONMENT", "production")
    monkeypatch.setenv("FAKEWATCH_SECRETS_DIR", str(secrets))
    console = Settings("console")
    assert console.database_url == "postgresql+asyncpg://u:pw@db/fw"  # stripped of the newline
    assert console.operator_token.get_secret_value() == "operator-token-from-a-file"
    # the bot needs the pseudonym secret, which is not there: refused, naming it
    with pytest.raises(ValueError, match="FAKEWATCH_PSEUDONYM_SECRET"):
        Settings("bot")
    # serving needs none of them, but is told that it holds two it does not use
    get_settings.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="fakewatch.settings"):
            assert get_settings("serving").environment == "production"
    finally:
        get_settings.cache_clear()
    warned = caplog.text
    assert "FAKEWATCH_DATABASE_URL is given to the serving service" in warned
    assert "FAKEWATCH_OPERATOR_TOKEN is given to the serving service" in warned
    monkeypatch.setenv("FAKEWATCH_SECRETS_DIR", str(tmp_path / "absent"))
    with pytest.raises(ValueError, match="FAKEWATCH_SECRETS_DIR=.*no such directory"):
        Settings("console")
