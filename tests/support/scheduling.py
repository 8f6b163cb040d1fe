"""How `make test` (pytest-xdist, `--dist loadfile`) hands the tests to its processes.

A unit of work is a file's tests on one store kind (`tests/e2e/test_resume.py::sqlite`), or the
whole file when its tests are not parametrized by store. The browser files are units of their own
too: launching Chromium costs a second, running five files' minutes of pages in one process cost
the run its tail. A file's servers, stores and apps are module-scoped per store kind
already, so its SQLite and PostgreSQL halves may run side by side (a module fixture of both, such
as the bridge tests' pouchdb-server, is then made in each process).
The units go out longest first (LONGEST, measured), then in the order collected (e2e before
integration before unit), so no long file starts last and runs on alone after the others are done.
xdist's own order (most tests first) sent the few long e2e files last.
"""
from __future__ import annotations

import re

from xdist.scheduler import LoadScopeScheduling

STORE_KINDS = ("sqlite", "postgresql")

# Seconds a file's tests took (both store kinds, 4 processes on 2 cores, 7 December 2026): only
# the order depends on them, so they need not be exact, and a file not named here goes after these.
LONGEST = {
    "tests/e2e/test_resume.py": 95,
    "tests/integration/test_calendar.py": 90,
    "tests/integration/test_bridge.py": 65,
    "tests/e2e/test_bridge_cli.py": 55,
    "tests/e2e/test_hostile_input.py": 50,
    "tests/integration/test_mobile_api_fuzz.py": 45,
    "tests/e2e/test_durability.py": 40,
    "tests/e2e/test_visits.py": 40,
    "tests/e2e/test_held_documents.py": 35,
    "tests/integration/test_ops.py": 30,
    "tests/e2e/test_quarantine_phone.py": 30,
    "tests/e2e/test_conflicts.py": 28,
    "tests/e2e/test_replication.py": 25,
    "tests/integration/test_ledger.py": 24,
    "tests/e2e/test_multiworker.py": 22,
    "tests/browser/test_full_size_browser.py": 200,  # the full-size store (~40 s), the walks of every page (zh, en), each list in each order, a year's export
    "tests/browser/test_field_app_browser.py": 75,  # 35 s of it the round over 2G
    "tests/browser/test_room_browser.py": 30,
    "tests/browser/test_ledger_browser.py": 30,
    "tests/browser/test_quarantine_browser.py": 10,
    # added later, estimated from single runs of the file
    "tests/e2e/test_resumable_photo.py": 30,
    "tests/e2e/test_slow_clients.py": 25,
    "tests/e2e/test_restore.py": 30,
    "tests/integration/test_matters.py": 22,
    "tests/integration/test_resumable_uploads.py": 20,
    "tests/integration/test_supervision.py": 20,
    "tests/integration/test_list_filters.py": 25,
    "tests/integration/test_ledger_english.py": 20,
    "tests/integration/test_matter_figures.py": 20,
    "tests/integration/test_privacy.py": 18,
    "tests/integration/test_matter_reminders.py": 17,
    "tests/e2e/test_case_handling.py": 70,
}

_PARAM_PARTS = re.compile(r"[\[\]\-]")


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to (see the module docstring)."""
    path, _, rest = nodeid.partition("::")
    parts = set(_PARAM_PARTS.split(rest[rest.find("["):])) if "[" in rest else set()
    kind = next((k for k in STORE_KINDS if k in parts), None)
    return f"{path}::{kind}" if kind else path


class FileAndStoreScheduling(LoadScopeScheduling):
    """`--dist loadfile`, with a file's store kinds as separate units, longest units first."""

    def __init__(self, config, log=None):
        super().__init__(config, log)
        # Units stay in the order collected (e2e first); xdist must not sort them by size.
        self.config.option.loadscopereorder = False

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)

    def _assign_work_unit(self, node) -> None:
        # The longest unit left goes next (the first of equals: the order collected).
        if self.workqueue:
            longest = max(self.workqueue, key=lambda unit: LONGEST.get(unit.partition("::")[0], 0))
            self.workqueue.move_to_end(longest, last=False)
        super()._assign_work_unit(node)
