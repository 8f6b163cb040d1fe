"""The pure calendar: periods, due dates, ids, configuration, status and reminder rules."""
from __future__ import annotations

import datetime as dt

import pytest

from schemas.areas import AreaCode
from server.services.calendar import periods as P
from server.services.calendar import status as S

D = dt.date
CST = dt.timezone(dt.timedelta(hours=8))


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=CST) if "+" not in text else dt.datetime.fromisoformat(text)


def spans(kind, first, last):
    return [(p.start.day, p.end.day) for p in P.periods_overlapping(kind, first, last)]


# -- periods -------------------------------------------------------------------------------------

@pytest.mark.parametrize("month_start, last_day", [
    (D(2026, 1, 1), 31), (D(2026, 4, 1), 30), (D(2026, 2, 1), 28), (D(2028, 2, 1), 29),
    (D(2100, 2, 1), 28), (D(2000, 2, 1), 29), (D(2026, 12, 1), 31),
])
def test_a_month_has_three_xun_two_halves_one_month(month_start, last_day):
    end = month_start.replace(day=last_day)
    assert spans("xun", month_start, end) == [(1, 10), (11, 20), (21, last_day)]
    assert spans("half_month", month_start, end) == [(1, 15), (16, last_day)]
    assert spans("month", month_start, end) == [(1, last_day)]


def test_period_containing_edges():
    assert P.period_containing("xun", D(2026, 3, 10)) == P.Period(D(2026, 3, 1), D(2026, 3, 10), "xun")
    assert P.period_containing("xun", D(2026, 3, 11)).start == D(2026, 3, 11)
    assert P.period_containing("xun", D(2026, 3, 31)) == P.Period(D(2026, 3, 21), D(2026, 3, 31), "xun")
    assert P.period_containing("half_month", D(2026, 2, 16)).end == D(2026, 2, 28)
    assert P.period_containing("half_month", D(2024, 2, 29)) == P.Period(D(2024, 2, 16), D(2024, 2, 29), "half_month")
    assert P.period_containing("quarter", D(2026, 11, 22)) == P.Period(D(2026, 10, 1), D(2026, 12, 31), "quarter")
    assert P.period_containing("quarter", D(2026, 2, 28)) == P.Period(D(2026, 1, 1), D(2026, 3, 31), "quarter")
    with pytest.raises(ValueError):
        P.period_containing("week", D(2026, 1, 1))


def test_periods_tile_the_year_without_gaps_or_overlaps():
    for kind in P.PERIOD_KINDS:
        got = list(P.periods_overlapping(kind, D(2027, 12, 25), D(2029, 1, 5)))
        for a, b in zip(got, got[1:]):
            assert b.start == a.end + dt.timedelta(days=1), (kind, a, b)
        assert got[0].start <= D(2027, 12, 25) and got[-1].end >= D(2029, 1, 5)
    assert len(list(P.periods_overlapping("xun", D(2028, 1, 1), D(2028, 12, 31)))) == 36
    assert len(list(P.periods_overlapping("half_month", D(2028, 1, 1), D(2028, 12, 31)))) == 24
    assert len(list(P.periods_overlapping("quarter", D(2028, 1, 1), D(2028, 12, 31)))) == 4
    assert list(P.periods_overlapping("xun", D(2028, 1, 5), D(2028, 1, 4))) == []


def test_labels_in_chinese():
    assert P.period_containing("xun", D(2026, 11, 15)).label == "2026年11月中旬"
    assert P.period_containing("xun", D(2026, 11, 30)).label == "2026年11月下旬"
    assert P.period_containing("half_month", D(2026, 11, 1)).label == "2026年11月上半月"
    assert P.period_containing("month", D(2026, 2, 1)).label == "2026年2月"
    assert P.period_containing("quarter", D(2026, 8, 1)).label == "2026年第3季度"


# -- due dates -----------------------------------------------------------------------------------

def test_due_at_the_end_of_the_due_date_in_shanghai():
    period = P.period_containing("xun", D(2026, 2, 25))
    due = P.due_date(period, 0)
    assert due == D(2026, 2, 28)
    assert P.due_instant(due) == at("2026-03-01T00:00:00+08:00")
    assert P.due_instant(due) == dt.datetime(2026, 2, 28, 16, 0, tzinfo=dt.timezone.utc)
    assert P.due_date(P.period_containing("quarter", D(2026, 12, 1)), 5) == D(2027, 1, 5)


def test_local_date_and_stamps():
    assert P.local_date(dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.timezone.utc)) == D(2026, 12, 1)
    assert P.local_date(dt.datetime(2026, 11, 30, 16, 30)) == D(2026, 12, 1)  # naive = UTC
    assert P.stamp(dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.timezone.utc)) == "2026-12-01T00:30:00+08:00"
    assert P.parse_timestamp("2026-11-20T10:00:00Z") == dt.datetime(2026, 11, 20, 10, tzinfo=dt.timezone.utc)
    assert P.parse_timestamp("2026-11-20T10:00:00") == at("2026-11-20T10:00:00")
    assert P.parse_timestamp("yesterday") is None and P.parse_timestamp(None) is None


# -- ids -----------------------------------------------------------------------------------------

def test_round_and_reminder_ids_are_deterministic_and_parse_back():
    period = P.period_containing("xun", D(2026, 11, 5))
    rid = P.round_id("village", "610402001001", period)
    assert rid == "round-village-610402001001-2026-11-01"
    assert P.round_key("village", "610402001001", period) == "village:610402001001:2026-11-01"
    assert P.parse_round_id(rid) == ("village", "610402001001", D(2026, 11, 1))
    assert P.parse_round_id("report-xyz") is None
    assert P.reminder_id(rid, "overdue") == "reminder-round-village-610402001001-2026-11-01-overdue"
    with pytest.raises(ValueError):
        P.reminder_id(rid, "nag")
    config = P.CalendarConfig()
    planned = P.planned_round_for_id(config, rid)
    assert planned.due_date == D(2026, 11, 10) and planned.id == rid
    assert P.planned_round_for_id(config, "round-village-610402001001-2026-11-02") is None
    assert AreaCode("610402001001").parent == "610402001" and AreaCode("610402").parent is None


def test_planned_rounds_for_a_month():
    config = P.CalendarConfig()
    areas = {"village": ["610402001001", "610402001002"], "township": ["610402001"], "district": ["610402"]}
    planned = P.planned_rounds(config, areas, D(2026, 2, 1), D(2026, 2, 28))
    by_level = {}
    for p in planned:
        by_level.setdefault(p.level, []).append(p)
    assert len(by_level["village"]) == 6 and len(by_level["township"]) == 2 and len(by_level["district"]) == 1
    assert len(by_level["quarterly"]) == 1 and by_level["quarterly"][0].due_date == D(2026, 4, 5)
    assert by_level["quarterly"][0].title == "2026年第1季度重点矛盾纠纷研判"
    assert by_level["village"][-1].title == "2026年2月下旬矛盾纠纷排查"
    assert len({p.id for p in planned}) == len(planned)


# -- configuration -------------------------------------------------------------------------------

def test_configuration_per_level():
    config = P.CalendarConfig.from_config({
        "PAICHA_CALENDAR_PERIODS": "village=half_month, district=off",
        "PAICHA_CALENDAR_DUE_DAYS": {"village": 3},
        "PAICHA_CALENDAR_START": "2026-01-01", "PAICHA_REMIND_DAYS_BEFORE": "1",
        "PAICHA_ESCALATE_AFTER_DAYS": 7, "PAICHA_CLOCK_SKEW_MINUTES": "30",
    })
    assert config.rule("village") == P.LevelRule("village", "half_month", 3)
    assert config.rule("district") is None
    assert config.rule("township") == P.LevelRule("township", "half_month", 0)
    assert config.rule("quarterly") == P.LevelRule("quarterly", "quarter", 5)
    assert (config.start, config.remind_days_before, config.escalate_after_days) == (D(2026, 1, 1), 1, 7)
    assert config.clock_skew == dt.timedelta(minutes=30)
    assert P.CalendarConfig.from_config({}) == P.CalendarConfig()
    for bad in ({"PAICHA_CALENDAR_PERIODS": "village=weekly"}, {"PAICHA_CALENDAR_PERIODS": "town=xun"},
                {"PAICHA_CALENDAR_PERIODS": "village"}, {"PAICHA_CALENDAR_DUE_DAYS": "village=-1"}):
        with pytest.raises(ValueError):
            P.CalendarConfig.from_config(bad)


# -- status and the wrong-clock rule -------------------------------------------------------------

PERIOD_START = at("2026-11-11T00:00:00")
DUE = at("2026-11-21T00:00:00")  # round 11–20, due 2026-11-20


def report(device, received, doc_id="r1"):
    return S.ReportTimes(doc_id, at(device) if device else None, at(received))


def status(reports, now="2026-11-25T09:00:00", created="2026-11-11T00:05:00", exists=True):
    return S.round_status(due=DUE, period_start=PERIOD_START, created_at=at(created) if created else None,
                          reports=reports, now=at(now), exists=exists)


def test_made_offline_before_due_and_synced_after_is_on_time():
    st = status([report("2026-11-20T18:00:00", "2026-11-24T10:00:00")])
    assert st.status == S.ON_TIME and st.submission.source == S.DEVICE
    assert st.submission.at == at("2026-11-20T18:00:00")


def test_last_second_of_the_due_date_counts():
    assert status([report("2026-11-20T23:59:59", "2026-11-21T00:00:30")]).status == S.ON_TIME
    assert status([report("2026-11-21T00:00:00", "2026-11-21T00:00:30")]).status == S.LATE


def test_made_after_due_is_late():
    st = status([report("2026-11-22T09:00:00", "2026-11-22T09:01:00")])
    assert st.status == S.LATE and st.overdue_since == DUE


def test_device_clock_ahead_of_receive_time_uses_receive_time():
    # Device claims a time after the server received it: its clock is ahead; receive time counts.
    st = status([report("2026-11-23T09:00:00", "2026-11-20T12:00:00")])
    assert st.status == S.ON_TIME and st.submission.source == S.RECEIVE_CLOCK_AHEAD
    assert st.submission.at == at("2026-11-20T12:00:00")
    # Within the skew tolerance the device time stands.
    st = status([report("2026-11-20T12:05:00", "2026-11-20T12:00:00")])
    assert st.submission.source == S.DEVICE


def test_device_clock_absurdly_early_uses_receive_time():
    # A phone whose clock reset to 2000-01-01 cannot make a round on time by it.
    st = status([report("2000-01-01T08:00:00", "2026-11-23T10:00:00")])
    assert st.status == S.LATE and st.submission.source == S.RECEIVE_CLOCK_EARLY
    st = status([report(None, "2026-11-19T10:00:00")])
    assert st.status == S.ON_TIME and st.submission.source == S.RECEIVE_NO_DEVICE_TIME


def test_the_earliest_report_counts():
    st = status([report("2026-11-23T09:00:00", "2026-11-23T09:00:00", "late-one"),
                 report("2026-11-19T09:00:00", "2026-11-24T09:00:00", "early-one")])
    assert st.status == S.ON_TIME and st.submission.doc_id == "early-one"


def test_no_report():
    assert status([], now="2026-11-20T09:00:00").status == S.OPEN
    st = status([], now="2026-11-25T09:00:00")
    assert st.status == S.OVERDUE and st.days_overdue(at("2026-11-25T09:00:00")) == 4
    # Created only after it was due (server down, or backfilled): missed, not the cadre's overdue.
    assert status([], created="2026-11-23T08:00:00").status == S.MISSED
    assert status([], exists=False).status == S.MISSING


def test_reminder_rules():
    def plan(st_now, created="2026-11-11T00:05:00", can_escalate=True):
        st = status([], now=st_now, created=created)
        return S.reminders_due(st, due=DUE, now=at(st_now), remind_days_before=2, escalate_after_days=3,
                               can_escalate=can_escalate).kinds()

    assert plan("2026-11-18T23:59:59") == []
    assert plan("2026-11-19T00:00:00") == ["due_soon"]
    assert plan("2026-11-21T00:00:00") == ["overdue"]
    assert plan("2026-11-24T00:00:00") == ["overdue", "escalated"]
    assert plan("2026-11-24T00:00:00", can_escalate=False) == ["overdue"]
    assert plan("2026-11-24T00:00:00", created="2026-11-23T00:00:00") == []  # missed: no reminders
    done = status([report("2026-11-19T09:00:00", "2026-11-19T09:00:00")], now="2026-11-24T00:00:00")
    assert S.reminders_due(done, due=DUE, now=at("2026-11-24T00:00:00"), remind_days_before=2,
                           escalate_after_days=3, can_escalate=True).kinds() == []


# -- the status in two steps: settled (no clock) + status_at (the clock), in Python and in SQL ----------------

def test_status_at_sql_is_status_at():
    """`status_at_sql` over a table of settled statuses gives what `round_status` gives, for every
    settled status, before / at / after the due instant."""
    import sqlalchemy as sa

    from server.services.calendar.status import (
        LATE,
        MISSED,
        MISSING,
        ON_TIME,
        OVERDUE,
        ReportTimes,
        round_status,
        settled_status,
        status_at_sql,
    )

    utc = dt.timezone.utc
    due = dt.datetime(2026, 3, 11, 16, 0, tzinfo=utc)  # 00:00 Asia/Shanghai on the 12th
    start = dt.datetime(2026, 2, 28, 16, 0, tzinfo=utc)
    cases = {  # name: (created_at, reports, exists)
        "on_time": (start, [ReportTimes("r1", due - dt.timedelta(hours=3), due - dt.timedelta(hours=1))], True),
        "late": (start, [ReportTimes("r2", None, due + dt.timedelta(days=1))], True),
        "overdue": (start, [], True),
        "missed": (due + dt.timedelta(days=2), [], True),
        "missing": (None, [], False),
    }
    engine = sa.create_engine("sqlite://")
    meta = sa.MetaData()
    table = sa.Table("t", meta, sa.Column("name", sa.String, primary_key=True), sa.Column("settled", sa.String),
                     sa.Column("due_at", sa.DateTime(timezone=True)))
    meta.create_all(engine)
    with engine.begin() as conn:
        for name, (created, reports, exists) in cases.items():
            settled = settled_status(due=due, period_start=start, created_at=created, reports=reports, exists=exists)
            conn.execute(table.insert().values(name=name, settled=settled.status, due_at=due.replace(tzinfo=None)))
    assert {n: settled_status(due=due, period_start=start, created_at=c, reports=r, exists=e).status
            for n, (c, r, e) in cases.items()} == {"on_time": ON_TIME, "late": LATE, "overdue": OVERDUE,
                                                   "missed": MISSED, "missing": MISSING}
    for now in (start, due - dt.timedelta(seconds=1), due, due + dt.timedelta(days=5)):
        with engine.connect() as conn:
            sql = dict(conn.execute(sa.select(table.c.name, status_at_sql(table.c.settled, table.c.due_at, now))).all())
        python = {n: round_status(due=due, period_start=start, created_at=c, reports=r, now=now, exists=e).status
                  for n, (c, r, e) in cases.items()}
        assert sql == python, now
