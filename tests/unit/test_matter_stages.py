"""A matter's stage, deadlines and overdue flags from its steps: the pure functions
(server.services.matters.stages), with literal steps."""
from __future__ import annotations

import datetime as dt

import pytest

from server.core.clock import SHANGHAI
from server.services.matters.stages import Terms, derive, overdue, registered_on

MATTER = {"type": "dispute", "area": "990101001001"}
TERMS = Terms(accept_days=15, handle_days=60, extend_max_days=30)
D = dt.date


def step(kind: str, at: str, by: str = "zhao", n: int = 0, **fields) -> dict:
    return {"_id": f"s{n}-{kind}", "_seq": n, "type": "matter_step", "area": MATTER["area"], "matter_id": "m",
            "kind": kind, "at": at + "T10:00:00+08:00", "created_by": by, **fields}


def life(*steps, registered=D(2026, 12, 20), terms=TERMS):
    return derive(MATTER, registered, list(steps), terms)


def test_registered_only():
    it = life()
    assert it.stage == "registered" and it.accept_due == D(2027, 1, 4) and it.handle_due is None


@pytest.mark.parametrize("today,late", [(D(2027, 1, 4), False), (D(2027, 1, 5), True)])
def test_acceptance_due_15_days_after_registration_across_the_years_end(today, late):
    assert overdue(life(), today).accept is late


def test_registration_day_is_the_earlier_of_the_device_and_the_receipt():
    received = dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.timezone.utc)  # 2027-01-01 00:30 Shanghai
    assert registered_on("2027-01-05T09:00:00+08:00", received) == D(2027, 1, 1)
    assert registered_on("2026-12-30T23:59:00+08:00", received) == D(2026, 12, 30)


def test_accepted_late_stays_marked():
    it = life(step("accept", "2027-01-05"))
    assert it.stage == "accepted" and overdue(it, D(2027, 1, 6)).accept


def test_the_whole_life_in_order_whatever_order_the_steps_came_in():
    steps = [step("close", "2027-01-10", n=7), step("evaluate", "2027-01-09", by="li", n=6,
                                                   result="satisfied", collected_via="phone", collected_by="li"),
             step("reply", "2027-01-08", by="liu", n=5, content="c", channel="phone", date="2027-01-08"),
             step("handle", "2027-01-03", by="liu", n=4, method="mediation", participants="p", conclusion="c"),
             step("assign", "2026-12-22", n=3, unit="u", responsible_area=MATTER["area"]),
             step("accept", "2026-12-21", n=2)]
    it = life(*steps)
    assert it.stage == "closed" and it.finished
    assert [s["kind"] for s, _ in it.trail] == ["accept", "assign", "handle", "reply", "evaluate", "close"]
    assert it.accepted_on == D(2026, 12, 21) and it.handle_due == D(2027, 2, 19) and it.replied_on == D(2027, 1, 8)
    assert not overdue(it, D(2027, 6, 1)).any
    assert it.evaluation == "satisfied"


def test_an_assign_deadline_and_the_one_extension():
    it = life(step("accept", "2026-12-21", n=1), step("assign", "2026-12-22", n=2, unit="u",
                                                       responsible_area=MATTER["area"], deadline="2027-01-31"),
              step("extend", "2027-01-20", n=3, days=30, reason="r"), step("extend", "2027-01-25", n=4, days=5, reason="r"))
    assert it.handle_due == D(2027, 3, 2) and it.extended_days == 30
    assert [r.code if r else None for _, r in it.trail] == [None, None, None, "second_extension"]


def test_long_pending_and_reply_overdue_after_the_handling_deadline():
    it = life(step("accept", "2026-12-21", n=1))  # due 2027-02-19
    assert not overdue(it, D(2027, 2, 19)).handle
    late = overdue(it, D(2027, 2, 20))
    assert late.handle and late.reply and not late.accept
    replied_late = life(step("accept", "2026-12-21", n=1),
                        step("reply", "2027-02-21", n=2, content="c", channel="sms", date="2027-02-21"))
    assert overdue(replied_late, D(2027, 2, 22)).reply


def test_a_reopened_matter_keeps_its_steps_and_is_handled_again():
    it = life(step("accept", "2026-12-21", n=1), step("close", "2027-01-02", n=2),
              step("reopen", "2027-01-05", n=3, reason="r"))
    assert it.stage == "handling" and not it.finished and len(it.trail) == 3


def test_steps_that_do_not_count():
    it = life(step("reply", "2027-01-01", by="liu", n=1, content="c", channel="phone", date="2027-01-01"),
              step("evaluate", "2027-01-02", by="liu", n=2, result="satisfied", collected_via="phone", collected_by="x"),
              step("conclude", "2027-01-03", n=3))
    assert it.stage == "replied"
    assert [r.code if r else None for _, r in it.trail] == [None, "self_evaluation", "no_hearing"]


def test_rejected_and_transferred_matters_run_no_handling_deadline():
    rejected = life(step("reject", "2026-12-21", n=1, reason="r"))
    assert rejected.stage == "rejected" and not overdue(rejected, D(2030, 1, 1)).any
    transferred = life(step("accept", "2026-12-21", n=1), step("transfer", "2026-12-22", n=2,
                                                                to_department="d", reason="r"))
    assert transferred.stage == "transferred" and not overdue(transferred, D(2030, 1, 1)).handle


def test_configurable_terms():
    it = life(step("accept", "2026-12-21", n=1), terms=Terms(accept_days=3, handle_days=10, extend_max_days=5))
    assert it.accept_due == D(2026, 12, 23) and it.handle_due == D(2026, 12, 31)
    assert SHANGHAI.utcoffset(None) == dt.timedelta(hours=8)


def test_a_dispute_recorded_before_steps_counts_its_own_acceptance_and_resolution():
    legacy = {**MATTER, "accepted_at": "2026-12-22T09:00:00+08:00", "status": "resolved",
              "resolved_at": "2027-01-10T17:00:00+08:00"}
    it = derive(legacy, D(2026, 12, 20), [], TERMS)
    assert it.stage == "closed" and it.accepted_on == D(2026, 12, 22) and it.handle_due == D(2027, 2, 20)
    assert not overdue(it, D(2027, 3, 1)).any  # accepted in time, finished: nothing late
    only_accepted = derive({**MATTER, "accepted_at": "2026-12-22T09:00:00+08:00", "status": "mediating"},
                           D(2026, 12, 20), [], TERMS)
    assert only_accepted.stage == "accepted" and overdue(only_accepted, D(2027, 2, 21)).handle
    # steps go on from there: a reopening after the recorded resolution
    again = derive(legacy, D(2026, 12, 20), [step("reopen", "2027-01-15", reason="当事人反映协议未履行")], TERMS)
    assert again.stage == "handling"
    # a resolution without its time is not taken as one
    assert derive({**MATTER, "status": "resolved"}, D(2026, 12, 20), [], TERMS).stage == "registered"


def test_the_day_finished_and_the_reopens_for_the_figures():
    closed = life(step("accept", "2026-12-21", n=1), step("close", "2027-01-05", n=2, note="已化解"))
    assert closed.finished_on == D(2027, 1, 5) and closed.reopened == 0
    again = life(step("accept", "2026-12-21", n=1), step("close", "2027-01-05", n=2, note="已化解"),
                 step("reopen", "2027-01-09", n=3, reason="协议未履行"))
    assert again.finished_on is None and again.reopened == 1 and again.stage == "handling"
    closed_again = life(step("accept", "2026-12-21", n=1), step("close", "2027-01-05", n=2, note="已化解"),
                        step("reopen", "2027-01-09", n=3, reason="协议未履行"), step("close", "2027-01-20", n=4, note="已履行"))
    assert closed_again.finished_on == D(2027, 1, 20) and closed_again.reopened == 1


def test_a_legacy_disputes_resolution_day_and_satisfaction():
    legacy = {**MATTER, "accepted_at": "2026-12-22T09:00:00+08:00", "status": "resolved",
              "resolved_at": "2027-01-10T17:00:00+08:00", "satisfaction": "basically"}
    it = derive(legacy, D(2026, 12, 20), [], TERMS)
    assert it.finished_on == D(2027, 1, 10) and it.evaluation == "basically" and it.reopened == 0
    later = derive(legacy, D(2026, 12, 20), [step("evaluate", "2027-01-12", by="qian", result="unsatisfied",
                                                  collected_via="phone", collected_by="镇综治中心")], TERMS)
    assert later.evaluation == "unsatisfied"  # a counted evaluation step replaces it
