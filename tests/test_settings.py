"""The one settings object: env parsing and refusal of development secrets in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fakewatch.settings import DEFAULT_SECRET, Settings


def test_defaults_are_the_embedded_local_setup(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("FAKEWATCH_ENVIRONMENT", raising=False)
    s = Settings(_env_file=None, data_dir=tmp_path)
    assert s.environment == "local"
    assert s.database_url_or_default.startswith("sqlite+aiosqlite:///")
    assert str(tmp_path) in s.database_url_or_default


def test_operator_ids_from_env(monkeypatch) -> None:
    monkeypatch.setenv("FAKEWATCH_OPERATOR_IDS", "12, 34,56")
    assert Settings(_env_file=None).operator_ids == [12, 34, 56]


def test_production_refuses_default_secrets(monkeypatch) -> None:
    monkeypatch.setenv("FAKEWATCH_ENVIRONMENT", "production")
    monkeypatch.setenv("FAKEWATCH_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    with pytest.raises(ValidationError, match="PSEUDONYM_SECRET"):
        Settings(_env_file=None)
    monkeypatch.setenv("FAKEWATCH_PSEUDONYM_SECRET", "s3cret-pepper")
    with pytest.raises(ValidationError, match="OPERATOR_TOKEN"):
        Settings(_env_file=None)
    monkeypatch.setenv("FAKEWATCH_OPERATOR_TOKEN", "op-token")
    s = Settings(_env_file=None)
    assert s.pseudonym_secret.get_secret_value() != DEFAULT_SECRET


def test_secrets_do_not_print(monkeypatch) -> None:
    monkeypatch.setenv("FAKEWATCH_TELEGRAM_TOKEN", "123:SECRET")
    s = Settings(_env_file=None)
    assert "SECRET" not in repr(s) and "SECRET" not in str(s.model_dump())
