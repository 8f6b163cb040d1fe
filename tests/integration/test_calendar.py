"""The screening calendar against a real store (SQLite and PostgreSQL), with a controlled clock:
every tick gets its `now`, and the audit trail's receive time is the same clock."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

import schemas
from server.services.calendar import documents, init_app, scheduler, state, tables, tracking
from server.services.calendar import tick as calendar_tick
from server.services.calendar.periods import as_aware, local_date
from server.services.calendar.status import LATE, MISSED, ON_TIME, OPEN, OVERDUE, RECEIVE_CLOCK_AHEAD


REPO = Path(__file__).resolve().parents[2]
CST = dt.timezone(dt.timedelta(hours=8))
DB = "paicha"
DISTRICT, T1, T2 = "610402", "610402001", "610402002"
V1, V2, V3 = "610402001001", "610402001002", "610402002001"
AREAS = [(DISTRICT, "王益区"), (T1, "七一路街道"), (T2, "红旗街道"), (V1, "一村"), (V2, "二村"), (V3, "三村")]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=CST)


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now.astimezone(dt.timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, stores, postgres_available):
    """A fresh store of its own for each test, already migrated (a copy of the session's template):
    the calendar's state, rounds and scheduler job start empty."""
    if request.param == "postgresql" and postgres_available:
        if os.environ.get("CI"):
            pytest.fail(postgres_available, pytrace=False)
        pytest.skip(postgres_available)
    url = stores.new(request.param, "schema")
    yield url
    stores.drop(url)


def make_app(url: str, **config):
    from server import create_app
    from server.setup import prepare

    app = prepare(create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "PAICHA_DEMO": False, **config}))
    init_app(app)
    return app


@pytest.fixture
def clock(monkeypatch):
    c = Clock(at("2026-01-01T00:00:00"))
    from server.core import clock as server_clock

    monkeypatch.setattr(server_clock, "now", c)  # receive time = the test's clock
    return c


@pytest.fixture
def app(db_url, clock):
    application = make_app(db_url)
    with application.app_context():
        from server.core.areas import check_area, import_areas

        import_areas([check_area(code, name) for code, name in AREAS])
    yield application
    dispose(application)


def dispose(application):
    from server.core.db import db

    scheduler.stop_embedded(application)
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def tick(app, clock, when: str):
    clock.now = at(when)
    summary = calendar_tick.tick(app, clock.now)
    assert summary.errors == [], summary.errors
    return summary


def all_docs(app) -> dict[str, dict]:
    with app.app_context():
        rows = documents.domain_database(app).all_docs(include_docs=True).rows
    return {r.id: r.doc for r in rows}


def update_seq(app) -> int:
    with app.app_context():
        return documents.domain_database(app).info().update_seq


def submit(app, area: str, round_id: str, device_time: str, doc_id: str, cadre: str = "cadre"):
    """A village cadre's report, written through the same path as a phone's push."""
    from server.core.access import access_for
    from server.core.auth import Principal

    with app.app_context():
        database = app.extensions["paicha_store"].open(
            DB, access_for(Principal(cadre, "village_cadre", area, 0), DB))
        doc = {"_id": doc_id, "type": "screening_report", "area": area, "created_by": cadre,
               "created_at": device_time, "round_id": round_id, "nil_report": True, "submitted_at": device_time}
        assert schemas.validate_document(doc) == []
        result = database.bulk_docs([doc])
    assert result[0].ok, result
    return result[0].rev


def states(app, now: str, first_due: str, last_due: str):
    with app.app_context():
        planned = tracking.planned_due_between(app, dt.date.fromisoformat(first_due), dt.date.fromisoformat(last_due))
        return {s.planned.id: s for s in tracking.round_states(app, planned, at(now))}


def quarantined(app) -> list:
    from server.core.models import QuarantinedDoc

    with app.extensions["paicha_store"].engine.connect() as conn:
        return list(conn.execute(sa.select(QuarantinedDoc.__table__)))


# -- a month of ticks ----------------------------------------------------------------------------

@pytest.mark.parametrize("first_day, last_day", [("2026-01-01", 31), ("2026-02-01", 28), ("2028-02-01", 29),
                                                 ("2026-04-01", 30)])
def test_a_month_of_ticks_makes_3_village_2_township_1_district_rounds(app, clock, first_day, last_day):
    start = dt.date.fromisoformat(first_day)
    for day in range(last_day):
        for hour in ("00:10", "23:50"):
            tick(app, clock, f"{start + dt.timedelta(days=day)}T{hour}:00")
    docs = all_docs(app)
    rounds_ = [d for d in docs.values() if d["type"] == "screening_round"]
    assert all(schemas.validate_document(d) == [] for d in docs.values())
    per_area = Counter((d["level"], d["area"]) for d in rounds_)
    assert per_area == Counter({("village", V1): 3, ("village", V2): 3, ("village", V3): 3,
                                ("township", T1): 2, ("township", T2): 2, ("district", DISTRICT): 1,
                                ("quarterly", DISTRICT): 1})
    end = start.replace(day=last_day).isoformat()
    spans = sorted((d["period_start"], d["period_end"], d["due_date"]) for d in rounds_ if d["area"] == V1)
    assert spans == [(first_day, f"{first_day[:8]}10", f"{first_day[:8]}10"),
                     (f"{first_day[:8]}11", f"{first_day[:8]}20", f"{first_day[:8]}20"),
                     (f"{first_day[:8]}21", end, end)]
    township = sorted((d["period_start"], d["period_end"]) for d in rounds_ if d["area"] == T1)
    assert township == [(first_day, f"{first_day[:8]}15"), (f"{first_day[:8]}16", end)]
    district = [d for d in rounds_ if d["level"] == "district"][0]
    assert (district["period_start"], district["period_end"], district["due_date"]) == (first_day, end, end)
    # Every round was created at the start of its own period (never ahead, never late).
    for d in rounds_:
        if d["level"] != "quarterly":
            assert d["created_at"] == f"{d['period_start']}T00:10:00+08:00", d
        assert "补建" not in d["title"]
    assert {d["round_key"] for d in rounds_} >= {f"village:{V1}:{first_day}", f"township:{T2}:{first_day}"}
    # The village rounds nobody reported on became overdue and were escalated to their township.
    reminders = [d for d in docs.values() if d["type"] == "reminder"]
    escalated = {d["round_id"]: d["area"] for d in reminders if d["kind"] == "escalated"}
    assert escalated[f"round-village-{V3}-{first_day}"] == T2
    assert escalated[f"round-township-{T1}-{first_day}"] == DISTRICT
    assert quarantined(app) == []


def test_running_the_tick_twice_changes_nothing(app, clock):
    tick(app, clock, "2026-11-19T08:00:00")
    first = all_docs(app)
    seq = update_seq(app)
    assert any(d["type"] == "reminder" for d in first.values())  # due soon: something besides rounds
    again = tick(app, clock, "2026-11-19T08:00:00")
    later = tick(app, clock, "2026-11-19T08:10:00")
    for summary in (again, later):
        assert summary.rounds.created == [] and summary.reminders.created == []
        assert summary.rounds.existing == len([d for d in first.values() if d["type"] == "screening_round"])
    assert update_seq(app) == seq
    assert all_docs(app) == first


def test_a_server_down_for_three_weeks_catches_up(app, clock):
    tick(app, clock, "2026-11-02T08:00:00")
    # ... down from 2 to 23 November ...
    summary = tick(app, clock, "2026-11-23T08:00:00")
    docs = all_docs(app)
    assert f"round-village-{V1}-2026-11-11" in docs and f"round-village-{V1}-2026-11-21" in docs
    assert sorted(summary.missed) == sorted(f"round-village-{v}-2026-11-11" for v in (V1, V2, V3))
    missed = docs[f"round-village-{V1}-2026-11-11"]
    assert missed["created_at"] == "2026-11-23T08:00:00+08:00" and "补建" in missed["title"]
    assert schemas.validate_document(missed) == []

    got = states(app, "2026-11-23T08:00:00", "2026-11-01", "2026-11-30")
    assert got[f"round-village-{V1}-2026-11-01"].status.status == OVERDUE  # issued in time, never reported
    assert got[f"round-village-{V1}-2026-11-11"].status.status == MISSED  # nobody had it in time
    assert got[f"round-village-{V1}-2026-11-21"].status.status == OPEN
    assert got[f"round-township-{T1}-2026-11-01"].status.status == OVERDUE
    assert got[f"round-township-{T1}-2026-11-16"].status.status == OPEN

    reminders = {d["_id"]: d for d in docs.values() if d["type"] == "reminder"}
    rid = f"round-village-{V1}-2026-11-01"
    assert reminders[f"reminder-{rid}-overdue"]["area"] == V1
    assert reminders[f"reminder-{rid}-escalated"]["area"] == T1  # escalated to the township
    assert reminders[f"reminder-{rid}-escalated"]["target_area"] == T1
    assert not any(r["round_id"].endswith("2026-11-11") for r in reminders.values())  # no nagging for missed
    assert f"reminder-{rid}-due_soon" not in reminders  # the due-soon window passed while down
    assert all(schemas.validate_document(d) == [] for d in reminders.values())
    # And from now on it ticks as usual.
    assert tick(app, clock, "2026-11-23T08:10:00").rounds.created == []


def test_first_start_covers_only_today_unless_a_start_date_is_configured(db_url, clock):
    application = make_app(db_url, PAICHA_CALENDAR_START="2026-10-01")
    try:
        with application.app_context():
            from server.core.areas import check_area, import_areas

            import_areas([check_area(DISTRICT, "区"), check_area(T1, "镇"), check_area(V1, "村")])
        summary = tick(application, clock, "2026-10-25T09:00:00")
        assert summary.first == dt.date(2026, 10, 1)
        docs = all_docs(application)
        village = sorted(d["period_start"] for d in docs.values() if d.get("level") == "village")
        assert village == ["2026-10-01", "2026-10-11", "2026-10-21"]
        assert sorted(summary.missed) == [f"round-township-{T1}-2026-10-01", f"round-village-{V1}-2026-10-01",
                                          f"round-village-{V1}-2026-10-11"]
    finally:
        dispose(application)


# -- reports and status --------------------------------------------------------------------------

def test_report_status_device_time_receive_time_and_wrong_clocks(app, clock):
    tick(app, clock, "2026-11-11T00:10:00")
    r = {v: f"round-village-{v}-2026-11-11" for v in (V1, V2, V3)}
    # V1 screened on the 19th, offline; the phone synced on the 24th: on time.
    clock.now = at("2026-11-24T10:00:00")
    submit(app, V1, r[V1], "2026-11-19T16:42:30+08:00", "report-v1")
    # V2's phone clock is 5 days ahead: it says the 26th, the server got it on the 20th.
    clock.now = at("2026-11-20T09:00:00")
    submit(app, V2, r[V2], "2026-11-25T09:00:00+08:00", "report-v2")
    # V3 reported on the 22nd: late.
    clock.now = at("2026-11-22T11:00:00")
    submit(app, V3, r[V3], "2026-11-22T10:58:00+08:00", "report-v3")

    got = states(app, "2026-11-25T08:00:00", "2026-11-20", "2026-11-20")
    assert {v: got[r[v]].status.status for v in r} == {V1: ON_TIME, V2: ON_TIME, V3: LATE}
    v1 = got[r[V1]].status.submission
    assert v1.doc_id == "report-v1" and v1.at == at("2026-11-19T16:42:30")
    assert as_aware(v1.received_at) == at("2026-11-24T10:00:00")
    assert got[r[V2]].status.submission.source == RECEIVE_CLOCK_AHEAD


def test_reminders_follow_the_reports_the_server_has(app, clock):
    tick(app, clock, "2026-11-01T00:10:00")
    rid = {v: f"round-village-{v}-2026-11-01" for v in (V1, V2)}
    clock.now = at("2026-11-05T09:00:00")
    submit(app, V1, rid[V1], "2026-11-05T09:00:00+08:00", "report-v1")
    tick(app, clock, "2026-11-09T08:00:00")
    docs = all_docs(app)
    assert f"reminder-{rid[V2]}-due_soon" in docs and f"reminder-{rid[V1]}-due_soon" not in docs
    tick(app, clock, "2026-11-11T08:00:00")
    tick(app, clock, "2026-11-14T08:00:00")
    docs = all_docs(app)
    assert f"reminder-{rid[V2]}-overdue" in docs and f"reminder-{rid[V2]}-escalated" in docs
    assert not any(k.startswith(f"reminder-{rid[V1]}") for k in docs)
    assert docs[f"reminder-{rid[V2]}-escalated"]["area"] == T1
    # A deleted report no longer counts.
    with app.app_context():
        from server.core.access import access_for
        from server.core.auth import Principal

        database = app.extensions["paicha_store"].open(
            DB, access_for(Principal("cadre", "village_cadre", V1, 0), DB))
        database.delete("report-v1", docs["report-v1"]["_rev"])
    got = states(app, "2026-11-14T09:00:00", "2026-11-10", "2026-11-10")
    assert got[rid[V1]].status.status == OVERDUE


def test_an_administrator_deleted_round_is_not_recreated(app, clock):
    tick(app, clock, "2026-11-01T00:10:00")
    rid = f"round-village-{V1}-2026-11-01"
    with app.app_context():
        database = documents.domain_database(app)
        database.delete(rid, database.get(rid)["_rev"])
    summary = tick(app, clock, "2026-11-01T00:20:00")
    assert summary.rounds.created == [] and summary.rounds.skipped_deleted == 1
    assert rid not in all_docs(app)


# -- two processes -------------------------------------------------------------------------------

def test_a_round_another_process_created_first_is_already_there(app, clock, monkeypatch):
    tick(app, clock, "2026-11-01T00:10:00")
    monkeypatch.setattr(documents, "lookup", lambda database, ids: {})  # as if written just after our look-up
    summary = calendar_tick.tick(app, at("2026-11-01T00:20:00"))
    assert summary.errors == [] and summary.rounds.created == []
    assert summary.rounds.existing == 7  # every write came back as a conflict
    assert quarantined(app) == []


TICK_SCRIPT = """
import datetime as dt, json, sys
from server import create_app
from server.services.calendar import init_app, tick
app = create_app({"PAICHA_SCHEDULER": "off", "SQLALCHEMY_DATABASE_URI": sys.argv[1]})
init_app(app)
s = tick.tick(app, dt.datetime.fromisoformat(sys.argv[2]))
print(json.dumps({"created": s.rounds.created, "existing": s.rounds.existing, "errors": s.errors,
                  "reminders": s.reminders.created}))
"""


def test_two_processes_ticking_at_once_create_each_round_once(app, db_url, clock):
    now = "2026-11-21T00:00:05+08:00"
    env = {**os.environ, "PAICHA_SCHEDULER": "off", "PAICHA_DEMO": "0", "PAICHA_LOG_LEVEL": "WARNING"}
    procs = [subprocess.Popen([sys.executable, "-c", TICK_SCRIPT, db_url, now], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-3000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert all(o["errors"] == [] for o in outs)
    created = outs[0]["created"] + outs[1]["created"]
    assert len(created) == len(set(created))  # nobody created a round the other had created
    docs = all_docs(app)
    round_ids = {k for k, d in docs.items() if d["type"] == "screening_round"}
    assert set(created) == round_ids and len(round_ids) == 7
    assert all(docs[k]["_rev"].startswith("1-") for k in round_ids)  # one revision each
    from server.core.models import AuditEntry

    with app.extensions["paicha_store"].engine.connect() as conn:
        writes = Counter(conn.execute(sa.select(AuditEntry.doc_id).where(AuditEntry.doc_id.in_(round_ids))).scalars())
    assert set(writes.values()) == {1}
    reminders = outs[0]["reminders"] + outs[1]["reminders"]
    assert len(reminders) == len(set(reminders))


# -- the CLI -------------------------------------------------------------------------------------

def test_cli_generate_backfills_and_status_reports(app, clock):
    clock.now = dt.datetime.now(dt.timezone.utc)  # the commands run on the server's clock: today's
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rounds", "generate", "--from", "2026-10-01", "--date", "2026-10-31"])
    assert result.exit_code == 0, result.output
    assert "rounds created" in result.output
    docs = all_docs(app)
    assert len([d for d in docs.values() if d.get("level") == "village"]) == 9
    again = runner.invoke(args=["rounds", "generate", "--from", "2026-10-01", "--date", "2026-10-31"])
    assert again.exit_code == 0 and "0 rounds created" in again.output
    assert all_docs(app) == docs
    # Rounds backfilled after their due date are missed (the real clock is later than October 2026).
    if local_date(dt.datetime.now(dt.timezone.utc)) > dt.date(2026, 10, 31):
        status = runner.invoke(args=["rounds", "status", "--date", "2026-11-05", "--since", "2026-10-01",
                                     "--area", V1, "--json"])
        assert status.exit_code == 0, status.output
        rows = [json.loads(line) for line in status.output.splitlines()]
        assert {(r["round"], r["status"]) for r in rows if r["level"] == "village"} == {
            (f"round-village-{V1}-2026-10-01", MISSED), (f"round-village-{V1}-2026-10-11", MISSED),
            (f"round-village-{V1}-2026-10-21", MISSED),
            (f"round-village-{V1}-2026-11-01", "missing")}  # expected by the calendar, never generated
    text = runner.invoke(args=["rounds", "status", "--date", "2026-10-31", "--since", "2026-10-01"])
    assert text.exit_code == 0 and V3 in text.output and "三村" in text.output


def test_cli_tick_with_a_given_time(app, clock):
    result = app.test_cli_runner().invoke(args=["rounds", "tick", "--now", "2026-11-01T00:10:00+08:00"])
    assert result.exit_code == 0, result.output
    assert "7 rounds created" in result.output
    bad = app.test_cli_runner().invoke(args=["rounds", "tick", "--now", "soon"])
    assert bad.exit_code != 0
    # Status leaves out the rounds of periods before the calendar's first tick (never planned).
    status = app.test_cli_runner().invoke(args=["rounds", "status", "--date", "2026-11-05", "--since", "2026-10-01",
                                                "--json"])
    rows = [json.loads(line) for line in status.output.splitlines()]
    assert {r["status"] for r in rows} == {"open"} and len(rows) == 7


# -- APScheduler ---------------------------------------------------------------------------------

def test_the_scheduler_job_persists_across_restarts_and_runs_missed_ticks(db_url, clock):
    clock.now = dt.datetime.now(dt.timezone.utc)  # the scheduled ticks run on the server's clock: today's
    first = make_app(db_url, PAICHA_SCHEDULER="embedded")
    try:
        # Under pytest there is no click context, so init_app started it: the job is in the table.
        sched = scheduler.embedded(first)
        assert sched is not None and sched.running
        job = sched.get_job(scheduler.JOB_ID)
        assert job is not None and job.trigger.interval == dt.timedelta(minutes=10)
        assert scheduler.persisted_next_run(first) is not None
    finally:
        dispose(first)
    # Down for a day: the persisted next run is in the past. A restart keeps it (so the missed
    # run happens at once, coalesced to one) instead of waiting a fresh interval.
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    second = make_app(db_url)  # PAICHA_SCHEDULER off under TESTING
    with second.extensions["paicha_store"].engine.begin() as conn:
        conn.execute(tables.jobs.update().where(tables.jobs.c.id == scheduler.JOB_ID)
                     .values(next_run_time=past.timestamp()))
    try:
        with second.app_context():
            from server.core.areas import check_area, import_areas

            import_areas([check_area(DISTRICT, "区"), check_area(T1, "镇"), check_area(V1, "村")])
        ran = threading.Event()
        sched = scheduler.start_embedded(second, paused=True)
        assert abs(sched.get_job(scheduler.JOB_ID).next_run_time.timestamp() - past.timestamp()) < 1
        from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

        outcome = {}
        sched.add_listener(lambda e: (outcome.update(error=e.exception), ran.set()), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        sched.resume()
        assert ran.wait(60), "the missed tick did not run at start"
        assert outcome["error"] is None
        today = local_date(dt.datetime.now(dt.timezone.utc))
        assert state.get_state(second, state.WATERMARK) == today.isoformat()
        assert any(d["area"] == V1 for d in all_docs(second).values())
        nxt = sched.get_job(scheduler.JOB_ID).next_run_time
        assert nxt > dt.datetime.now(dt.timezone.utc)  # coalesced: one run, then the normal interval
    finally:
        dispose(second)


def test_scheduled_tick_finds_its_app_by_database(app, clock):
    clock.now = dt.datetime.now(dt.timezone.utc)  # the scheduled tick runs on the server's clock: today's
    key = scheduler.register(app)
    assert key.endswith("#paicha")
    scheduler.scheduled_tick(key)  # real clock: creates today's rounds
    assert state.get_state(app, state.WATERMARK) is not None


def test_a_round_keeps_the_due_date_it_was_issued_with(app, clock):
    tick(app, clock, "2026-11-01T00:10:00")
    app.config["PAICHA_CALENDAR_DUE_DAYS"] = "village=3"  # changed after the round was issued
    got = states(app, "2026-11-12T09:00:00", "2026-11-10", "2026-11-13")
    assert got[f"round-village-{V1}-2026-11-01"].due_date == dt.date(2026, 11, 10)
    assert got[f"round-village-{V1}-2026-11-01"].status.status == OVERDUE


def test_the_scheduler_as_its_own_process_ticks_and_stops_on_sigterm(app, db_url):
    import signal
    import time

    # The command production runs (docker/docker-compose.yml: `flask scheduler run`).
    env = {**os.environ, "PAICHA_SCHEDULER": "external", "PAICHA_DEMO": "0", "DATABASE_URL": db_url,
           "FLASK_APP": "server"}
    flask = Path(sys.executable).with_name("flask")
    proc = subprocess.Popen([str(flask), "scheduler", "run"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while state.get_state(app, state.WATERMARK) is None and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.2)
        assert state.get_state(app, state.WATERMARK) is not None, "no tick from the scheduler process"
        assert scheduler.persisted_next_run(app) > dt.datetime.now(dt.timezone.utc)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "embedded scheduler started" not in out  # external: only the BlockingScheduler ran
    assert any(d["type"] == "screening_round" for d in all_docs(app).values())
