"""Overdue steps of a matter are reminded on the phones that hold it, as overdue rounds are: the
calendar's tick writes an "overdue" reminder to the matter's area once its acceptance (handling,
reply) deadline has passed, and an "escalated" one to the township after PAICHA_ESCALATE_AFTER_DAYS;
once, however often it runs; the cadre's /api/v1 tasks list them while the step is still pending.
A frozen clock at the year's end. SQLite and PostgreSQL, on the demo district."""
from __future__ import annotations

import datetime as dt

import pytest

from server.core.clock import SHANGHAI
from server.services.calendar.tick import tick

from .test_ledger import basic
from .test_matters import VILLAGE, api_token, at, register, sync_step  # noqa: F401 (`at` is a fixture)

pytestmark = pytest.mark.demo

TOWNSHIP = "990101001"
REGISTERED = dt.datetime(2026, 12, 20, 9, 0, tzinfo=SHANGHAI)  # acceptance due 2027-01-04


def reminders_of(client, matter: str, who: str = "demo-admin") -> dict[str, dict]:
    r = client.get(f'/paicha/_all_docs?include_docs=true&startkey="reminder-matter-{matter}"'
                   f'&endkey="reminder-matter-{matter}\ufff0"', headers=basic(who))
    assert r.status_code == 200
    return {row["id"]: row["doc"] for row in r.json["rows"]}


def test_an_overdue_acceptance_is_reminded_then_escalated_once_and_drops_off_when_done(app, client, at):
    matter = register(client, when=REGISTERED)
    at(dt.datetime(2027, 1, 4, 23, 59, tzinfo=SHANGHAI))  # the deadline's own day: on time
    tick(app, dt.datetime(2027, 1, 4, 23, 59, tzinfo=SHANGHAI))
    assert reminders_of(client, matter) == {}

    moment = dt.datetime(2027, 1, 5, 0, 1, tzinfo=SHANGHAI)
    at(moment)
    tick(app, moment)
    found = reminders_of(client, matter)
    assert list(found) == [f"reminder-matter-{matter}-accept-overdue"]
    overdue = found[f"reminder-matter-{matter}-accept-overdue"]
    assert overdue["area"] == VILLAGE and overdue["step"] == "accept" and overdue["due_date"] == "2027-01-04"
    assert "受理期限 1月4日 已过" in overdue["message"] and "登记编号 990101-" in overdue["message"]
    # the cadre's phone holds it (sync), the neighbouring village's does not
    assert client.get(f"/paicha/{overdue['_id']}", headers=basic("demo-village")).status_code == 200
    assert client.get(f"/paicha/{overdue['_id']}", headers=basic("demo-village2")).status_code == 404
    tasks = client.get("/api/v1/tasks", headers=api_token(client, "demo-village")).json
    assert [(t["matter_id"], t["step"], t["kind"]) for t in tasks["matters"]] == [(matter, "accept", "overdue")]
    assert all("matter_id" not in r for r in tasks["reminders"])

    # escalated to the township once overdue for PAICHA_ESCALATE_AFTER_DAYS (3: from 2027-01-08)
    for day in (7, 8, 9):
        moment = dt.datetime(2027, 1, day, 8, 0, tzinfo=SHANGHAI)
        at(moment)
        summary = tick(app, moment)
        escalated = reminders_of(client, matter).get(f"reminder-matter-{matter}-accept-escalated")
        if day == 7:
            assert escalated is None
        elif day == 8:
            assert escalated["area"] == TOWNSHIP and "已过 4 天仍未受理" in escalated["message"]
        else:
            assert summary.matter_reminders.created == []  # written once

    # accepted (by the township, by sync): the cadre's task list drops it; the reminders stay as written
    _, r = sync_step(client, "demo-township", matter, "accept", when=moment, area=VILLAGE)
    assert r.status_code == 201, r.json
    tasks = client.get("/api/v1/tasks", headers=api_token(client, "demo-village")).json
    assert [t for t in tasks["matters"] if t["matter_id"] == matter] == []
    assert len(reminders_of(client, matter)) == 2
