"""One typed settings object for every part of fakewatch, read from ``FAKEWATCH_*`` env vars.

Why one object: the bot, serving, training and the operator tools must agree on limits,
paths and secrets. Secrets are ``SecretStr`` so they never print; in production the
settings refuse the embedded development defaults (full-stack-fastapi-template style).
``db`` deliberately does not import this module: callers pass it a URL.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated, Self

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "changethis-development-only"


class Settings(BaseSettings):
    """Everything configurable about fakewatch; defaults are the embedded local setup."""

    model_config = SettingsConfigDict(
        env_prefix="FAKEWATCH_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    environment: Literal["local", "test", "production"] = "local"
    data_dir: Path = REPO_ROOT / "data"
    log_level: str = "INFO"

    # --- models -----------------------------------------------------------------------
    image_model: Path = REPO_ROOT / "models" / "image"
    video_model: Path = REPO_ROOT / "models" / "video"
    device: str = "auto"  # "auto" | "cpu" | "cuda"

    # --- media intake caps -------------------------------------------------------------
    max_file_bytes: int = 50 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    max_video_seconds: float = 600.0
    max_video_pixels: int = 3840 * 2160
    decode_timeout_s: float = 30.0
    frames_per_video: int = 32

    # --- faces ---------------------------------------------------------------------------
    detector: Literal["hog", "cnn"] = "hog"
    # still images where the detector finds no face get a second search with dlib's CNN
    image_fallback_detector: Literal["none", "cnn"] = "cnn"
    detect_max_side: int = 480
    face_margin: float = 0.25
    min_face_px: int = 24

    # --- serving -------------------------------------------------------------------------
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    serving_url: str = "http://127.0.0.1:8000"
    ray_address: str | None = None  # None: start a local Ray; "auto" or "ray://…": join one
    num_gpus_per_model: float = 0.0
    image_batch_size: int = 16
    video_batch_size: int = 4
    batch_wait_s: float = 0.02
    request_timeout_s: float = 120.0

    # --- database ------------------------------------------------------------------------
    database_url: str = ""  # empty: sqlite in data_dir (see database_url_or_default)

    # --- telegram bot ------------------------------------------------------------------
    telegram_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    telegram_local_mode: bool = False
    # Webhook mode (empty URL: long polling). Telegram posts each update to this public URL with
    # the secret in X-Telegram-Bot-Api-Secret-Token; the bot listens on host:port behind your TLS
    # proxy and answers 200 only once the update is committed.
    telegram_webhook_url: str = ""
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_host: str = "127.0.0.1"
    telegram_webhook_port: int = 8443
    operator_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    pseudonym_secret: SecretStr = SecretStr(DEFAULT_SECRET)
    retention_days: int = 30

    # --- operator console --------------------------------------------------------------
    operator_token: SecretStr = SecretStr(DEFAULT_SECRET)
    console_host: str = "127.0.0.1"
    console_port: int = 8001

    @field_validator("operator_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Accept ``"1,2,3"`` from the environment as well as a list."""
        if isinstance(value, str):
            return [int(part) for part in value.replace(" ", "").split(",") if part]
        if isinstance(value, int):
            return [value]
        return value

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Self:
        """Production must not run on the secrets that are written in this file."""
        if self.environment == "production":
            for name in ("pseudonym_secret", "operator_token"):
                if getattr(self, name).get_secret_value() == DEFAULT_SECRET:
                    raise ValueError(
                        f"FAKEWATCH_{name.upper()} still has its development default; "
                        "set a real secret for production"
                    )
            if not self.database_url:
                raise ValueError("FAKEWATCH_DATABASE_URL must be set in production")
        return self

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> Self:
        """A webhook without a secret would take updates from anyone who finds the URL."""
        if self.telegram_webhook_url:
            secret = self.telegram_webhook_secret.get_secret_value() if self.telegram_webhook_secret else ""
            if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret):
                raise ValueError(
                    "FAKEWATCH_TELEGRAM_WEBHOOK_SECRET must be set with a webhook URL: 16-256 characters "
                    "of A-Z, a-z, 0-9, _ and -"
                )
        return self

    @property
    def database_url_or_default(self) -> str:
        """The configured URL, or an SQLite file in the data directory (embedded default)."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'fakewatch.sqlite3').resolve()}"


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings(...)``)."""
    return Settings()
