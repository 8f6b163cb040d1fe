"""The figures' own definitions (server.services.matters.figures): the main party's key, the same
period a year earlier, the change in points, and each figure's rule evaluated over a few literal
matter states in an in-memory SQLite."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from server.services.matters import figures
from server.services.matters.tables import numbers, states

D = dt.date
TODAY = D(2031, 12, 1)


def test_party_key_is_the_first_applicants_phone_digits():
    one = {"parties": [{"name": "李四", "role": "respondent", "phone": "13900000000"},
                       {"name": "王五", "role": "applicant", "phone": "138-0000-0001"}]}
    assert figures.party_key(one) == figures.party_key({"parties": [{"name": "王 五", "role": "applicant",
                                                                   "phone": "+8613800000001"}]})
    assert figures.party_key(one) != figures.party_key({"parties": [{"name": "王五", "role": "applicant",
                                                                   "phone": "13900000000"}]})
    assert figures.party_key({"parties": [{"name": "王五", "role": "applicant"}]}) is None
    assert figures.party_key({"parties": [{"name": "王五", "role": "other", "phone": "13800000001"}]}) is not None
    assert figures.party_key({}) is None and "13800000001" not in figures.party_key(one)


def test_the_same_period_a_year_earlier_and_the_change():
    assert figures.last_year(D(2028, 2, 1), D(2028, 2, 29)) == (D(2027, 2, 1), D(2027, 2, 28))
    assert figures.change_points(0.75, 0.5) == 25.0 and figures.change_points(0.5, None) is None
    assert figures.rate(0, 0) is None and figures.rate(1, 4) == 0.25


def test_every_figure_has_its_line():
    for f in figures.FIGURES:
        line = figures.definition(f, accept_days=15, handle_days=60)
        assert line.startswith("分母：") and "分子：" in line and "{" not in line
    assert "15日" in figures.definition(figures.BY_KEY["accept_timely"], accept_days=15, handle_days=60)


def state(doc_id: str, **facts) -> dict:
    base = {"db_name": "d", "doc_id": doc_id, "area": "990101001001", "stage": "registered", "finished": False,
            "registered_on": D(2031, 1, 1), "accept_due": D(2031, 1, 16), "decided_on": None, "accepted_on": None,
            "handle_due": None, "extended_days": 0, "replied_on": None, "evaluation": None, "finished_on": None,
            "reopened": 0, "party_key": None, "unit_due": None, "unit_acted_on": None}
    return {**base, **facts}


ROWS = [
    state("on-time", decided_on=D(2031, 1, 5), accepted_on=D(2031, 1, 5), handle_due=D(2031, 3, 6),
          replied_on=D(2031, 2, 1), evaluation="basically", finished_on=D(2031, 2, 5), stage="closed", finished=True,
          party_key="k1", unit_due=D(2031, 1, 21), unit_acted_on=D(2031, 1, 10)),
    state("late", registered_on=D(2031, 2, 1), accept_due=D(2031, 2, 16), decided_on=D(2031, 2, 20),
          accepted_on=D(2031, 2, 20), handle_due=D(2031, 4, 21), replied_on=D(2031, 5, 1), stage="replied",
          party_key="k1", unit_due=D(2031, 3, 8), unit_acted_on=D(2031, 3, 9)),
    state("never", registered_on=D(2031, 3, 1), accept_due=D(2031, 3, 16)),
    state("not-yet-due", registered_on=D(2031, 11, 25), accept_due=D(2031, 12, 10), unit_due=D(2031, 12, 5)),
    state("unit-never", decided_on=D(2031, 1, 3), accepted_on=D(2031, 1, 3), handle_due=D(2031, 3, 4),
          unit_due=D(2031, 1, 19), stage="assigned"),
    state("reopened", decided_on=D(2031, 1, 2), accepted_on=D(2031, 1, 2), handle_due=D(2031, 3, 3),
          finished_on=D(2031, 1, 20), reopened=1, stage="closed", finished=True),
    state("last-year", registered_on=D(2030, 6, 1), accept_due=D(2030, 6, 16), party_key="k1"),
]
EXPECTED = {  # (denominator, numerator) over 2031
    "accept_timely": ({"on-time", "late", "never", "reopened", "unit-never"}, {"on-time", "reopened", "unit-never"}),
    "unit_accept_timely": ({"on-time", "late", "unit-never"}, {"on-time"}),  # not-yet-due: its day has not come
    "reply_on_time": ({"on-time", "late", "unit-never"}, {"on-time"}),  # "reopened": closed without a reply, not counted
    "close_on_time": ({"on-time", "late", "reopened", "unit-never"}, {"on-time", "reopened"}),
    "evaluation_rate": ({"on-time", "late"}, {"on-time"}),
    "evaluated_satisfaction": ({"on-time"}, {"on-time"}),
    "public_satisfaction": ({"on-time", "reopened"}, {"on-time"}),
    "one_time": ({"on-time", "reopened"}, {"on-time"}),
    "resolution": ({"on-time", "late", "never", "not-yet-due", "reopened", "unit-never"}, {"on-time", "reopened"}),
    "repeat": ({"on-time", "late", "never", "not-yet-due", "reopened", "unit-never"}, {"on-time", "late"}),
}


@pytest.mark.parametrize("key", figures.KEYS)
def test_each_rule_over_literal_states(key):
    engine = sa.create_engine("sqlite://")
    states.create(engine)
    numbers.create(engine)
    from server.services.ledger.tables import records
    records.create(engine)
    with engine.begin() as conn:
        conn.execute(states.insert(), ROWS)
        conn.execute(numbers.insert(), [{"db_name": "d", "doc_id": r["doc_id"], "district": "990101", "year": 2031,
                                         "seq": i, "number": f"n{i}", "received_seq": i, "received_at": dt.datetime(2031, 1, 1),
                                         "area": r["area"], "registered_on": r["registered_on"]} for i, r in enumerate(ROWS)])
        conn.execute(records.insert(), [{"db_name": "d", "doc_id": r["doc_id"], "type": "dispute", "area": r["area"],
                                         "seq": i, "deleted": False} for i, r in enumerate(ROWS)])
        den, num = figures.rule(key, D(2031, 1, 1), D(2031, 12, 31), TODAY)
        base = states.join(numbers, sa.and_(numbers.c.db_name == states.c.db_name, numbers.c.doc_id == states.c.doc_id))
        got_den = set(conn.execute(sa.select(states.c.doc_id).select_from(base).where(den)).scalars())
        got_num = set(conn.execute(sa.select(states.c.doc_id).select_from(base).where(den, num)).scalars())
    assert (got_den, got_num) == EXPECTED[key]
