"""One typed settings object for every part of fakewatch, read from ``FAKEWATCH_*`` env vars.

Why one object: the bot, serving, training and the operator tools must agree on limits,
paths and secrets. Secrets are ``SecretStr`` so they never print; in production, and whenever a
service binds beyond loopback, the settings refuse the embedded development defaults
(full-stack-fastapi-template style).
``db`` deliberately does not import this module: callers pass it a URL.

Two sources are opt-in, so that a stray file never changes a run: a dotenv file only when
``FAKEWATCH_ENV_FILE`` names one (compose's ``.env`` and ``make run`` never meet), and a
secrets directory (one file per setting, e.g. ``/run/secrets/fakewatch_pseudonym_secret``)
only when ``FAKEWATCH_SECRETS_DIR`` names one. ``SERVICE_SETTINGS`` says which settings each
service reads: deployments give a service exactly those, and a service warns about secrets
it holds but does not use.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from fakewatch.net import is_loopback_host, parse_networks

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "changethis-development-only"
ENV_PREFIX = "FAKEWATCH_"
# Read only when set: a dotenv file, and a directory of secret files (Docker/Kubernetes secrets).
ENV_FILE_VAR = "FAKEWATCH_ENV_FILE"
SECRETS_DIR_VAR = "FAKEWATCH_SECRETS_DIR"

ServiceName = Literal["migrate", "bot", "console", "ops", "serving", "replica"]

# Settings that are secrets: deployments hand them over as files, never as plain env values.
SECRET_SETTINGS: frozenset[str] = frozenset(
    {
        "database_url",
        "telegram_token",
        "pseudonym_secret",
        "operator_token",
        "serving_api_key",
        "telegram_webhook_secret",
    }
)
# In production a service that reads one of these must have a real value.
_REQUIRED_IN_PRODUCTION = ("pseudonym_secret", "operator_token", "database_url")

_GENERAL = frozenset({"environment", "log_level"})
_DATABASE = frozenset({"database_url", "data_dir"})  # data_dir: where the SQLite default lives
# What a Serve replica's engine reads (serving/engine.py, serving/intake, serving/faces); the
# application builder hands the replicas exactly these, resolved once on the deploying process.
_ENGINE = frozenset(
    {
        "image_model", "video_model", "device",
        "max_file_bytes", "max_image_pixels", "max_video_seconds", "max_video_pixels",
        "decode_timeout_s", "frames_per_video",
        "detector", "image_fallback_detector", "detect_max_side", "face_margin", "min_face_px", "min_reliable_face_px",
        "max_video_frames", "max_animation_frames", "video_codecs",
        "max_faces_per_frame", "max_faces_per_request",
    }
)  # fmt: skip

# Which settings each service reads. docker-compose.yml gives a service only these
# (tests/deploy/test_compose.py); tests/deploy/test_service_settings.py checks them against the code.
SERVICE_SETTINGS: dict[str, frozenset[str]] = {
    # `fakewatch db upgrade`
    "migrate": frozenset({"environment"}) | _DATABASE,
    # `fakewatch bot` and `fakewatch bot --worker-only`
    "bot": _GENERAL
    | _DATABASE
    | {
        "telegram_token",
        "telegram_base_url",
        "telegram_base_file_url",
        "telegram_local_mode",
        "operator_ids",
        "pseudonym_secret",
        "retention_days",
        "serving_url",
        "serving_api_key",
        "request_timeout_s",
        "max_file_bytes",
        "allow_private_links",
        "telegram_webhook_url",
        "telegram_webhook_secret",
        "telegram_webhook_host",
        "telegram_webhook_port",
    },
    # `fakewatch console`
    "console": _GENERAL | _DATABASE | {"operator_token", "console_host", "console_port", "trusted_proxies"},
    # `fakewatch ops`
    "ops": frozenset({"environment"}) | _DATABASE | {"api_keys_file"},
    # `fakewatch serve`: deploys the Serve app (locally or to a cluster by address)
    "serving": _GENERAL
    | _ENGINE
    | {
        "http_host",
        "http_port",
        "ray_address",
        "num_gpus_per_model",
        "image_batch_size",
        "video_batch_size",
        "batch_wait_s",
        "request_timeout_s",
        "api_access",
        "api_keys_file",
        "data_dir",
        "public_requests_per_minute",
        "public_bytes_per_hour",
        "trusted_proxies",
    },
    # a Serve replica (on any Ray node): `serving` resolves these once and hands them over
    "replica": _ENGINE,
}

# Secrets whose development default is refused beyond loopback (see check_secrets_for_bind).
DEFAULT_SECRET_FIELDS = ("pseudonym_secret", "operator_token")
# Settings that make a service listen; with one beyond loopback, default secrets are refused.
BIND_SETTINGS = ("http_host", "console_host", "telegram_webhook_host")
API_KEYS_FILE = "api_keys.json"


class Settings(BaseSettings):
    """Everything configurable about fakewatch; defaults are the embedded local setup."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=None, secrets_dir=None, env_ignore_empty=True, extra="ignore"
    )

    def __init__(self, _service: ServiceName | None = None, **values: Any) -> None:
        """``_service``: the service these settings are for (production checks only its secrets);
        None checks them all. ``_env_file`` / ``_secrets_dir`` default to the opt-in variables."""
        values.setdefault("_env_file", _opt_in_path(ENV_FILE_VAR, directory=False))
        values.setdefault("_secrets_dir", _opt_in_path(SECRETS_DIR_VAR, directory=True))
        super().__init__(**values)
        self._refuse_default_secrets(_service)

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
    # where the detector finds no face in a still, or loses one in a video, a second detector
    # searches: MTCNN (fast, finds turned and small faces) or dlib's CNN (about 1 s per photo)
    image_fallback_detector: Literal["none", "mtcnn", "cnn"] = "mtcnn"
    detect_max_side: int = 480
    face_margin: float = 0.25
    min_face_px: int = 24
    # Below this face side (px) the models see an upscaled blur where swap traces were: a
    # real/fake verdict on such faces alone becomes uncertain (reason low_resolution).
    # Evidence: benchmarks/results/face-size-cpu2.json (answers degrade gradually, worst here).
    min_reliable_face_px: int = 32
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
    # links in messages are never fetched from private/loopback/link-local addresses; tests
    # serve media from 127.0.0.1 and turn this on (refused in production)
    allow_private_links: bool = False

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

    def _refuse_default_secrets(self, service: ServiceName | None) -> None:
        """Production must not run on the secrets that are written in this file (nor without a
        database), and no service may bind beyond loopback with them in any environment:
        checked for the secrets ``service`` reads, all of them when it is None."""
        used = SERVICE_SETTINGS[service] if service else frozenset(type(self).model_fields)
        problems: list[tuple[str, str]] = []
        if self.environment == "production":
            for name in _REQUIRED_IN_PRODUCTION:
                if name not in used:
                    continue
                value = getattr(self, name)
                if name == "database_url":
                    if not value:
                        problems.append((name, f"{ENV_PREFIX}DATABASE_URL must be set in production"))
                elif value.get_secret_value() == DEFAULT_SECRET:
                    problems.append(
                        (
                            name,
                            f"{ENV_PREFIX}{name.upper()} still has its development default; "
                            "set a real secret for production",
                        )
                    )
            if self.allow_private_links:
                problems.append(
                    (
                        "allow_private_links",
                        f"{ENV_PREFIX}ALLOW_PRIVATE_LINKS is for tests; production never fetches private addresses",
                    )
                )
        for host_setting in BIND_SETTINGS:
            if host_setting in used and not problems:
                try:
                    self.check_secrets_for_bind(
                        getattr(self, host_setting), setting=f"{ENV_PREFIX}{host_setting.upper()}", service=service
                    )
                except ValueError as exc:
                    problems.append((host_setting, str(exc)))
        if problems:
            details = [
                InitErrorDetails(type=PydanticCustomError("unsafe_setting", message), loc=(name,), input="<hidden>")
                for name, message in problems
            ]
            raise ValidationError.from_exception_data(type(self).__name__, details)

    def check_secrets_for_bind(
        self, host: str | None, *, setting: str = "--host", service: ServiceName | None = None
    ) -> None:
        """The one rule for default secrets: refused in production (``host=None``) and whenever
        a service binds to ``host`` that is not loopback-only; only the secrets ``service`` holds
        count (all when None). CLIs call it for ``--host``."""
        if host is not None and is_loopback_host(host):
            return
        used = SERVICE_SETTINGS[service] if service else frozenset(DEFAULT_SECRET_FIELDS)
        defaults = [
            n for n in DEFAULT_SECRET_FIELDS if n in used and getattr(self, n).get_secret_value() == DEFAULT_SECRET
        ]
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


def _opt_in_path(variable: str, *, directory: bool) -> Path | None:
    """The path that ``variable`` names, or None when it is unset; a missing one is an error
    (an operator who asked for a file must not silently run without it)."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not (path.is_dir() if directory else path.is_file()):
        kind = "directory" if directory else "file"
        raise SettingsError(f"{variable}={raw}: no such {kind}")
    return path


def held_unused_secrets(service: ServiceName) -> list[str]:
    """Secrets this process could read (environment or secrets directory) that ``service``
    never uses: each one is exposure without purpose."""
    secrets_dir = _opt_in_path(SECRETS_DIR_VAR, directory=True)
    held = []
    for name in sorted(SECRET_SETTINGS - SERVICE_SETTINGS[service]):
        key = f"{ENV_PREFIX}{name.upper()}"
        in_dir = secrets_dir is not None and any(p.name.lower() == key.lower() for p in secrets_dir.iterdir())
        if os.environ.get(key) or in_dir:
            held.append(key)
    return held


@functools.cache
def get_settings(service: ServiceName | None = None) -> Settings:
    """The process-wide settings for ``service`` (cached; tests build their own
    ``Settings(...)``). None: every part of fakewatch in one process (``fakewatch run``)."""
    settings = Settings(service)
    if service is not None:
        for key in held_unused_secrets(service):
            logging.getLogger(__name__).warning(
                "%s is given to the %s service, which does not use it: remove it there", key, service
            )
    return settings
