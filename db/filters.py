"""Operator filters: the check-log conditions ``fakewatch ops``, the console and exports share.

Kept apart from the queries so a filter typed on the command line and one read from a query
string are parsed and validated by the same code, with the same errors.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from sqlalchemy.sql.elements import ColumnElement

from db.constants import VERDICTS
from db.models import Check, utcnow

__all__ = ["VERDICTS", "CheckFilter", "FilterError", "parse_when", "window"]


class FilterError(ValueError):
    """An operator filter that makes no sense (bad time, unknown verdict, page 0…)."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_when(text: str | None, *, now: dt.datetime | None = None) -> dt.datetime | None:
    """``7d``/``12h``/``30m``/``2w`` ago, ``now``, or an ISO date/time (UTC unless it says)."""
    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    now = now or utcnow()
    if text.lower() == "now":
        return now
    match = _DURATION.match(text)
    if match:
        amount, unit = float(match.group(1)), match.group(2).lower()
        return now - dt.timedelta(seconds=amount * _UNIT_SECONDS[unit])
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(
            f"cannot read time {text!r}: use 7d, 12h, 30m, 2w, now or an ISO date like 2026-01-31"
        ) from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


@dataclass(frozen=True)
class CheckFilter:
    """The check-log filters shared by ``ops checks``, ``ops export`` and the console."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    verdict: str | None = None
    chat_id: int | None = None
    user_pseudonym: str | None = None
    min_probability: float | None = None
    model_version: str | None = None

    def __post_init__(self) -> None:
        if self.verdict is not None and self.verdict not in VERDICTS:
            raise FilterError(f"unknown verdict {self.verdict!r}: one of {', '.join(VERDICTS)}")
        if self.min_probability is not None and not (0.0 <= float(self.min_probability) <= 1.0):
            raise FilterError("minimum probability must be between 0 and 1")
        if self.since and self.until and self.since > self.until:
            raise FilterError("since is after until")

    @classmethod
    def from_strings(cls, *, now: dt.datetime | None = None, **raw: str | None) -> CheckFilter:
        """Build from text (command-line flags, query strings); empty values mean "any"."""
        value = {k: (v.strip() if isinstance(v, str) else v) or None for k, v in raw.items()}
        unknown = set(value) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise FilterError(f"unknown filters: {', '.join(sorted(unknown))}")
        try:
            chat_id = int(str(value["chat_id"])) if value.get("chat_id") is not None else None
        except ValueError:
            raise FilterError("chat must be a number (Telegram chat id)") from None
        try:
            min_p = float(str(value["min_probability"])) if value.get("min_probability") is not None else None
        except ValueError:
            raise FilterError("minimum probability must be a number between 0 and 1") from None
        if min_p is not None and math.isnan(min_p):
            raise FilterError("minimum probability must be a number between 0 and 1")
        return cls(
            since=parse_when(value.get("since"), now=now),
            until=parse_when(value.get("until"), now=now),
            verdict=value.get("verdict"),
            chat_id=chat_id,
            user_pseudonym=value.get("user_pseudonym"),
            min_probability=min_p,
            model_version=value.get("model_version"),
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.since is not None:
            out.append(Check.created_at >= self.since)
        if self.until is not None:
            out.append(Check.created_at < self.until)
        if self.verdict is not None:
            out.append(Check.verdict == self.verdict)
        if self.chat_id is not None:
            out.append(Check.chat_id == self.chat_id)
        if self.user_pseudonym is not None:
            out.append(Check.user_pseudonym == self.user_pseudonym)
        if self.min_probability is not None:
            out.append(Check.fake_probability >= float(self.min_probability))
        if self.model_version is not None:
            out.append(Check.model_version == self.model_version)
        return out


def window(since: dt.datetime | None, until: dt.datetime | None) -> list[ColumnElement[bool]]:
    """The ``created_at`` conditions of a time window (either end open)."""
    return CheckFilter(since=since, until=until).conditions()
