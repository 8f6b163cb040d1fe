"""A village phone (real PouchDB) and the screening calendar.

The server runs as a subprocess with its own scheduler off; the calendar's ticks run here, on the
same store, with an explicit `now` in the recent past. Receive times are the server's real clock, so
the dates are chosen relative to today: round B (a 旬 about a month ago) gets no report; round A (the
next 旬) gets a report the cadre makes offline on A's due date and syncs only now, days after it.
"""
from __future__ import annotations

import datetime as dt

import pytest

from support.server import REFERENCE_RUN

pytestmark = pytest.mark.skipif(REFERENCE_RUN, reason="the calendar is Paicha's own, not CouchDB's")

DB = "paicha"
PW = "rounds-password"
DISTRICT, TOWNSHIP, VILLAGE = "610402", "610402001", "610402001001"


@pytest.fixture
def calendar(store_kind, server_factory, stores):
    """The server (scheduler off) and an in-process app on the same store for the calendar."""
    from server import create_app
    from server.core.accounts import add_account
    from server.core.areas import check_area, import_areas
    from server.services.calendar import init_app
    from server.core.db import db

    url = stores.new(store_kind)
    srv = server_factory(url, env={"PAICHA_SCHEDULER": "off"})
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "PAICHA_DEMO": False,
                      "PAICHA_SCHEDULER": "off"})
    init_app(app)
    with app.app_context():
        import_areas([check_area(DISTRICT, "王益区"), check_area(TOWNSHIP, "七一路街道"),
                      check_area(VILLAGE, "一村")])
        add_account("cadre-yicun", PW, "village_cadre", VILLAGE, "李娟")
        add_account("staff-qiyilu", PW, "township_staff", TOWNSHIP, "张强")
    yield srv, app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_offline_report_counts_on_time_and_overdue_round_sends_a_reminder(calendar, device_factory):
    from server.services.calendar import tick as calendar_tick, tracking
    from server.services.calendar.periods import (
        SHANGHAI,
        due_instant,
        local_date,
        period_containing,
        reminder_id,
        round_id,
        start_of_day,
        stamp,
    )
    from server.services.calendar.status import DEVICE, ON_TIME, OVERDUE

    srv, app = calendar
    remote = f"{srv.url}/{DB}"
    today = local_date(dt.datetime.now(dt.timezone.utc))
    period_a = period_containing("xun", today - dt.timedelta(days=15))  # ended at least 5 days ago
    period_b = period_containing("xun", period_a.start - dt.timedelta(days=1))
    round_a, round_b = round_id("village", VILLAGE, period_a), round_id("village", VILLAGE, period_b)
    minutes = dt.timedelta(minutes=10)

    def tick(moment):
        summary = calendar_tick.tick(app, moment)
        assert summary.errors == [], summary.errors
        return summary

    tick(start_of_day(period_b.start) + minutes)  # round B is issued
    tick(start_of_day(period_a.start) + minutes)  # round A is issued; B is now overdue

    phone = device_factory("cadre-yicun", auth={"username": "cadre-yicun", "password": PW})
    phone.pull(remote)
    docs = phone.docs()
    assert docs[round_a]["due_date"] == period_a.end.isoformat() and docs[round_a]["area"] == VILLAGE
    assert reminder_id(round_b, "overdue") in docs  # no report for B: the reminder reached the phone

    # Offline, on A's due date in the evening, the cadre files a nil report.
    made = dt.datetime.combine(period_a.end, dt.time(18, 30), SHANGHAI)
    phone.put({"_id": "report-yicun-a", "type": "screening_report", "area": VILLAGE,
               "created_by": "cadre-yicun", "created_at": stamp(made), "round_id": round_a,
               "nil_report": True, "households_screened": 212, "submitted_at": stamp(made)})
    # The server, not knowing about it, finds A overdue after its due date; B is escalated.
    tick(due_instant(period_a.end) + dt.timedelta(hours=1))

    result = phone.sync(remote)  # days after the due date
    assert result["push"]["docs_written"] == 1 and result["push"]["doc_write_failures"] == 0, result
    docs = phone.docs()
    assert reminder_id(round_a, "overdue") in docs
    assert docs[reminder_id(round_b, "overdue")]["kind"] == "overdue"

    with app.app_context():
        now = dt.datetime.now(dt.timezone.utc)
        planned = tracking.planned_due_between(app, period_b.end, period_a.end)
        states = {s.planned.id: s.status for s in tracking.round_states(app, planned, now)}
    assert states[round_a].status == ON_TIME  # made before the due date, received after it
    assert states[round_a].submission.source == DEVICE and states[round_a].submission.at == made
    assert states[round_a].submission.received_at > due_instant(period_a.end)
    assert states[round_b].status == OVERDUE

    # The township's phone receives the escalation for B (a village round overdue 3+ days).
    township = device_factory("staff-qiyilu", auth={"username": "staff-qiyilu", "password": PW})
    township.pull(remote)
    escalated = township.docs()[reminder_id(round_b, "escalated")]
    assert escalated["area"] == TOWNSHIP and escalated["round_id"] == round_b
    phone.pull(remote)
    assert reminder_id(round_b, "escalated") not in phone.docs()  # the township's, not the village's
