"""People on the ledger pages are named (刘芳（示范村一）), not shown as account ids: the header, a
report's reviews and revisions, a notice's chases and replies, a dispute's trail and openings, the
flagged visits, the map's tooltips, the access log, the quarantine. The id stays in a tooltip, the
stored documents keep the id, and an account the store does not know shows its id. SQLite and
PostgreSQL, on the demo district, with the clock frozen."""
from __future__ import annotations

import html
import re

import pytest
from flask import g

from .test_ledger import basic, browser, csrf, reports_of
from .test_supervision import at, issue, post_form, sync_reply  # noqa: F401  (`at` is a fixture)

pytestmark = pytest.mark.demo

VILLAGE = "990101001001"
NAMES = {"demo-village": "刘芳（示范村一）", "demo-village2": "王磊（示范村二）", "demo-township": "赵敏（示范镇）",
         "demo-district": "孙强（区督查）", "demo-admin": "演示管理员"}
ACCOUNT_ID = re.compile(r"demo-(?:village2|village|township|district|admin)(?![\w-])")
DISPUTE_LINK = re.compile(r'href="/ledger/dispute/([^"?]+)"')
NOTICE_LINK = re.compile(r'href="/ledger/notice/(notice-[^"?]+)"')


def visible(page: str) -> str:
    """What a reader sees: tags (and their attributes, tooltips among them) and scripts left out."""
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def assert_named(page: str, path: str) -> None:
    shown = ACCOUNT_ID.findall(visible(page))
    assert not shown, f"{path} shows account ids {sorted(set(shown))}"


def test_every_person_on_the_pages_is_named(app, client, at):
    district = browser(app, "demo-district")
    # a review, a notice with a chase and a phone's reply, an opening of a dispute's file: people on pages
    report_id = reports_of(district, VILLAGE)[0]
    page = f"/ledger/report/{report_id}"
    r = district.post(f"{page}/review", data={"status": "approved", "comment": "核实无误",
                                              "csrf_token": csrf(district, page)})
    assert r.status_code in (200, 302), r.text[:300]
    notice = issue(district, VILLAGE, subject="人名显示")
    assert post_form(district, notice, "chase", method="letter", note="请尽快答复").status_code == 302
    assert sync_reply(client, "demo-village", notice, VILLAGE)[1].status_code == 201

    disputes = list(dict.fromkeys(DISPUTE_LINK.findall(district.get("/ledger/disputes").text)))
    assert disputes
    pages = ["/ledger/", "/ledger/ledger", page, f"/ledger/notice/{notice}", "/ledger/notices", "/ledger/map",
             "/ledger/search?q=纠纷"] + [f"/ledger/dispute/{d}" for d in disputes]
    seen = {}
    for path in pages:
        r = district.get(path)
        assert r.status_code == 200, path
        assert_named(r.text, path)
        seen[path] = r.text
    # ... and the names are there, each with its account id in the tooltip
    assert '<span class="who"><span class="person" title="demo-district">孙强（区督查）</span>' in seen["/ledger/"]
    report = visible(seen[page])
    assert "孙强（区督查）" in report and "核实无误" in report
    notice_page = visible(seen[f"/ledger/notice/{notice}"])
    assert "刘芳（示范村一）" in notice_page and "孙强（区督查）" in notice_page
    assert "赵敏（示范镇）" in visible(seen["/ledger/map"])  # the flagged visits' visitor, in the points' tooltips
    # the openings of files just made are in the log, by name
    log = district.get("/ledger/access-log")
    assert_named(log.text, "/ledger/access-log")
    assert "孙强（区督查）" in visible(log.text)
    # the stored documents keep the account id
    stored = client.get(f"/paicha/{notice}", headers=basic("demo-district")).json
    assert stored["created_by"] == "demo-district" and stored["chases"][0]["by"] == "demo-district"


def test_the_administrators_pages_name_people_too(app):
    admin = browser(app, "demo-admin")
    for path in ("/ledger/", "/ledger/quarantine?status=all", "/ledger/access-log"):
        r = admin.get(path)
        assert r.status_code == 200, path
        assert_named(r.text, path)
        assert "演示管理员" in visible(r.text)


def test_an_account_the_store_does_not_know_shows_its_id(app):
    from server.interfaces.ledger.views import person, person_name

    with app.test_request_context("/ledger/"):
        g.principal = None
        assert person_name("demo-village") == "刘芳（示范村一）"
        assert person_name("gone-cadre") == "gone-cadre"
        assert str(person("gone-cadre")) == '<span class="person">gone-cadre</span>'
        assert str(person("<b>x</b>")) == '<span class="person">&lt;b&gt;x&lt;/b&gt;</span>'
        assert str(person(None)) == ""


def test_names_are_read_once_a_page(app, monkeypatch):
    from server.services.ledger import people

    calls = []
    real = people.display_names
    monkeypatch.setattr(people, "display_names", lambda area: calls.append(area) or real(area))
    district = browser(app, "demo-district")
    disputes = DISPUTE_LINK.findall(district.get("/ledger/disputes").text)
    calls.clear()
    assert district.get(f"/ledger/dispute/{disputes[0]}").status_code == 200
    assert calls == ["990101"]
