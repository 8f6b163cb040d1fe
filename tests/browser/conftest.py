"""Browser tests: real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Without Chromium (or Playwright) the tests are skipped locally with the reason, and fail when `CI` is
set (as the PostgreSQL tests do). `make browser-deps` (run by `make test`) installs Debian's chromium
when it is missing and the user is root. PAICHA_TEST_CHROMIUM overrides the binary's path.
"""
from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("PAICHA_TEST_CHROMIUM", "/usr/bin/chromium")


def _missing() -> str | None:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium, or `make browser-deps` as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
def browser():
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing, pytrace=False)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--disable-gpu", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()
