"""The supervision room's thresholds (PAICHA_ROOM_ALERTS) and the bulletins' periods, read from text;
alerts and ranks from values. No store."""
from __future__ import annotations

import datetime as dt

import pytest

from server.services.ledger import bulletin, room


def test_thresholds_default_and_override():
    defaults = room.parse_thresholds("")
    assert set(defaults) == set(room.KEYS) and len(room.KEYS) >= 13
    read = room.parse_thresholds(" key_open=3 , satisfaction=0.95,new_today=off ")
    assert read["key_open"] == 3 and read["satisfaction"] == 0.95 and read["new_today"] is None
    assert read["accept_overdue"] == defaults["accept_overdue"]


@pytest.mark.parametrize("text", ["nonsense=1", "key_open=many", "satisfaction=1.5", "key_open=-1", "key_open"])
def test_thresholds_it_cannot_read_are_refused(text):
    with pytest.raises(ValueError):
        room.parse_thresholds(text)


def test_a_count_alerts_at_its_threshold_and_a_rate_below_it():
    limits = {"accept_overdue": 1, "satisfaction": 0.9, "new_today": None}
    assert room.alerting("accept_overdue", 1, limits) and not room.alerting("accept_overdue", 0, limits)
    assert room.alerting("satisfaction", 0.89, limits) and not room.alerting("satisfaction", 0.9, limits)
    assert not room.alerting("satisfaction", None, limits)  # no denominator: nothing to say
    assert not room.alerting("new_today", 1000, limits)


@pytest.mark.parametrize("text, kind, label, since, until", [
    ("2026-11", "month", "2026-11", "2026-11-01", "2026-11-30"),
    ("2024-02", "month", "2024-02", "2024-02-01", "2024-02-29"),
    ("2026Q4", "quarter", "2026Q4", "2026-10-01", "2026-12-31"),
    ("2026q1", "quarter", "2026Q1", "2026-01-01", "2026-03-31"),
    ("2026", "year", "2026", "2026-01-01", "2026-12-31"),
])
def test_periods(text, kind, label, since, until):
    p = bulletin.parse_period(text, dt.date(2026, 12, 7))
    assert (p.kind, p.label, p.since.isoformat(), p.until.isoformat()) == (kind, label, since, until)


def test_previous_periods_and_defaults():
    today = dt.date(2026, 1, 7)
    assert bulletin.parse_period(None, today).label == "2025-12"
    assert bulletin.parse_period("", today, "quarter").label == "2025Q4"
    assert bulletin.parse_period("", today, "year").label == "2025"
    p = bulletin.parse_period("2026-01", today)
    assert p.previous().label == "2025-12" and p.a_year_earlier().label == "2025-01"
    assert bulletin.parse_period("2026Q1", today).previous().label == "2025Q4"


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026Q5", "26", "1900", "2101", "２０２６", "2026-1", "x"])
def test_bad_periods(text):
    with pytest.raises(ValueError):
        bulletin.parse_period(text, dt.date(2026, 12, 7))


def test_equal_scores_share_a_rank_and_no_score_no_rank():
    assert bulletin.ranks({"a": 90.0, "b": 95.0, "c": 90.0, "d": None, "e": 80.0}) == {"b": 1, "a": 2, "c": 2, "e": 4}
