"""db.queries: check-log pages, streams and feedback listings on a small known log, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest

from db import queries
from db.filters import CheckFilter, FilterError


async def test_list_checks_filters_and_pages(session, seeded) -> None:
    page = await queries.list_checks(session, CheckFilter(), limit=4, page=1)
    assert page.total == 11 and page.pages == 3 and len(page.items) == 4
    assert page.items[0]["id"] == seeded["ids"][0]  # newest first
    last = await queries.list_checks(session, CheckFilter(), limit=4, page=3)
    assert [i["id"] for i in last.items] == seeded["ids"][8:11]
    fakes = await queries.list_checks(session, CheckFilter(verdict="fake", chat_id=-200))
    assert [i["id"] for i in fakes.items] == seeded["ids"][0:2]
    assert fakes.items[0]["verdict"] == "fake" and fakes.items[0]["source"] == "group"
    bob = await queries.list_checks(session, CheckFilter(user_pseudonym="bob"))
    assert {i["id"] for i in bob.items} == {seeded["ids"][1], seeded["ids"][9]}
    sure = await queries.list_checks(session, CheckFilter(min_probability=0.9))
    assert [i["id"] for i in sure.items] == [seeded["ids"][0], seeded["ids"][6], seeded["ids"][10]]
    v2 = await queries.list_checks(session, CheckFilter(model_version="v2", since=seeded["now"] - dt.timedelta(days=3)))
    assert [i["id"] for i in v2.items] == [seeded["ids"][4]]
    with pytest.raises(FilterError):
        await queries.list_checks(session, CheckFilter(), page=0)
    with pytest.raises(FilterError):
        await queries.list_checks(session, CheckFilter(), limit=100_000)


async def test_iter_checks_streams_everything(session, seeded) -> None:
    rows = [r async for r in queries.iter_checks(session, CheckFilter(verdict="real"), with_result=True)]
    assert len(rows) == 4 and rows[0]["result"] == {"verdict": "real"}
    assert set(queries.EXPORT_COLUMNS) <= set(rows[0])


async def test_wrong_feedback(session, seeded) -> None:
    ids = seeded["ids"]
    wrong = await queries.list_feedback(session)
    assert [i["check_id"] for i in wrong.items] == [ids[0], ids[1]]  # latest vote first
    by_id = {i["check_id"]: i for i in wrong.items}
    assert by_id[ids[0]]["wrong_votes"] == 1 and by_id[ids[0]]["votes"] == 2
    assert by_id[ids[1]]["verdict"] == "fake" and wrong.total == 2
    everything = await queries.list_feedback(session, wrong_only=False)
    assert everything.total == 4
