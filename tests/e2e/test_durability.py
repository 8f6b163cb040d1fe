"""Acknowledged writes survive kill -9, many times over, with nothing duplicated.

Writers push without pause, each through single-document PUTs and `_bulk_docs` batches (new
documents and updates of its own), and record every write the server acknowledged (201 and the
new rev). Meanwhile the server (two gunicorn workers) is SIGKILLed at random moments and started
again on the same store, KILLS times. After the last start:

* every acknowledged write reads back intact: that rev of that document, with that body;
* nothing is duplicated: each document's revision history (of its one leaf: no writer ever
  branched, so no conflict may appear) holds each acknowledged rev exactly once, and the changes
  feed lists each document once; `_all_docs` and the database's doc_count agree with it.

A write whose answer was lost in a kill is "in doubt": it may or may not have been stored, and the
writer learns which by reading the document before it writes it again. On SQLite a SIGKILL is a
process crash (WAL, synchronous=NORMAL: the operating system keeps what was committed); a power
cut is not tested here. PostgreSQL keeps running; the server's connections die with it.

PAICHA_DURABILITY_KILLS=50 runs the long version (the default, 3, is the quick one in `make test`:
about 30 s per store, most of it the server's starts).
"""
from __future__ import annotations

import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

from support.checks import duplicates
from support.http import qs_json

KILLS = int(os.environ.get("PAICHA_DURABILITY_KILLS", "3"))
WRITERS = 3
BULK = 5
UP_FOR_S = (0.3, 1.2)  # how long the server writes between its start and the next kill


@dataclass
class Doc:
    id: str
    rev: str | None = None  # the rev the writer builds on (None: a new document)
    stale: bool = False  # a write to it was in doubt or refused: read it before writing again
    acked: list[tuple[str, dict]] = field(default_factory=list)  # (rev, body) the server acknowledged
    attempts: int = 0  # writes sent (acknowledged, refused or in doubt): no more revisions than these


class Writer(threading.Thread):
    def __init__(self, n: int, srv, db: str, stop: threading.Event):
        super().__init__(daemon=True, name=f"writer-{n}")
        self.n, self.srv, self.db, self.stop = n, srv, db, stop
        self.rng = random.Random(n)
        self.docs: dict[str, Doc] = {}
        self.session = requests.Session()
        self.session.auth = srv.auth
        self.counter = 0
        self.in_doubt = 0
        self.failure: str | None = None

    def url(self, path: str = "") -> str:
        return f"{self.srv.url}/{self.db}{path}"

    def body(self) -> dict:
        self.counter += 1
        return {"writer": self.n, "n": self.counter, "payload": uuid.uuid4().hex * self.rng.randint(1, 8)}

    def pick(self, k: int) -> list[Doc]:
        """k documents to write: some new, some of the writer's own to update."""
        picked: list[Doc] = []
        existing = [d for d in self.docs.values()]
        for _ in range(k):
            if existing and self.rng.random() < 0.5:
                doc = self.rng.choice(existing)
                if doc not in picked:
                    picked.append(doc)
                    continue
            doc = Doc(f"w{self.n}-{uuid.uuid4().hex[:12]}")
            self.docs[doc.id] = doc
            picked.append(doc)
        return picked

    def refresh(self, doc: Doc) -> bool:
        """Reads a stale document's current rev (its last write may have been stored or not)."""
        r = self.session.get(self.url(f"/{doc.id}"), timeout=10)
        if r.status_code == 404:
            doc.rev = None
        elif r.status_code == 200:
            doc.rev = r.json()["_rev"]
        else:
            return False
        doc.stale = False
        return True

    def count_doubt(self, exc: Exception) -> None:
        if not isinstance(exc, requests.ConnectTimeout) and "NewConnectionError" not in repr(exc):
            self.in_doubt += 1  # sent, answer lost: stored or not (a refused connection sent nothing)

    def put(self, doc: Doc) -> None:
        body = self.body()
        params = {"rev": doc.rev} if doc.rev else None
        doc.attempts += 1
        try:
            r = self.session.put(self.url(f"/{doc.id}"), json=body, params=params, timeout=10)
        except requests.RequestException as exc:
            doc.stale = True
            self.count_doubt(exc)
            raise
        if r.status_code == 201:
            doc.rev = r.json()["rev"]
            doc.acked.append((doc.rev, body))
        else:
            doc.stale = True  # 409 after an in-doubt write that was stored; 5xx while stopping

    def bulk(self, docs: list[Doc]) -> None:
        bodies = [self.body() for _ in docs]
        payload = [{"_id": d.id, **({"_rev": d.rev} if d.rev else {}), **b} for d, b in zip(docs, bodies)]
        for d in docs:
            d.attempts += 1
        try:
            r = self.session.post(self.url("/_bulk_docs"), json={"docs": payload}, timeout=10)
        except requests.RequestException as exc:
            for d in docs:
                d.stale = True
            self.count_doubt(exc)
            raise
        if r.status_code != 201:
            for d in docs:
                d.stale = True
            return
        results = r.json()
        assert [x["id"] for x in results] == [d.id for d in docs], results
        for d, b, x in zip(docs, bodies, results):
            if x.get("ok"):
                d.rev = x["rev"]
                d.acked.append((d.rev, b))
            else:
                d.stale = True

    def run(self):
        try:
            while not self.stop.is_set():
                try:
                    docs = self.pick(BULK if self.rng.random() < 0.5 else 1)
                    for d in docs:
                        if d.stale and not self.refresh(d):
                            raise requests.ConnectionError("server not ready")
                    if len(docs) == 1:
                        self.put(docs[0])
                    else:
                        self.bulk(docs)
                except requests.RequestException:
                    time.sleep(0.05)  # the server is down or starting: try again
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.failure = repr(exc)
        finally:
            self.session.close()


def test_acknowledged_writes_survive_kill_9(server_factory, store_kind):
    srv = server_factory(env={"WEB_WORKERS": "2", "WEB_THREADS": "8"})
    db = f"durable_{uuid.uuid4().hex[:8]}"
    requests.put(f"{srv.url}/{db}", auth=srv.auth, timeout=10).raise_for_status()
    stop = threading.Event()
    writers = [Writer(n, srv, db, stop) for n in range(WRITERS)]
    rng = random.Random(7)
    started = time.monotonic()
    for w in writers:
        w.start()
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(*UP_FOR_S))
            srv.restart()  # SIGKILL to the whole process group, then start on the same store
        time.sleep(UP_FOR_S[1])
    finally:
        stop.set()
        for w in writers:
            w.join(30)
    assert not [w.failure for w in writers if w.failure], [w.failure for w in writers]

    docs = {d.id: d for w in writers for d in w.docs.values()}
    acked = [(d.id, rev, body) for d in docs.values() for rev, body in d.acked]
    in_doubt = sum(w.in_doubt for w in writers)
    print(f"\n{store_kind}: {KILLS} kills in {time.monotonic() - started:.0f} s, {len(acked)} acknowledged writes "
          f"to {sum(1 for d in docs.values() if d.acked)} documents, {in_doubt} requests in doubt")
    assert len(acked) > 20 * KILLS, "too few writes were acknowledged for the test to mean much"

    s = requests.Session()
    s.auth = srv.auth
    # 1. Every acknowledged write reads back intact: that rev, that body.
    lost = []
    for i in range(0, len(acked), 200):
        part = acked[i:i + 200]
        r = s.post(f"{srv.url}/{db}/_bulk_get", json={"docs": [{"id": d, "rev": rev} for d, rev, _ in part]},
                   timeout=60)
        assert r.status_code == 200, r.text[:500]
        results = r.json()["results"]
        assert [x["id"] for x in results] == [d for d, _, _ in part]
        for (doc_id, rev, body), result in zip(part, results):
            got = result["docs"][0].get("ok")
            if got is None or got["_rev"] != rev or {k: v for k, v in got.items() if not k.startswith("_")} != body:
                lost.append((doc_id, rev, result["docs"][0]))
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged writes are lost or changed, e.g. {lost[:3]}"

    # 2. The changes feed lists each document once, and agrees with _all_docs and doc_count.
    feed = s.get(f"{srv.url}/{db}/_changes", timeout=60).json()["results"]
    ids = [row["id"] for row in feed]
    assert not duplicates(ids), f"documents more than once in the changes feed: {duplicates(ids)}"
    assert {doc_id for doc_id, _, _ in acked} <= set(ids)
    all_ids = [row["id"] for row in s.get(f"{srv.url}/{db}/_all_docs", timeout=60).json()["rows"]]
    assert sorted(all_ids) == sorted(ids)
    assert s.get(f"{srv.url}/{db}", timeout=10).json()["doc_count"] == len(ids)
    assert set(ids) <= set(docs), "the store has documents no writer wrote"

    # 3. Nothing duplicated, in doubt or not: every stored document has one leaf (no writer ever
    # branched), and its history holds each of its revs, acknowledged ones included, exactly once.
    for doc_id in ids:
        r = s.get(f"{srv.url}/{db}/{doc_id}", params={"revs": "true", "open_revs": qs_json("all")},
                  headers={"Accept": "application/json"}, timeout=30)
        assert r.status_code == 200, r.text[:300]
        leaves = [x["ok"] for x in r.json() if "ok" in x]
        assert len(leaves) == 1, f"{doc_id}: {len(leaves)} leaves, the writer never branched: {leaves}"
        history = leaves[0]["_revisions"]
        revs = [f"{history['start'] - i}-{rid}" for i, rid in enumerate(history["ids"])]
        assert not duplicates(revs), f"{doc_id}: revisions more than once in its history: {duplicates(revs)}"
        missing = [rev for rev, _ in docs[doc_id].acked if rev not in revs]
        assert not missing, f"{doc_id}: acknowledged revs not in its history: {missing}"
        assert len(revs) <= docs[doc_id].attempts, (
            f"{doc_id}: {len(revs)} revisions from {docs[doc_id].attempts} writes: a write was applied twice")
