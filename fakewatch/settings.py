"""One typed settings object for every part of fakewatch, read from ``FAKEWATCH_*`` env vars.

Why one object: the bot, serving, training and the operator tools must agree on limits,
paths and secrets. Secrets are ``SecretStr`` so they never print; in production, and whenever a
service binds beyond loopback, the settings refuse the embedded development defaults
(full-stack-fastapi-template style).
``db`` deliberately does not import this module: callers pass it a URL.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated, Self

from fakewatch._net import is_loopback_host, parse_networks

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "changethis-development-only"
# Secrets whose development default is refused beyond loopback (see check_secrets_for_bind).
DEFAULT_SECRET_FIELDS = ("pseudonym_secret", "operator_token")
API_KEYS_FILE = "api_keys.json"


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
    # Frames a video may have (declared in its header or counted by the packet scan): 600 s at
    # 60 fps. GIF / animated WebP / APNG decode frame after frame (no seeking), so they get a
    # lower cap of their own: a 30 kB GIF can declare 100 000 frames.
    max_video_frames: int = 36_000
    max_animation_frames: int = 3_000
    # libavcodec decoders a chat video needs; any other codec is refused as `unsupported`
    # before a decoder is opened (codec names as ffprobe prints them).
    video_codecs: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "gif"]
    )

    # --- faces ---------------------------------------------------------------------------
    detector: Literal["hog", "cnn"] = "hog"
    # still images where the detector finds no face get a second search with dlib's CNN
    image_fallback_detector: Literal["none", "cnn"] = "cnn"
    detect_max_side: int = 480
    face_margin: float = 0.25
    min_face_px: int = 24
    # Faces scored per frame and per request; beyond them the smallest faces (per frame) and
    # the people with the smallest faces (per video) are dropped, like faces under min_face_px.
    max_faces_per_frame: int = 8
    max_faces_per_request: int = 64

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

    # --- HTTP API access (serving/app/README.md "API keys") ---------------------------------
    # "keys": every check needs an API key; "public": a request without a key is served under
    # the per-client-address limits below; "auto": public without limits when serving binds to
    # loopback only (make run), keys otherwise.
    api_access: Literal["auto", "keys", "public"] = "auto"
    # SHA-256 hashes of the API keys, written by `fakewatch ops keys` (None: data_dir/api_keys.json)
    api_keys_file: Path | None = None
    # The key this process sends to the serving API (the bot's own key).
    serving_api_key: SecretStr | None = None
    # Limits of one client address without a key, when api_access is "public".
    public_requests_per_minute: int = 10
    public_bytes_per_hour: int = 500 * 1024 * 1024
    # Proxies (IPs or CIDR networks) whose X-Forwarded-For / X-Forwarded-Proto are believed, by
    # the serving API and the console; nobody else's.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # --- database ------------------------------------------------------------------------
    database_url: str = ""  # empty: sqlite in data_dir (see database_url_or_default)

    # --- telegram bot ------------------------------------------------------------------
    telegram_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    telegram_local_mode: bool = False
    operator_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    pseudonym_secret: SecretStr = SecretStr(DEFAULT_SECRET)
    retention_days: int = 30

    # --- operator console --------------------------------------------------------------
    operator_token: SecretStr = SecretStr(DEFAULT_SECRET)
    console_host: str = "127.0.0.1"
    console_port: int = 8001

    @field_validator("video_codecs", "trusted_proxies", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        """Accept ``"h264,vp9"`` from the environment as well as a list."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        parse_networks(value)
        return value

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
        """Production, and any non-loopback bind in any environment, must not run on the secrets
        that are written in this file."""
        if self.environment == "production":
            self.check_secrets_for_bind(None)
            if not self.database_url:
                raise ValueError("FAKEWATCH_DATABASE_URL must be set in production")
        for name in ("http_host", "console_host"):
            self.check_secrets_for_bind(getattr(self, name), setting=f"FAKEWATCH_{name.upper()}")
        return self

    def check_secrets_for_bind(self, host: str | None, *, setting: str = "--host") -> None:
        """The one rule for default secrets: refused in production (``host=None``) and whenever
        a service binds to ``host`` that is not loopback-only. CLIs call it for ``--host``."""
        if host is not None and is_loopback_host(host):
            return
        defaults = [n for n in DEFAULT_SECRET_FIELDS if getattr(self, n).get_secret_value() == DEFAULT_SECRET]
        if not defaults:
            return
        names = ", ".join(f"FAKEWATCH_{n.upper()}" for n in defaults)
        if host is None:
            raise ValueError(f"{names} still has its development default; set a real secret for production")
        raise ValueError(
            f"{setting}={host} listens beyond this machine, but {names} still has its public "
            "development default; set a real secret (or bind to 127.0.0.1)"
        )

    @property
    def api_keys_path(self) -> Path:
        """Where the API key hashes live (``api_keys_file`` or ``data_dir/api_keys.json``)."""
        return self.api_keys_file if self.api_keys_file is not None else self.data_dir / API_KEYS_FILE

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
