"""db.filters: operator times and filters, parsed and validated the same everywhere."""

from __future__ import annotations

import datetime as dt

import pytest

from db import filters
from db.filters import CheckFilter, FilterError


def test_parse_when() -> None:
    now = dt.datetime(2026, 1, 20, 12, tzinfo=dt.UTC)
    assert filters.parse_when("7d", now=now) == now - dt.timedelta(days=7)
    assert filters.parse_when("12h", now=now) == now - dt.timedelta(hours=12)
    assert filters.parse_when("2w", now=now) == now - dt.timedelta(days=14)
    assert filters.parse_when("now", now=now) == now
    assert filters.parse_when("2026-01-01", now=now) == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert filters.parse_when("", now=now) is None
    with pytest.raises(FilterError, match="cannot read time"):
        filters.parse_when("last tuesday", now=now)


def test_filter_validation() -> None:
    with pytest.raises(FilterError, match="unknown verdict"):
        CheckFilter(verdict="maybe")
    with pytest.raises(FilterError, match="between 0 and 1"):
        CheckFilter.from_strings(min_probability="1.5")
    with pytest.raises(FilterError, match="between 0 and 1"):
        CheckFilter.from_strings(min_probability="nan")
    with pytest.raises(FilterError, match="chat must be a number"):
        CheckFilter.from_strings(chat_id="general")
    with pytest.raises(FilterError, match="since is after until"):
        CheckFilter.from_strings(since="2026-02-01", until="2026-01-01")
    assert CheckFilter.from_strings(verdict="", chat_id=" ") == CheckFilter()
