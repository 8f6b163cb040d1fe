"""The ledger's lists at phone width in real headless Chromium, on the demo district: a status, a
stage or a risk stays on one line (a column may scroll in its box, a word is never cut one
character a line), and the header names who is logged in."""
from __future__ import annotations

import pytest

from support.server import REFERENCE_RUN, ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(REFERENCE_RUN, reason="the ledger pages are Paicha's own")]

PHONE = {"width": 390, "height": 844}

# The cells whose words run over more than one line (the lines of their text, not the row's height).
WRAPPED = """(selector) => [...document.querySelectorAll(selector)].filter(el => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let top = Infinity, bottom = -Infinity;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) { top = Math.min(top, r.top); bottom = Math.max(bottom, r.bottom); }
  }
  return bottom - top > 1.6 * parseFloat(getComputedStyle(el).fontSize);
}).map(el => el.innerText)"""


@pytest.fixture(scope="module")
def demo(stores):
    srv = ServerProcess(stores.new("sqlite", "demo"), name="ledger-layout-browser", env={"PAICHA_DEMO": "1"})
    srv.start()
    yield srv
    srv.close()


def test_statuses_stay_on_one_line_at_phone_width(demo, browser):
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        page.goto(f"{demo.url}/ledger/login")
        page.fill("#name", "demo-district")
        page.fill("#password", "demo-password")
        page.click("#login")
        page.wait_for_selector("main")
        assert page.inner_text(".who") == "孙强（区督查）"
        assert page.get_attribute(".who .person", "title") == "demo-district"
        checked = 0
        for path, selector in (("/ledger/ledger", "td:nth-child(4)"), ("/ledger/disputes", "td.status, td.stage, td.risk"),
                               ("/ledger/quarterly", "td.status, td.risk")):
            page.goto(f"{demo.url}{path}")
            page.wait_for_selector("main")
            checked += page.eval_on_selector_all(selector, "els => els.length")
            assert page.evaluate(WRAPPED, selector) == [], path
        assert checked > 10
    finally:
        context.close()
