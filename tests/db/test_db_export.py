"""CSV export: PostgreSQL's COPY path and the portable path write the same bytes."""

from __future__ import annotations

import csv
import datetime as dt
import io

from db import CheckStatus, Source, csv_safe, export_csv
from db.export import export_csv_portable
from db.filters import CheckFilter
from db.models import Check
from db.queries import EXPORT_COLUMNS


async def _collect(fn, session, flt) -> bytes:
    chunks: list[bytes] = []

    async def write(chunk: bytes) -> None:
        chunks.append(bytes(chunk))

    await fn(session, flt, write)
    return b"".join(chunks)


def test_csv_safe() -> None:
    assert csv_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_safe("@SUM") == "'@SUM" and csv_safe("-x") == "'-x"
    assert csv_safe("-100123") == "-100123" and csv_safe("-1.5e3") == "-1.5e3"
    assert csv_safe("line one\r\nline two") == "line one line two"
    assert csv_safe(None) is None and csv_safe(5) == 5


async def test_export_paths_agree(session, backend) -> None:
    base = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)  # microsecond 0 on purpose
    tricky = [
        dict(error_message="=cmd|' /C calc'!A0", error_code="corrupt", verdict="invalid"),
        dict(error_message='two\nlines, "quoted"', user_pseudonym="-bob", file_unique_id="+AgAD"),
        dict(fake_probability=0.1, latency_ms=437.28714285714287, chat_id=-1001234567890, verdict="fake"),
        dict(fake_probability=1e-05, model_version="v1.2-rc", media_kind="video", file_size=123456789),
    ]
    for n, extra in enumerate(tricky):
        created = base + dt.timedelta(minutes=n, microseconds=0 if n % 2 else 123456)
        session.add(Check(status=CheckStatus.DONE, attempts=1, next_attempt_at=created, created_at=created,
                          source=Source.GROUP, **extra))  # fmt: skip
    await session.commit()
    flt = CheckFilter(since=base - dt.timedelta(hours=1))
    fast = await _collect(export_csv, session, flt)
    portable = await _collect(export_csv_portable, session, flt)
    assert fast == portable
    rows = list(csv.DictReader(io.StringIO(fast.decode())))
    assert list(rows[0]) == list(EXPORT_COLUMNS) and len(rows) == 4
    by_code = {r["error_code"]: r for r in rows}
    assert by_code["corrupt"]["error_message"].startswith("'=cmd")
    second = rows[2]  # newest first
    assert second["error_message"] == 'two lines, "quoted"' and second["user_pseudonym"] == "'-bob"
    assert second["file_unique_id"] == "'+AgAD" and second["created_at"] == "2026-03-01T12:01:00.000000+00:00"
    assert rows[1]["chat_id"] == "-1001234567890" and rows[1]["latency_ms"] == repr(437.28714285714287)
    assert rows[0]["fake_probability"] == "1e-05"
