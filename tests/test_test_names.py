"""Test files need unique basenames: the test folders are not packages, so pytest refuses a second one."""

from __future__ import annotations

from collections import Counter

from fakewatch.settings import REPO_ROOT


def test_no_two_test_files_share_a_name() -> None:
    names = Counter(p.name for p in (REPO_ROOT / "tests").rglob("test_*.py"))
    assert not [n for n, c in names.items() if c > 1]
