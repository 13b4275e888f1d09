"""``fakewatch ops`` (operator queries in a terminal) and ``fakewatch console`` (the web console).

Both read the same ``db.queries`` as the console, print aligned tables for people and
``--json`` for scripts, and take ``--database-url`` (default: the settings' URL).
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import json
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import IO, Any

from sqlalchemy.exc import SQLAlchemyError

from fakewatch.db_cli import _first_line, database_url
from serving.api_keys import DEFAULT_BYTES_PER_HOUR as _DEFAULT_BPH  # stdlib-only module
from serving.api_keys import DEFAULT_REQUESTS_PER_MINUTE as _DEFAULT_RPM

# Long values (pseudonyms, versions) are cut in tables; --json and exports keep them whole.
_CELL_MAX = 24


class OpsError(Exception):
    """A problem to report in one line (bad filter, database not migrated…)."""


# --- output ------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    text = str(value)
    if len(text) > 19 and text[4:5] == "-" and text[10:11] == "T":  # ISO timestamp: to the second
        return text[:19].replace("T", " ")
    return text if len(text) <= _CELL_MAX else text[: _CELL_MAX - 1] + "…"


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """An aligned plain-text table; numbers right-aligned."""
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [
        all(isinstance(row.get(c), (int, float)) or row.get(c) is None for row in rows) and bool(rows) for c in columns
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    out = [line(columns), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


def _counts_table(title: str, counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    rows = [{title: k, "checks": v, "share": f"{100 * v / total:.1f}%"} for k, v in counts.items()]
    return format_table(rows, [title, "checks", "share"]) if rows else f"{title}: none"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def render_stats(st: dict[str, Any]) -> str:
    window = (
        f"{_cell(st['since']) if st['since'] else 'the beginning'} → {_cell(st['until']) if st['until'] else 'now'}"
    )
    fb = st["feedback"]
    parts = [
        f"checks from {window}: {st['total']}",
        f"latency p50 {_ms(st['latency_ms'].get('p50'))}, p95 {_ms(st['latency_ms'].get('p95'))}",
        f"feedback: {fb['votes']} votes, {fb['agree']} agree, {fb['disagree']} say wrong, "
        f"agreement {_pct(fb['agreement_rate'])}",
        "",
        _counts_table("verdict", st["by_verdict"]),
        "",
        _counts_table("kind", st["by_kind"]),
        "",
        _counts_table("source", st["by_source"]),
        "",
        _counts_table("status", st["by_status"]),
        "",
        _counts_table("model_version", st["by_model_version"]),
        "",
        format_table(st["by_chat"], ["chat_id", "checks", "fake"]) if st["by_chat"] else "chats: none",
    ]
    return "\n".join(parts)


# --- commands --------------------------------------------------------------------------------


def _add_common(p: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    p.add_argument("--database-url", help="default: FAKEWATCH_DATABASE_URL or SQLite in the data dir")
    if json_flag:
        p.add_argument("--json", action="store_true", help="machine-readable JSON instead of a table")


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", help="7d, 12h, 2w or an ISO date (UTC)")
    p.add_argument("--until", help="same forms as --since")
    p.add_argument("--verdict", help="real, uncertain, fake, no_face or invalid")
    p.add_argument("--chat", dest="chat_id", help="Telegram chat id (groups)")
    p.add_argument("--user", dest="user_pseudonym", help="user pseudonym")
    p.add_argument("--min-prob", dest="min_probability", help="minimum fake probability, 0..1")
    p.add_argument("--model-version")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fakewatch ops", description="operator queries on the check log")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("stats", help="counts, latency and feedback agreement over a window")
    p.add_argument("--since", default="7d", help="window start (default 7d)")
    p.add_argument("--until")
    p.add_argument("--top-chats", type=int, default=10)
    _add_common(p)

    p = sub.add_parser("checks", help="the check log, newest first")
    _add_filters(p)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--page", type=int, default=1)
    _add_common(p)

    p = sub.add_parser("feedback", help="checks users voted on (default: said we were wrong)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--wrong", action="store_true", default=True, help="only 'wrong' votes (default)")
    group.add_argument("--all", action="store_true", help="every check with votes")
    p.add_argument("--since")
    p.add_argument("--until")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--page", type=int, default=1)
    _add_common(p)

    p = sub.add_parser("export", help="write matching checks as CSV or JSON lines")
    _add_filters(p)
    p.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    p.add_argument("-o", "--output", help="file to write (default: standard output)")
    p.add_argument("--with-result", action="store_true", help="jsonl: include the full CheckResult JSON")
    _add_common(p, json_flag=False)

    p = sub.add_parser("purge", help="delete checks, feedback and processed updates older than DAYS")
    p.add_argument("--older-than", type=float, required=True, metavar="DAYS")
    _add_common(p)

    p = sub.add_parser("keys", help="API keys of the HTTP API: create, list, revoke, export")
    keys = p.add_subparsers(dest="keys_command", required=True)
    k = keys.add_parser("create", help="make a key (printed once) with its own limits")
    k.add_argument("name", help="who holds it, e.g. bot or partner-newsroom")
    k.add_argument("--requests-per-minute", type=int, default=None, metavar="N", help=f"default {_DEFAULT_RPM}")
    k.add_argument(
        "--bytes-per-hour",
        default=None,
        metavar="SIZE",
        help=f"upload budget, e.g. 500M or 2G (default {_DEFAULT_BPH // 2**30}G)",
    )
    _add_key_file(k)
    _add_common(k)
    k = keys.add_parser("list", help="active keys (--all: revoked ones too); never the keys themselves")
    k.add_argument("--all", action="store_true", help="include revoked keys")
    _add_common(k)
    k = keys.add_parser("revoke", help="revoke a key by its id (or its name, if unique)")
    k.add_argument("key", metavar="ID_OR_NAME")
    _add_key_file(k)
    _add_common(k)
    k = keys.add_parser("export", help="rewrite the key file serving reads from the database")
    _add_key_file(k)
    _add_common(k)
    return parser


def _add_key_file(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--key-file",
        help="the hashes-only file serving reads (default: FAKEWATCH_API_KEYS_FILE or api_keys.json in the data dir)",
    )


def _filter_from(args: argparse.Namespace) -> Any:
    from db.filters import CheckFilter

    return CheckFilter.from_strings(
        since=args.since, until=args.until, verdict=args.verdict, chat_id=args.chat_id,
        user_pseudonym=args.user_pseudonym, min_probability=args.min_probability,
        model_version=args.model_version,
    )  # fmt: skip


@asynccontextmanager
async def open_session(url: str) -> AsyncIterator[Any]:
    """A session on a migrated database, or an ``OpsError`` that says what to do."""
    import db

    current = await db.current_revision(url)
    if current != db.head_revision():
        raise OpsError(
            f"database {db.redact_url(url)} is at revision {current or '<empty>'}, "
            f"not {db.head_revision()}: run `fakewatch db upgrade`"
        )
    engine = db.create_engine(url)
    try:
        async with db.session_factory(engine)() as session:
            yield session
    finally:
        await engine.dispose()


def _emit(out: IO[str], text: str) -> None:
    out.write(text if text.endswith("\n") else text + "\n")


async def _stats(args: argparse.Namespace, url: str, out: IO[str]) -> int:
    from db import filters, stats

    since = filters.parse_when(args.since)
    until = filters.parse_when(args.until)
    async with open_session(url) as s:
        st = (await stats.stats(s, since=since, until=until, top_chats=args.top_chats)).to_dict()
    _emit(out, json.dumps(st, indent=2) if args.json else render_stats(st))
    return 0


async def _checks(args: argparse.Namespace, url: str, out: IO[str]) -> int:
    from db import queries

    flt = _filter_from(args)
    async with open_session(url) as s:
        page = await queries.list_checks(s, flt, limit=args.limit, page=args.page)
    if args.json:
        _emit(out, json.dumps(page.to_dict(), indent=2))
        return 0
    columns = ["id", "created_at", "source", "media_kind", "verdict", "fake_probability", "faces_count",
               "chat_id", "user_pseudonym", "model_version", "latency_ms", "status"]  # fmt: skip
    _emit(out, format_table(page.items, columns))
    _emit(out, f"page {page.page} of {page.pages} ({page.total} checks)")
    return 0


async def _feedback(args: argparse.Namespace, url: str, out: IO[str]) -> int:
    from db import filters, queries

    async with open_session(url) as s:
        page = await queries.list_feedback(
            s, since=filters.parse_when(args.since), until=filters.parse_when(args.until),
            wrong_only=not args.all, limit=args.limit, page=args.page,
        )  # fmt: skip
    if args.json:
        _emit(out, json.dumps(page.to_dict(), indent=2))
        return 0
    _emit(out, format_table(page.items, list(queries.FEEDBACK_COLUMNS)))
    _emit(out, f"page {page.page} of {page.pages} ({page.total} checks with votes)")
    return 0


async def write_export(session: Any, flt: Any, out: IO[str], *, fmt: str = "csv", with_result: bool = False) -> int:
    """Stream matching checks to ``out`` as CSV or JSON lines; returns the row count."""
    from db import queries
    from db.export import export_csv

    if fmt == "csv":
        decoder = codecs.getincrementaldecoder("utf-8")()
        lines = 0

        async def write(chunk: bytes) -> None:
            nonlocal lines
            text = decoder.decode(chunk)
            lines += text.count("\n")
            out.write(text)

        await export_csv(session, flt, write)
        out.write(decoder.decode(b"", final=True))
        return max(0, lines - 1)  # minus the header; cells never hold a newline (csv_safe)
    n = 0
    names = queries.EXPORT_COLUMNS + (("result",) if with_result else ())
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    async for batch in queries.iter_check_batches(session, flt, columns=names):
        out.write("".join(dumps(dict(zip(names, row))) + "\n" for row in batch))
        n += len(batch)
    return n


async def _export(args: argparse.Namespace, url: str, out: IO[str]) -> int:
    flt = _filter_from(args)
    async with open_session(url) as s:
        if args.output:
            with open(args.output, "w", newline="", encoding="utf-8") as fh:
                n = await write_export(s, flt, fh, fmt=args.format, with_result=args.with_result)
            print(f"wrote {n} checks to {args.output}", file=sys.stderr)
        else:
            await write_export(s, flt, out, fmt=args.format, with_result=args.with_result)
    return 0


async def _purge(args: argparse.Namespace, url: str, out: IO[str]) -> int:
    from db import jobs

    if args.older_than < 0:
        raise OpsError("--older-than must be >= 0 days")
    async with open_session(url) as s:
        deleted = await jobs.purge_older_than(s, args.older_than)
    if args.json:
        _emit(out, json.dumps({"deleted_checks": deleted, "older_than_days": args.older_than}))
    else:
        _emit(out, f"deleted {deleted} checks older than {args.older_than:g} days (and their feedback)")
    return 0


# --- API keys -------------------------------------------------------------------------------

_SIZE_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(text: str) -> int:
    """``"500M"`` -> 524288000; plain numbers are bytes."""
    raw = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = raw[-1:] if raw[-1:] in _SIZE_UNITS and raw[-1:] else ""
    try:
        value = float(raw[: len(raw) - len(unit)] if unit else raw)
    except ValueError:
        raise OpsError(f"not a size: {text!r} (use e.g. 1048576, 500M or 2G)") from None
    if value <= 0:
        raise OpsError(f"a size must be positive, got {text!r}")
    return int(value * _SIZE_UNITS[unit])


def _key_file(args: argparse.Namespace) -> Any:
    from pathlib import Path

    if getattr(args, "key_file", None):
        return Path(args.key_file)
    from fakewatch.settings import get_settings

    return get_settings("ops").api_keys_path


def _key_row(row: Any) -> dict[str, Any]:
    return {
        "key_id": row.key_id, "name": row.name, "requests_per_minute": row.requests_per_minute,
        "bytes_per_hour": row.bytes_per_hour, "created_at": row.created_at.isoformat(),
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
    }  # fmt: skip


async def export_key_file(session: Any, path: Any) -> int:
    """Write the active keys (hashes and limits only) to ``path``; returns how many."""
    from db import api_keys as store
    from serving.api_keys import KeyRecord, write_key_file

    rows = await store.active_keys(session)
    write_key_file(path, [
        KeyRecord(r.key_id, r.name, r.key_hash, r.requests_per_minute, r.bytes_per_hour) for r in rows
    ])  # fmt: skip
    return len(rows)


async def _export_or_explain(session: Any, path: Any, done: str) -> int:
    """Rewrite the key file; if that fails, say what is true now and how to finish."""
    try:
        return await export_key_file(session, path)
    except OSError as exc:
        raise OpsError(
            f"{done} in the database, but the key file {path} could not be written ({exc.strerror or exc}): "
            f"serving still uses the old file until `fakewatch ops keys export --key-file {path}` succeeds"
        ) from None


async def _keys(args: argparse.Namespace, url: str, out: IO[str]) -> int:
    from db import api_keys as store
    from serving.api_keys import key_hash, new_key

    async with open_session(url) as s:
        try:
            if args.keys_command == "create":
                rpm = args.requests_per_minute if args.requests_per_minute is not None else _DEFAULT_RPM
                bph = parse_size(args.bytes_per_hour) if args.bytes_per_hour is not None else _DEFAULT_BPH
                key, key_id = new_key()
                row = await store.add_key(s, key_id=key_id, name=args.name, key_hash=key_hash(key),
                                          requests_per_minute=rpm, bytes_per_hour=bph)  # fmt: skip
                path = _key_file(args)
                # the key first: it cannot be shown again, even if writing the file fails below
                if args.json:
                    _emit(out, json.dumps({"key": key, **_key_row(row), "key_file": str(path)}))
                else:
                    _emit(out, key)
                n = await _export_or_explain(s, path, f"API key {key_id} was created")
                print(f"created API key {key_id} ({row.name!r}: {rpm} requests/min, {bph:,} bytes/h); "
                      f"this is the only time the key is shown. {n} active keys in {path}",
                      file=sys.stderr)  # fmt: skip
            elif args.keys_command == "list":
                rows = [_key_row(r) for r in await store.list_keys(s, include_revoked=args.all)]
                if args.json:
                    _emit(out, json.dumps(rows, indent=2))
                else:
                    columns = ["key_id", "name", "requests_per_minute", "bytes_per_hour", "created_at"]
                    _emit(out, format_table(rows, columns + (["revoked_at"] if args.all else [])))
            elif args.keys_command == "revoke":
                row = await store.revoke_key(s, args.key)
                path = _key_file(args)
                n = await _export_or_explain(s, path, f"API key {row.key_id} was revoked")
                if args.json:
                    _emit(out, json.dumps({**_key_row(row), "key_file": str(path)}))
                else:
                    _emit(out, f"revoked API key {row.key_id} ({row.name!r}); {n} active keys in {path}")
            else:
                path = _key_file(args)
                n = await _export_or_explain(s, path, "nothing changed")
                _emit(out, json.dumps({"active_keys": n, "key_file": str(path)}) if args.json
                      else f"wrote {n} active keys to {path}")  # fmt: skip
        except store.ApiKeyError as exc:
            raise OpsError(str(exc)) from None
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace, str, IO[str]], Any]] = {
    "stats": _stats, "checks": _checks, "feedback": _feedback, "export": _export, "purge": _purge,
    "keys": _keys,
}  # fmt: skip


def ops_main(argv: list[str], *, out: IO[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out = out or sys.stdout
    import db
    from db.filters import FilterError

    url = args.database_url or ""
    try:
        url = database_url(args.database_url, "ops")
        return asyncio.run(_COMMANDS[args.command](args, url, out))
    except (OpsError, FilterError, db.DatabaseURLError) as exc:
        print(f"fakewatch ops: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, (FilterError, db.DatabaseURLError)) else 1
    except (SQLAlchemyError, OSError) as exc:
        print(f"fakewatch ops: cannot use database {db.redact_url(url)}: {_first_line(exc)}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `fakewatch ops export | head`
        return 0


# --- the web console ---------------------------------------------------------------------


def console_main(argv: list[str]) -> int:
    """Serve the operator console on settings.console_host:console_port."""
    parser = argparse.ArgumentParser(prog="fakewatch console", description="operator web console")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--database-url", help="default: FAKEWATCH_DATABASE_URL or SQLite in the data dir")
    args = parser.parse_args(argv)

    import logging

    from aiohttp import web

    import db
    from fakewatch.console import create_console_app
    from fakewatch.settings import DEFAULT_SECRET, get_settings

    settings = get_settings("console")
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    url = args.database_url or settings.database_url_or_default
    try:
        current = asyncio.run(db.current_revision(url))
    except (SQLAlchemyError, OSError, db.DatabaseURLError) as exc:
        print(f"fakewatch console: cannot use database {db.redact_url(url)}: {_first_line(exc)}", file=sys.stderr)
        return 1
    if current != db.head_revision():
        print(f"fakewatch console: database is at {current or '<empty>'}; run `fakewatch db upgrade`", file=sys.stderr)
        return 1
    token = settings.operator_token.get_secret_value()
    if token == DEFAULT_SECRET:
        print("fakewatch console: warning: FAKEWATCH_OPERATOR_TOKEN is the development default", file=sys.stderr)

    async def make_app() -> web.Application:
        engine = db.create_engine(url)
        app = create_console_app(
            db.session_factory(engine),
            token,
            trusted_proxies=settings.trusted_proxies,
            production=settings.environment == "production",
        )

        async def dispose(_app: web.Application) -> None:
            await engine.dispose()

        app.on_cleanup.append(dispose)
        return app

    host = args.host or settings.console_host
    port = args.port or settings.console_port
    try:
        settings.check_secrets_for_bind(
            host, service="console"
        )  # FAKEWATCH_CONSOLE_HOST was checked on load; --host here
    except ValueError as exc:
        print(f"fakewatch console: {exc}", file=sys.stderr)
        return 2
    web.run_app(
        make_app(),
        host=host,
        port=port,
        print=lambda _m: print(f"operator console on http://{host}:{port}/", flush=True),
    )
    return 0
