"""Personal data of a matter (server.services.privacy): the masks, and who handles a matter."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from server.services.privacy import (handles, mask_id_number, mask_name, mask_phone, mask_text, masked_matter,
                                     secrets_of)

VILLAGE, OTHER_VILLAGE, TOWNSHIP, OTHER_TOWNSHIP, DISTRICT = "990101001001", "990101001002", "990101001", "990101002", "990101"


def who(name, role, scope):
    return SimpleNamespace(name=name, role=role, scope=scope)


MATTER = {"_id": "dispute-1", "type": "dispute", "area": VILLAGE, "created_by": "cadre",
          "summary": "王建国与李四因宅基地争执，王建国电话13812344567",
          "parties": [{"name": "王建国", "role": "applicant", "phone": "13812344567", "id_number": "610402199001011234"},
                      {"name": "李四", "role": "respondent"}],
          "mediation": [{"at": "2026-01-01T00:00:00+08:00", "by": "调解委员会", "method": "in_person",
                         "result": "agreed", "notes": "李四同意赔偿"}]}


@pytest.mark.parametrize("name, masked", [("王建国", "王＊＊"), ("李四", "李＊"), ("欧阳娜娜", "欧＊＊＊"), ("王", "＊"), ("", "")])
def test_names_keep_the_surname(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize("phone, masked", [("13812344567", "138****4567"), ("+8613812344567", "+86*******4567"),
                                           ("029-88886666", "029-****6666"), ("12345", "***45")])
def test_phones_keep_the_first_three_and_last_four(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("number, masked", [("610402199001011234", "610402********1234"),
                                            ("61040219900101X", "610402********101X"), ("1234", "********")])
def test_id_numbers_keep_the_first_six_and_last_four(number, masked):
    assert mask_id_number(number) == masked


def test_a_masked_matter_shows_no_name_phone_or_id_number_anywhere():
    shown = masked_matter(MATTER)
    text = repr(shown)
    for secret in ("王建国", "李四", "13812344567", "610402199001011234"):
        assert secret not in text
    assert shown["parties"][0] == {"name": "王＊＊", "role": "applicant", "phone": "138****4567",
                                   "id_number": "610402********1234"}
    assert shown["summary"] == "王＊＊与李＊因宅基地争执，王＊＊电话138****4567"
    assert shown["mediation"][0]["notes"] == "李＊同意赔偿"
    assert shown["_id"] == "dispute-1" and MATTER["parties"][0]["name"] == "王建国"  # a copy


def test_text_masks_the_longest_secret_first():
    secrets = secrets_of({"parties": [{"name": "王建", "role": "other"}, {"name": "王建国", "role": "other"}]})
    assert mask_text("王建国和王建", secrets) == "王＊＊和王＊"


def test_the_chain_of_the_matters_area_handles_it():
    assert handles(who("cadre", "village_cadre", VILLAGE), MATTER)
    assert handles(who("cadre2", "village_cadre", VILLAGE), MATTER)  # the village's other cadres too
    assert handles(who("staff", "township_staff", TOWNSHIP), MATTER)
    assert handles(who("root", "admin", ""), MATTER)


def test_outside_the_chain_does_not():
    assert not handles(who("neighbour", "village_cadre", OTHER_VILLAGE), MATTER)
    assert not handles(who("staff2", "township_staff", OTHER_TOWNSHIP), MATTER)
    assert not handles(who("boss", "district_supervisor", DISTRICT), MATTER)  # supervises only
    assert not handles(who("", "township_staff", TOWNSHIP), MATTER)
    assert not handles(who("nobody", "township_staff", ""), MATTER)  # an empty scope is no area


def test_an_assign_step_naming_an_account_makes_it_a_handler():
    boss = who("boss", "district_supervisor", DISTRICT)
    named = {"type": "matter_step", "kind": "assign", "matter_id": "dispute-1", "unit_account": "boss",
             "responsible_area": DISTRICT}
    assert handles(boss, MATTER, [named])
    assert not handles(boss, MATTER, [dict(named, unit_account="someone")])
    assert not handles(boss, MATTER, [dict(named, kind="accept")])
    assert not handles(boss, MATTER, [dict(named, matter_id="dispute-2")])  # another matter's step


def test_the_registering_account_handles_it():
    assert handles(who("boss", "district_supervisor", DISTRICT), dict(MATTER, created_by="boss"))
