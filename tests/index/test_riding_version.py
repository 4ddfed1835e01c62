"""The stored riding column is rebuilt when the riding rules' explicit version changes, not when their
source file does (a comment no longer rebuilds every user's columns)."""

from __future__ import annotations

from forensic.index import columns, riding


def test_the_columns_carry_the_rules_version_not_a_source_hash(monkeypatch):
    assert riding.RIDING_VERSION == 1 and columns.riding_version() == "1"
    monkeypatch.setattr(columns, "RIDING_VERSION", 2)
    assert columns.riding_version() == "2"


def test_search_still_finds_the_rules():
    from forensic.search import riding as old_place

    assert old_place.riding is riding.riding and old_place.RIDDEN == riding.RIDDEN
