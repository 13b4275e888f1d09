"""CSV export of the check log, streamed: COPY on PostgreSQL, batched Python elsewhere.

On PostgreSQL the server formats the CSV itself (``COPY (SELECT …) TO STDOUT``), which is
an order of magnitude faster than formatting rows in Python; SQLite (the small embedded log)
takes the portable path. Both write byte-identical CSV, which a test holds them to. Free-text
cells are neutralised for spreadsheets (no formulas, one line per row) on both paths.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.filters import CheckFilter
from db.models import Check, UtcDateTime
from db.queries import EXPORT_COLUMNS, iter_check_batches

# Columns whose text comes from outside (Telegram ids, error text, names we were sent).
FREE_TEXT_COLUMNS = ("file_unique_id", "error_message", "user_pseudonym", "model_name", "model_version", "error_code")
# Cell text that a spreadsheet would run as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$")
_PG_NUMBER = r"^[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$"
_PG_FORMULA = r"^[-=+@\t\r]"
_PG_TIMESTAMP = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'  # = datetime.isoformat(timespec="microseconds")

Write = Callable[[bytes], Awaitable[Any]]


def csv_safe(value: Any) -> Any:
    """One line per cell, and no leading ``= + - @`` unless the text is a plain number."""
    if not isinstance(value, str):
        return value
    value = re.sub(r"[\r\n]+", " ", value)
    if value.startswith(FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


async def export_csv(session: AsyncSession, flt: CheckFilter | None, write: Write) -> None:
    """Write the matching checks (``EXPORT_COLUMNS``, newest first) as CSV bytes to ``write``."""
    flt = flt or CheckFilter()
    if session.get_bind().dialect.name == "postgresql":
        await _export_csv_postgres(session, flt, write)
    else:
        await export_csv_portable(session, flt, write)


async def export_csv_portable(session: AsyncSession, flt: CheckFilter, write: Write) -> None:
    columns = list(EXPORT_COLUMNS)
    guarded = [columns.index(c) for c in FREE_TEXT_COLUMNS]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    async for batch in iter_check_batches(session, flt, columns=columns):
        for row in batch:
            for i in guarded:
                row[i] = csv_safe(row[i])
        writer.writerows(batch)
        await write(buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        await write(buffer.getvalue().encode("utf-8"))


def _pg_column(name: str) -> Any:
    column = getattr(Check, name)
    if isinstance(Check.__table__.c[name].type, UtcDateTime):
        return func.to_char(func.timezone("UTC", column), _PG_TIMESTAMP)
    if name in FREE_TEXT_COLUMNS:
        cleaned = func.regexp_replace(column, r"[\r\n]+", " ", "g")
        risky = and_(cleaned.op("~")(_PG_FORMULA), cleaned.op("!~")(_PG_NUMBER))
        return case((risky, literal("'") + cleaned), else_=cleaned)
    return column


async def _export_csv_postgres(session: AsyncSession, flt: CheckFilter, write: Write) -> None:
    stmt = (
        select(*[_pg_column(name).label(name) for name in EXPORT_COLUMNS])
        .where(*flt.conditions())
        .order_by(Check.created_at.desc(), Check.id.desc())
    )
    compiled = stmt.compile(dialect=session.get_bind().dialect)
    params = compiled.construct_params()
    args = [params[name] for name in compiled.positiontup or ()]
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None, "COPY needs the asyncpg connection"
    await raw.copy_from_query(str(compiled), *args, output=write, format="csv", header=True, timeout=None)
