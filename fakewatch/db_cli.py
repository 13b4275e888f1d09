"""``fakewatch db upgrade|check|current``: migrations for ``FAKEWATCH_DATABASE_URL``.

``upgrade`` is what ``fakewatch run`` and the containers' prestart step call; ``check`` is the
CI gate that fails when models and migrations disagree.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from sqlalchemy.exc import SQLAlchemyError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fakewatch db", description="database migrations")
    parser.add_argument("--database-url", help="default: FAKEWATCH_DATABASE_URL or SQLite in the data dir")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("upgrade", help="apply all migrations (creates the schema in an empty database)")
    sub.add_parser("check", help="fail unless the database is at head and matches the models")
    sub.add_parser("current", help="print the database's revision and the migrations' head")
    return parser


def database_url(explicit: str | None, service: str = "migrate") -> str:
    if explicit:
        return explicit
    from fakewatch.settings import Settings

    # Not get_settings(): `fakewatch db current` is also the bot's health check, run beside the
    # bot's secrets, and must not warn about them every time.
    return Settings(service).database_url_or_default  # type: ignore[arg-type]


async def _run(action: str, url: str) -> int:
    import db

    shown = db.redact_url(url)
    if action == "upgrade":
        await db.upgrade(url)
        print(f"database {shown} is at revision {db.head_revision()}")
    elif action == "check":
        await db.check_migrations(url)
        print(f"database {shown} is at head {db.head_revision()} and matches the models")
    else:
        current = await db.current_revision(url)
        head = db.head_revision()
        print(f"current: {current or '<empty>'}\nhead:    {head}")
        return 0 if current == head else 1
    return 0


def db_main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    import db

    url = args.database_url or ""
    try:
        url = database_url(args.database_url)
        return asyncio.run(_run(args.action, url))
    except db.DatabaseURLError as exc:
        print(f"fakewatch db: {exc}", file=sys.stderr)
        return 2
    except db.MigrationError as exc:
        print(f"fakewatch db: {exc}", file=sys.stderr)
        return 1
    except (SQLAlchemyError, OSError) as exc:
        print(f"fakewatch db: cannot use database {db.redact_url(url)}: {_first_line(exc)}", file=sys.stderr)
        return 1


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
