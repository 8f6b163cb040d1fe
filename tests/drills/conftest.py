"""The deployment drills (README "Deployment"): slow, root, their own hosts; run by `make drills`
(PAICHA_DRILLS=1), skipped otherwise. PAICHA_DRILL_PHONES sets the number of phones (100)."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from .topology import Topology, missing_tools
from .fleet import Fleet

PHONES = int(os.environ.get("PAICHA_DRILL_PHONES") or 100)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("PAICHA_DRILLS"):
        return
    skip = pytest.mark.skip(reason="a deployment drill: `make drills` runs them (PAICHA_DRILLS=1)")
    for item in items:
        if Path(__file__).parent in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@pytest.fixture
def deployment():
    """The topology started, with its phones seeded and through a first round."""
    problem = missing_tools()
    if problem:
        pytest.fail(problem, pytrace=False)
    topo = Topology()
    fleet = None
    phones_dir = Path(tempfile.mkdtemp(prefix=f"paicha-drill-{topo.net.tag}-phones-"))
    try:
        topo.start()
        fleet = Fleet(topo, PHONES, phones_dir)
        fleet.seed()
        yield topo, fleet
    finally:
        if fleet is not None:
            fleet.close()
        topo.close()
        shutil.rmtree(phones_dir, ignore_errors=True)
