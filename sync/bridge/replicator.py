"""One direction of a replication, as CouchDB's replicator does it.

    read both checkpoints (`_local/<replication id>` on source and target) -> since
    loop:  source _changes?since&style=all_docs&limit     (longpoll once caught up, if continuous)
           target _revs_diff                              which leaf revisions are missing
           source _bulk_get / open_revs (revs, attachments, atts_since = possible ancestors)
           target _bulk_docs new_edits=false              revisions as they are: conflicts kept
           checkpoint last_seq on the target, then on the source

Writing revisions with their history (`_revisions`) and new_edits=false is idempotent, and
`_revs_diff` skips what the target already has, so a batch interrupted anywhere (either side
restarting, the bridge killed) is simply done again from the last checkpoint: nothing is written
twice, nothing is skipped. The checkpoints of both sides carry a session history, so a side that lost
its checkpoint (restored from an older backup) sends the replication back to the last session both
remember, not past it.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, ContextManager

from .errors import BridgeError, PeerRefused, RequestRejected

log = logging.getLogger("sync.bridge")

REPLICATOR = "paicha-bridge"
PROTOCOL_VERSION = 1
HISTORY = 5
REFUSED_ERRORS = frozenset({"forbidden", "unauthorized"})


class Stopped(Exception):
    """The stop event was set while waiting to retry."""


@dataclass
class Stats:
    direction: str
    changes_read: int = 0  # change rows seen on the source
    revs_missing: int = 0  # leaf revisions the target lacked
    docs_written: int = 0  # revisions written to the target
    docs_refused: int = 0  # refused: outside the scope, or by the target's rules
    docs_failed: int = 0  # other per-document failures (gone from the source, malformed, too large)
    design_skipped: int = 0  # _design documents are not replicated
    batches: int = 0
    retries: int = 0
    start_seq: object = None
    last_seq: object = None

    def line(self) -> str:
        return (f"{self.direction}: {self.changes_read} changes read, {self.docs_written} revisions written, "
                f"{self.docs_refused} refused, {self.docs_failed} failed (from seq {_short(self.start_seq)} "
                f"to {_short(self.last_seq)})")


@dataclass
class BatchReport:
    direction: str
    changes: int
    written: int
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # (id, rev, reason)
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    last_seq: object = None


def _short(seq) -> str:
    text = json.dumps(seq) if not isinstance(seq, str) else seq
    return text if len(text) <= 24 else text[:21] + "..."


def replication_id(source, target, scope: str | None) -> str:
    material = json.dumps([REPLICATOR, PROTOCOL_VERSION, source.identity(), target.identity(), scope or ""])
    return hashlib.md5(material.encode("utf-8")).hexdigest()


def common_checkpoint(src: dict | None, tgt: dict | None) -> tuple[object, list]:
    """Where to resume, from the two checkpoint documents (PouchDB's compareReplicationLogs)."""
    if tgt and tgt.get("source_read_only"):
        return tgt.get("last_seq", 0), list(tgt.get("history") or [])
    if not src or not tgt:
        return 0, []
    if src.get("session_id") and src.get("session_id") == tgt.get("session_id"):
        # Same session: the source is written second, so its seq is never ahead of the target's.
        return src.get("last_seq", 0), list(src.get("history") or [])
    target_sessions = {h.get("session_id") for h in tgt.get("history") or []}
    history = list(src.get("history") or [])
    for i, entry in enumerate(history):
        if entry.get("session_id") in target_sessions:
            return entry.get("last_seq", 0), history[i:]
    return 0, []


class Replication:
    """Replicate `source` into `target` (peers, see `peer.py`), once or continuously."""

    def __init__(self, source, target, *, direction: str, scope: str | None = None, batch_size: int = 100,
                 continuous: bool = False, stop: threading.Event | None = None, pause: float = 0.0,
                 retries: int = 5, longpoll: float = 25.0, max_request_bytes: int = 4 * 1024 * 1024,
                 on_batch: Callable[[BatchReport], None] | None = None):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.source = source
        self.target = target
        self.direction = direction
        self.scope = scope or None
        self.batch_size = batch_size
        self.continuous = continuous
        self.stop = stop or threading.Event()
        self.pause = pause
        self.retries = retries
        self.longpoll = longpoll
        self.max_request_bytes = max_request_bytes
        self.on_batch = on_batch
        self.stats = Stats(direction)
        self.session_id = uuid.uuid4().hex
        self.rep_id: str | None = None
        self.since: object = 0
        self._history: list = []
        self._revs: dict[str, str | None] = {"source": None, "target": None}
        self._source_read_only = False

    # -- running ----------------------------------------------------------------------------------
    def run(self) -> Stats:
        try:
            self._retrying(self._start)
            caught_up = False
            while not self.stop.is_set():
                wait = self.longpoll if (self.continuous and caught_up) else None
                changes = self._retrying(partial(self.source.changes, self.since, self.batch_size, wait))
                if self.stop.is_set():
                    break  # asked to stop while waiting: the batch is redone next time
                if changes.results:
                    report = self._retrying(partial(self._replicate, changes.results))
                else:
                    report = None
                if changes.last_seq != self.since:
                    self._retrying(partial(self._checkpoint, changes.last_seq))
                    self.since = changes.last_seq
                    self.stats.last_seq = self.since
                if report is not None:
                    report.last_seq = self.since
                    self.stats.batches += 1
                    if self.on_batch:
                        self.on_batch(report)
                caught_up = (changes.pending == 0) if changes.pending is not None \
                    else len(changes.results) < self.batch_size
                if caught_up and not self.continuous:
                    break
                if self.pause and changes.results:
                    self.stop.wait(self.pause)
        except Stopped:
            pass
        return self.stats

    def _retrying(self, step):
        delay, attempts = 1.0, 0
        while True:
            try:
                return step()
            except BridgeError as exc:
                if not exc.transient:
                    raise
                attempts += 1
                self.stats.retries += 1
                if not self.continuous and attempts > self.retries:
                    raise
                log.warning("%s: %s; retrying in %.0fs", self.direction, exc, delay)
                if self.stop.wait(delay):
                    raise Stopped() from None
                delay = min(delay * 2, 60.0)

    # -- checkpoints ------------------------------------------------------------------------------
    def _start(self) -> None:
        self.rep_id = replication_id(self.source, self.target, self.scope)
        try:
            src = self.source.get_checkpoint(self.rep_id)
        except PeerRefused:
            src, self._source_read_only = None, True
        tgt = self.target.get_checkpoint(self.rep_id)
        self._revs = {"source": (src or {}).get("_rev"), "target": (tgt or {}).get("_rev")}
        self._source_read_only = self._source_read_only or bool((tgt or {}).get("source_read_only"))
        self.since, self._history = common_checkpoint(src, tgt)
        self.stats.start_seq = self.stats.last_seq = self.since
        log.info("%s %s -> %s: replication %s resumes at seq %s", self.direction, self.source.label,
                 self.target.label, self.rep_id, _short(self.since))

    def _checkpoint(self, seq) -> None:
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        entry = {"session_id": self.session_id, "last_seq": seq, "recorded_at": now}
        history = [entry] + [h for h in self._history if h.get("session_id") != self.session_id][:HISTORY - 1]
        body = {
            "replicator": REPLICATOR, "version": PROTOCOL_VERSION, "session_id": self.session_id,
            "last_seq": seq, "history": history, "source": self.source.label, "target": self.target.label,
            "scope": self.scope, "source_read_only": self._source_read_only,
        }
        self._put("target", self.target, body)
        if not self._source_read_only:
            try:
                self._put("source", self.source, body)
            except PeerRefused as exc:
                log.warning("%s: cannot write the checkpoint on the source (%s): resuming from the "
                            "target's checkpoint only", self.direction, exc)
                self._source_read_only = True
                self._put("target", self.target, {**body, "source_read_only": True})
        self._history = history

    def _put(self, side: str, peer, body: dict) -> None:
        for attempt in range(2):
            doc = dict(body)
            if self._revs[side]:
                doc["_rev"] = self._revs[side]
            try:
                self._revs[side] = peer.put_checkpoint(self.rep_id, doc)
                return
            except RequestRejected as exc:
                if exc.status != 409 or attempt:
                    raise
                # Someone else (another bridge on the same pair) moved it: take its rev, ours wins.
                self._revs[side] = (peer.get_checkpoint(self.rep_id) or {}).get("_rev")

    # -- one batch ----------------------------------------------------------------------------------
    def _replicate(self, results: list[dict]) -> BatchReport:
        report = BatchReport(self.direction, changes=len(results), written=0)
        revs: dict[str, list[str]] = {}
        for change in results:
            doc_id = change.get("id")
            if not isinstance(doc_id, str):
                continue
            if doc_id.startswith("_design/"):
                self.stats.design_skipped += 1
                continue
            leaves = revs.setdefault(doc_id, [])
            leaves.extend(c["rev"] for c in change.get("changes") or [] if c.get("rev") not in leaves)
        diff = self.target.revs_diff(revs)
        wanted = []
        for doc_id, entry in diff.items():
            for rev in entry.get("missing") or []:
                item = {"id": doc_id, "rev": rev}
                if entry.get("possible_ancestors"):
                    item["atts_since"] = entry["possible_ancestors"]
                wanted.append(item)
        docs, fetch_errors = self.source.fetch(wanted)
        for err in fetch_errors:
            # Gone from the source between _changes and now (compacted, purged): nothing to copy.
            log.info("%s: %s %s not fetched: %s", self.direction, err.get("id"), err.get("rev"), err.get("error"))
        admitted = []
        for doc in docs:
            reason = self.target.admit(doc)
            if reason:
                # Routine for a scoped bridge (most of a hub is someone else's): debug, not info.
                log.debug("%s: not admitted %s %s: %s", self.direction, doc.get("_id"), doc.get("_rev"), reason)
                report.refused.append((doc.get("_id"), doc.get("_rev"), reason))
            else:
                admitted.append(doc)
        failures = self._write(admitted)
        for doc, err in failures:
            entry = (doc.get("_id"), doc.get("_rev"), f"{err.get('error')}: {err.get('reason')}")
            if err.get("error") in REFUSED_ERRORS:  # the target's rules said no (quarantined, if Paicha)
                log.info("%s: refused %s %s: %s", self.direction, *entry)
                report.refused.append(entry)
            else:
                log.warning("%s: could not write %s %s: %s", self.direction, *entry)
                report.failed.append(entry)
        report.written = len(admitted) - len(failures)
        self.stats.changes_read += len(results)
        self.stats.revs_missing += len(wanted)
        self.stats.docs_written += report.written
        self.stats.docs_refused += len(report.refused)
        self.stats.docs_failed += len(report.failed)
        return report

    def _write(self, docs: list[dict]) -> list[tuple[dict, dict]]:
        """Write in requests of bounded size; a request refused whole is retried doc by doc.
        Returns (doc, error entry) for each revision not written."""
        failures: list[tuple[dict, dict]] = []
        for chunk in self._chunks(docs):
            by_key = {(d.get("_id"), d.get("_rev")): d for d in chunk}
            try:
                errors = self.target.write(chunk)
            except RequestRejected:
                errors = []
                for doc in chunk:
                    try:
                        errors.extend(self.target.write([doc]))
                    except RequestRejected as exc:
                        errors.append({"id": doc.get("_id"), "rev": doc.get("_rev"),
                                       "error": exc.error or "bad_request", "reason": str(exc)})
            for err in errors:
                doc = by_key.get((err.get("id"), err.get("rev"))) or next(
                    (d for d in chunk if d.get("_id") == err.get("id")), {"_id": err.get("id"), "_rev": err.get("rev")})
                failures.append((doc, err))
        return failures

    def _chunks(self, docs: list[dict]):
        chunk, size = [], 0
        for doc in docs:
            doc_size = len(json.dumps(doc, separators=(",", ":")))
            if chunk and size + doc_size > self.max_request_bytes:
                yield chunk
                chunk, size = [], 0
            chunk.append(doc)
            size += doc_size
        if chunk:
            yield chunk


def run_all(replications: list[Replication], *, continuous: bool,
            thread_context: Callable[[], ContextManager] | None = None, grace: float = 5.0) -> list[Stats]:
    """Run one-shot replications one after the other, in this thread; continuous ones each in a
    daemon thread of its own until their (shared) stop event is set or one fails (which stops all).

    A continuous replication may be blocked in a long poll when asked to stop: it gets `grace`
    seconds to finish its batch, then is left behind (safe: an unfinished batch is redone from the
    last checkpoint next time)."""
    if not continuous:
        return [rep.run() for rep in replications]
    failure: list[BaseException] = []

    def work(rep: Replication):
        try:
            with (thread_context() if thread_context else contextlib.nullcontext()):
                rep.run()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            failure.append(exc)
            for other in replications:
                other.stop.set()

    threads = [threading.Thread(target=work, args=(rep,), name=f"bridge-{rep.direction}", daemon=True)
               for rep in replications]
    for t in threads:
        t.start()
    stops = {id(rep.stop): rep.stop for rep in replications}
    while any(t.is_alive() for t in threads) and not any(ev.is_set() for ev in stops.values()):
        time.sleep(0.2)
    deadline = time.monotonic() + grace
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    left = [t.name for t in threads if t.is_alive()]
    if left:
        log.info("stopping: left %s waiting on the network", ", ".join(left))
    if failure:
        raise failure[0]
    return [rep.stats for rep in replications]
