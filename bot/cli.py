"""``fakewatch bot``: run the Telegram bot (long polling or a webhook) until SIGINT/SIGTERM.

Migrations run first (prestart, full-stack-template style) so a fresh database just works;
the token never reaches the logs (httpx silenced + a redacting filter on every handler).
The polling loop is the bot's own (``bot.intake``): an update is confirmed to Telegram only
after it is committed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import fields, replace

from telegram.ext import Application

from bot.options import BotOptions
from bot.privacy import install_log_redaction

_TUNABLES = {
    "worker_concurrency": int,
    "lease_s": float,
    "poll_interval_s": float,
    "retry_base_s": float,
    "retry_max_s": float,
    "album_debounce_s": float,
    "poll_timeout_s": float,
    "serving_breaker_reset_s": float,
    "send_timeout_s": float,
    "stop_grace_s": float,
    "user_burst": int,
    "user_per_minute": float,
    "chat_burst": int,
    "chat_per_minute": float,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fakewatch bot",
        description="Run the fakewatch Telegram bot (long polling, or a webhook when "
        "FAKEWATCH_TELEGRAM_WEBHOOK_URL is set). Configure with FAKEWATCH_* variables: TELEGRAM_TOKEN, "
        "TELEGRAM_BASE_URL, DATABASE_URL, SERVING_URL, OPERATOR_IDS, TELEGRAM_WEBHOOK_SECRET…",
    )
    parser.add_argument("--no-migrate", action="store_true", help="skip `alembic upgrade head`")
    parser.add_argument(
        "--worker-only",
        action="store_true",
        help="do not poll Telegram; only process the shared job queue (run extra workers this "
        "way: Telegram allows one poller per token)",
    )
    parser.add_argument("--log-level", default=None, help="default: FAKEWATCH_LOG_LEVEL")
    defaults = BotOptions()
    known = {f.name for f in fields(BotOptions)}
    for name, type_ in _TUNABLES.items():
        assert name in known, name
        parser.add_argument(
            "--" + name.replace("_", "-"), type=type_, default=None,
            help=f"default {getattr(defaults, name)}",
        )  # fmt: skip
    return parser


def bot_main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from fakewatch.settings import get_settings

    settings = get_settings("bot")
    logging.basicConfig(
        level=(args.log_level or settings.log_level).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else ""
    install_log_redaction(token, settings.pseudonym_secret.get_secret_value())
    if not token:
        print("fakewatch bot: FAKEWATCH_TELEGRAM_TOKEN is not set", file=sys.stderr)
        return 2
    options = replace(
        BotOptions(),
        **{name: getattr(args, name) for name in _TUNABLES if getattr(args, name) is not None},
    )
    import db
    from bot.app import build_application

    url = settings.database_url_or_default
    if not args.no_migrate:
        if url.startswith("sqlite"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            asyncio.run(db.upgrade(url))
        except Exception as exc:
            from bot._outage import is_outage

            if not is_outage(exc):
                raise
            print(f"fakewatch bot: the database is not reachable ({db.redact_url(url)}): {type(exc).__name__}; "
                  "start it, or run with --no-migrate", file=sys.stderr)  # fmt: skip
            return 1
    app = build_application(settings, options)
    mode = "worker" if args.worker_only else "webhook" if settings.telegram_webhook_url else "polling"
    logging.getLogger(__name__).info("fakewatch bot %s (database %s)", mode, db.redact_url(url))
    asyncio.run(_run_until_signalled(app, polling=not args.worker_only))
    return 0


async def _run_until_signalled(app: Application, *, polling: bool) -> None:
    """Run the intake (unless worker-only) and the job worker until SIGINT/SIGTERM, then stop."""
    import signal

    from bot.app import running

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(app, polling=polling):
        await stop.wait()
