"""Deployment drills: a web host killed mid-sync, the PostgreSQL primary lost, last night's backup
restored, an upgrade rolled, with real PouchDB phones through nginx. Each ends with `Fleet.check` (every acknowledged
write on the server, each phone's documents within its scope, no change missing on any phone), and
prints its figures (README "Deployment")."""
from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest
import requests

from support import REPO_ROOT

from .fleet import PASSWORD, dispute
from .topology import ADMIN_PASSWORD, FLASK, PG_BIN

pytestmark = pytest.mark.slow


def report(name: str, figures: dict) -> None:
    print(f"\nDRILL {name}: {json.dumps(figures)}")


def test_a_web_host_killed_mid_sync(deployment):
    topo, fleet = deployment
    started = time.monotonic()
    sessions_work_on_every_host(topo, fleet)
    # The scheduler runs on both hosts: two ticks at the same moment write each round once.
    ticks = [topo.net.popen(web.host, [FLASK, "rounds", "tick"], cwd=REPO_ROOT, env=web.environment(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for web in topo.webs]
    assert [t.wait(timeout=120) for t in ticks] == [0, 0]
    first = fleet.round("r1")
    victim = topo.webs[0]
    second = fleet.round("r2", midway=victim.kill)
    assert victim.server.poll() is not None, "the web host was killed during the round"
    figures = fleet.check()
    rounds = {i: d for i, d in fleet.admin_docs().items() if d.get("type") == "screening_round"}
    assert rounds, "the calendar's tick wrote the rounds"
    assert all(d["_rev"].startswith("1-") for d in rounds.values()), "each round written once"
    report("web host killed", {"phones": len(fleet.phones), "round_s": round(first, 1),
                               "round_with_kill_s": round(second, 1), "calendar_rounds": len(rounds), **figures,
                               "total_s": round(time.monotonic() - started, 1)})


def sessions_work_on_every_host(topo, fleet) -> None:
    """A bearer token and an AuthSession cookie got from one web host are taken by the others (the
    signing key and the tokens live in the store), and a logout on one ends the session on all."""
    phone = fleet.phones[0]
    first, other = topo.webs[0], topo.webs[-1]
    r = requests.post(f"{first.url}/api/v1/auth/login", timeout=30,
                      json={"name": phone.name, "password": PASSWORD, "device_id": "drill-phone"})
    assert r.status_code == 200, r.text
    bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert requests.get(f"{other.url}/api/v1/me", headers=bearer, timeout=30).json()["name"] == phone.name
    login = requests.post(f"{first.url}/_session", json={"name": phone.name, "password": PASSWORD}, timeout=30)
    assert login.status_code == 200
    cookie = {"AuthSession": login.cookies["AuthSession"]}
    assert requests.get(f"{other.url}/paicha", cookies=cookie, timeout=30).status_code == 200
    assert requests.delete(f"{other.url}/_session", cookies=cookie, timeout=30).status_code == 200
    assert requests.get(f"{first.url}/paicha", cookies=cookie, timeout=30).status_code == 401


def cross_host_wake_s(topo, fleet, label: str) -> float:
    """A live feed waiting on one web host is woken by a write on the other (LISTEN/NOTIFY through
    PostgreSQL): the median of three wakes, in seconds."""
    auth = ("admin", ADMIN_PASSWORD)
    listener, writer = topo.webs[0], topo.webs[-1]
    wakes = []
    for n in range(3):
        since = requests.get(f"{listener.url}/paicha", auth=auth, timeout=30).json()["update_seq"]
        answer = {}

        def follow():
            r = requests.get(f"{listener.url}/paicha/_changes", auth=auth, timeout=60,
                             params={"feed": "longpoll", "since": since, "timeout": 25000})
            answer["at"], answer["ids"] = time.monotonic(), [row["id"] for row in r.json()["results"]]

        feed = threading.Thread(target=follow)
        feed.start()
        time.sleep(0.5)  # the feed is waiting
        doc = dispute(f"wake-{label}-{n}", fleet.phones[0].village, fleet.phones[0].name)
        r = requests.put(f"{writer.url}/paicha/{doc['_id']}", json=doc, auth=auth, timeout=30)
        assert r.status_code == 201, r.text
        written = time.monotonic()
        feed.join(30)
        assert answer["ids"] == [doc["_id"]]
        wakes.append(answer["at"] - written)
    return sorted(wakes)[1]


def test_the_primary_lost_and_the_standby_promoted(deployment):
    topo, fleet = deployment
    started = time.monotonic()
    first = fleet.round("r1")
    wake_before = cross_host_wake_s(topo, fleet, "before")
    # A safety net re-reads the store every second while the wake is down, every 30 s otherwise.
    assert wake_before < 0.5
    promoted = {}

    def fail_over():
        topo.pg1.kill()
        t = time.monotonic()
        topo.pg2.promote()
        promoted["promote_s"] = round(time.monotonic() - t, 1)

    second = fleet.round("r2", midway=fail_over)
    # The web hosts were not restarted: they found the new primary on their own.
    assert all(web.server.poll() is None for web in topo.webs)
    assert all(requests.get(web.url + "/_ready", timeout=5).status_code == 200 for web in topo.webs)
    third = fleet.round("r3")
    wake_after = cross_host_wake_s(topo, fleet, "after")
    assert wake_after < 0.5, "feeds are woken across hosts again once the standby is promoted"
    figures = fleet.check()
    report("primary lost", {"phones": len(fleet.phones), "round_s": round(first, 1),
                            "cross_host_wake_s": [round(wake_before, 3), round(wake_after, 3)],
                            "round_with_failover_s": round(second, 1), "round_after_s": round(third, 1),
                            **promoted, **figures, "total_s": round(time.monotonic() - started, 1)})


def test_last_nights_backup_restored(deployment, tmp_path):
    topo, fleet = deployment
    started = time.monotonic()
    fleet.round("r1")
    # Some phones keep one live replication across the backup's moment (the app's `live: true`):
    # a write before the backup, one after, both acknowledged.
    spanning = fleet.phones[: max(2, len(fleet.phones) // 10)]
    lives = {}
    for phone in spanning:
        lives[phone.name] = phone.device.start("live", {"remote": fleet.remote, "auth": phone.device.auth,
                                                        "seconds": 120, "until": {"ids": [f"marker-{phone.name}"]},
                                                        "back_off_max": 1000})

    def acknowledged_live(label):
        written = {p.name: fleet.write(p, label, 1) for p in spanning}
        for phone in spanning:
            wait_for_server(fleet, written[phone.name])
            phone.acknowledged.update(written[phone.name])

    acknowledged_live("before")
    backup = tmp_path / "paicha.dump"
    dump = subprocess.run([str(PG_BIN / "pg_dump"), "-h", topo.pg1.address, "-U", "paicha", "-Fc", "-f", str(backup),
                           "paicha"], capture_output=True, text=True, timeout=300)
    assert dump.returncode == 0, dump.stderr
    acknowledged_live("after")
    for phone in spanning:  # ends each live replication
        admin_put(fleet, dispute(f"marker-{phone.name}", phone.village, phone.name))
    for phone in spanning:
        assert lives[phone.name].result(timeout=150)["reached"]
    # The others sync a round after the backup: acknowledged, then lost with the store.
    fleet.round("r2", [p for p in fleet.phones if p not in spanning])
    lost_by_the_store = sum(len(p.acknowledged) for p in fleet.phones)

    # The restore, as README "Deployment" says: web hosts stopped, database recreated from the dump.
    for web in topo.webs:
        web.kill()
    topo.pg1.psql("DROP DATABASE paicha WITH (FORCE)")
    topo.pg1.psql("CREATE DATABASE paicha OWNER paicha")
    restore = subprocess.run([str(PG_BIN / "pg_restore"), "-h", topo.pg1.address, "-U", "paicha", "-d", "paicha",
                              "--no-owner", str(backup)], capture_output=True, text=True, timeout=300)
    assert restore.returncode == 0, restore.stderr
    for web in topo.webs:
        web.start()
    server = fleet.admin_docs()
    missing_after_restore = [i for p in fleet.phones for i in p.acknowledged if i not in server]
    assert missing_after_restore, "the backup lacks what was acknowledged after it (else the drill proves nothing)"
    # Changes made after the restore, in every village: no phone may skip them.
    for village in sorted({p.village for p in fleet.phones}):
        admin_put(fleet, dispute(f"after-restore-{village}", village, "admin"))
    fleet.round("r3")
    figures = fleet.check()
    for phone in fleet.phones:
        assert phone.device.get_or_none(f"after-restore-{phone.village}") is not None
    report("backup restored", {"phones": len(fleet.phones), "live_across_backup": len(spanning),
                               "lost_by_restore_then_resent": len(missing_after_restore),
                               **figures, "total_s": round(time.monotonic() - started, 1)})


def admin_put(fleet, doc):
    r = requests.put(f"{fleet.remote}/{doc['_id']}", json=doc, auth=("admin", ADMIN_PASSWORD), timeout=30)
    assert r.status_code == 201, r.text


def wait_for_server(fleet, written: dict, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = requests.post(f"{fleet.remote}/_all_docs", json={"keys": list(written)}, auth=("admin", ADMIN_PASSWORD),
                          timeout=30)
        rows = r.json().get("rows", [])
        if rows and all(row.get("value", {}).get("rev") == written[row["key"]] for row in rows):
            return
        time.sleep(0.2)
    raise AssertionError(f"the server never had {written}")


UPGRADE_MIGRATION = '''"""the drill's new version: a table, and a row for each time this migration runs

Revision ID: 9000_drill_upgrade
Revises: {head}
"""
from alembic import op
import sqlalchemy as sa

revision = "9000_drill_upgrade"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("drill_upgrade_runs", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("INSERT INTO drill_upgrade_runs (id) VALUES (1)")
    # A migration that takes a while: every process starting with the new version waits at the lock.
    op.execute("SELECT pg_sleep(3)")


def downgrade():
    op.drop_table("drill_upgrade_runs")
'''


def new_version(directory):
    """A copy of this version's code with one migration more: the version rolled out."""
    import shutil

    from alembic.script import ScriptDirectory

    from server.core.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    for package in ("server", "sync", "schemas", "mobile_api"):
        shutil.copytree(REPO_ROOT / package, directory / package, ignore=shutil.ignore_patterns("__pycache__"))
    (directory / "server" / "migrations" / "versions" / "9000_drill_upgrade.py").write_text(
        UPGRADE_MIGRATION.format(head=head))
    return directory


def test_an_upgrade_rolled_with_a_migration(deployment, tmp_path):
    topo, fleet = deployment
    started = time.monotonic()
    new = new_version(tmp_path)
    fleet.round("r1")
    stop = threading.Event()
    during = []

    def keep_syncing():
        while not stop.is_set():
            during.append(fleet.round(f"roll{len(during)}"))

    phones = threading.Thread(target=keep_syncing)
    phones.start()
    try:
        for n, web in enumerate(topo.webs):  # one host at a time; the others serve meanwhile
            web.stop()
            web.root = new
            web.start()
            if n == 0:
                old = topo.webs[-1]
                # The schema is the new version's: the old hosts still serve, and are ready; one that
                # dies mid-roll comes back on the old version.
                assert requests.get(old.url + "/_ready", timeout=10).status_code == 200
                old.kill()
                old.start()
    finally:
        stop.set()
        phones.join()
    # The migration ran once, though every host's server and scheduler started with it.
    assert topo.pg1.psql("SELECT count(*) FROM drill_upgrade_runs", db="paicha") == "1"
    assert topo.pg1.psql("SELECT version_num FROM alembic_version", db="paicha") == "9000_drill_upgrade"
    assert len(during) >= 2, "phones synced through the roll"
    figures = fleet.check()
    report("upgrade rolled", {"phones": len(fleet.phones), "rounds_during_roll": len(during),
                              "roll_s": round(sum(during), 1), **figures,
                              "total_s": round(time.monotonic() - started, 1)})
