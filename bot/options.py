"""The bot's tunables that are not deployment settings (tests shrink them, ops rarely touch them).

Deployment facts (token, URLs, secrets, operator ids) stay in ``fakewatch.settings.Settings``;
:class:`BotOptions` holds the timing and limit knobs, defaulting to ``bot.constants``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import constants


@dataclass(frozen=True)
class BotOptions:
    worker_concurrency: int = constants.WORKER_CONCURRENCY
    lease_s: float = constants.LEASE_S
    poll_interval_s: float = constants.POLL_INTERVAL_S
    retry_base_s: float = constants.RETRY_BASE_S
    retry_max_s: float = constants.RETRY_MAX_S
    max_job_age_s: float = constants.MAX_JOB_AGE_S
    max_timeouts: int = constants.MAX_TIMEOUTS
    send_timeout_s: float = constants.SEND_TIMEOUT_S
    stop_grace_s: float = constants.STOP_GRACE_S
    album_debounce_s: float = constants.ALBUM_DEBOUNCE_S
    #: None: 20 MB from api.telegram.org, unlimited (settings.max_file_bytes) in local mode.
    download_limit_bytes: int | None = None
    user_burst: int = constants.USER_BURST
    user_per_minute: float = constants.USER_PER_MINUTE
    chat_burst: int = constants.CHAT_BURST
    chat_per_minute: float = constants.CHAT_PER_MINUTE
    rate_limiter_max_retries: int = constants.RATE_LIMITER_MAX_RETRIES
    serving_retries: int = 1
    serving_breaker_threshold: int = 3
    serving_breaker_reset_s: float = 15.0
    chat_action_every_s: float = constants.CHAT_ACTION_EVERY_S
    models_refresh_s: float = constants.MODELS_REFRESH_S
    poll_timeout_s: float = 10.0  # getUpdates long-poll timeout
    ingest_retry_max_s: float = constants.INGEST_RETRY_MAX_S
    run_purge: bool = True  # schedule the daily retention purge

    @property
    def heartbeat_s(self) -> float:
        """How often a running job's lease is renewed."""
        return self.lease_s / constants.HEARTBEATS_PER_LEASE
