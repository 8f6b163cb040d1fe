"""Every ledger page in English (?lang=en) is in words: a walk from the dashboard over one page of
each kind fails on any enumeration value, catalogue code or message key left as it is (the
snake_case words a reader would see as code). SQLite and PostgreSQL, on the demo district, with
the clock frozen."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qsl, urlsplit

import pytest

from server.core import clock
from server.core.clock import SHANGHAI
from server.interfaces.ledger.i18n import MESSAGES

from browser.test_full_size_browser import raw_codes
from .test_ledger import browser
from .test_ledger_people import visible

pytestmark = pytest.mark.demo

MAX_PAGES = 60
NOT_WALKED = re.compile(r"\.(csv|xlsx|json)$|/attachment/|/logout$|/room/stream$")
LINK = re.compile(r'href="(/ledger[^"#]*)"')
CODE_LIKE = re.compile(r"(?<![A-Za-z0-9_./:-])[a-z][a-z0-9]*_[a-z0-9_]+(?![A-Za-z0-9_./:-])")


def page_kind(url: str) -> str:
    parts = urlsplit(url)
    path = re.sub(r"^(/ledger/(?:dispute|report|notice|round|quarantine))/.+?(/(?:file))?$", r"\1/<id>\2", parts.path)
    keys = sorted({k for k, _ in parse_qsl(parts.query) if k not in ("until", "since", "page")})
    return path + ("?" + "&".join(keys) if keys else "")


def walk(client, start: list[str]) -> tuple[set[str], list[str]]:
    codes = raw_codes() | set(MESSAGES)
    seen: set[str] = set()
    queue, problems = list(start), []
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0).replace("&amp;", "&")
        kind = page_kind(url)
        if kind in seen:
            continue
        seen.add(kind)
        r = client.get(url)
        if r.status_code != 200:
            problems.append(f"{url}: HTTP {r.status_code}")
            continue
        raw = sorted({w for w in CODE_LIKE.findall(visible(r.text)) if w in codes})
        if raw:
            problems.append(f"{kind}: raw codes {raw} ({url})")
        for href in LINK.findall(r.text):
            if not NOT_WALKED.search(urlsplit(href).path) and "lang=" not in href:
                queue.append(href)
    return seen, problems


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    moment = dt.datetime.combine(dt.datetime.now(SHANGHAI).date(), dt.time(12), SHANGHAI)
    monkeypatch.setattr(clock, "now", lambda: moment)


@pytest.mark.parametrize("who", ["demo-district", "demo-admin"])
def test_every_page_in_english_is_in_words(app, who):
    client = browser(app, who)
    assert client.get("/ledger/?lang=en").status_code == 200  # the cookie keeps English for the walk
    start = ["/ledger/", "/ledger/ledger", "/ledger/disputes", "/ledger/figures", "/ledger/quarterly",
             "/ledger/notices", "/ledger/map", "/ledger/room", "/ledger/bulletin", "/ledger/search?q=%E7%BA%A0%E7%BA%B7"]
    if who == "demo-admin":
        start.append("/ledger/quarantine?status=all")
    seen, problems = walk(client, start)
    assert {"/ledger/", "/ledger/dispute/<id>", "/ledger/report/<id>", "/ledger/figures"} <= {k.split("?")[0] for k in seen}
    assert len(seen) >= 15 and not problems, f"{len(problems)} findings on {len(seen)} pages:\n" + "\n".join(problems)
