"""A phone: PouchDB (pouchdb-node, leveldb in its own directory) driven through tests/node/device.js.

Each call is one Node process; the directory keeps the database between calls, like a phone that is
switched off and on. Do not run two commands on one device at the same time (leveldb locks its dir).
"""
from __future__ import annotations

import base64
import json
import queue
import subprocess
import threading
import time
from pathlib import Path

from . import NODE_DIR, NODE_MODULES

DEVICE_JS = NODE_DIR / "device.js"


class DeviceError(RuntimeError):
    """The Node CLI failed: `payload` is its JSON ({"error", "reason", ...}), `returncode` its exit."""

    def __init__(self, command: str, returncode: int, payload: dict, stderr: str = ""):
        self.command = command
        self.returncode = returncode
        self.payload = payload
        self.stderr = stderr
        super().__init__(f"device {command} failed (exit {returncode}): "
                         f"{json.dumps(payload)[:2000]}\n{stderr[-2000:]}")

    @property
    def error(self) -> str | None:
        return self.payload.get("error")


def node_ready() -> str | None:
    """None when the Node side is installed, else what is missing."""
    if not (NODE_MODULES / "pouchdb-node").is_dir():
        return f"{NODE_MODULES} is missing pouchdb-node"
    return None


class Running:
    """A device command running in the background with {"stream": true}: events arrive as they happen."""

    def __init__(self, command: str, proc: subprocess.Popen):
        self.command = command
        self.proc = proc
        self.events: list[dict] = []
        self._lines: queue.Queue = queue.Queue()
        self._final: dict | None = None
        self._stderr: list[str] = []
        self._cursor = 0
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self):
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                obj = {"event": "unparsed", "data": line}
            self._lines.put(obj)
        self._lines.put(None)

    def _read_stderr(self):
        for line in self.proc.stderr:
            self._stderr.append(line)

    def _next(self, timeout: float):
        obj = self._lines.get(timeout=timeout)
        if obj is None:
            self._lines.put(None)  # keep the end marker for later readers
            return None
        if "event" in obj and "t" in obj:
            self.events.append(obj)
        else:
            self._final = obj
        return obj

    def wait_event(self, predicate, timeout: float = 60.0) -> dict:
        """The first event (already seen or new) for which predicate(event) is true."""
        for e in self.events:
            if predicate(e):
                return e
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching event from device {self.command} in {timeout}s; "
                                   f"events so far: {[e['event'] for e in self.events]}")
            try:
                obj = self._next(left)
            except queue.Empty:
                continue
            if obj is None:
                raise RuntimeError(f"device {self.command} ended (exit {self.proc.wait()}) before the "
                                   f"event; final: {self._final}; stderr: {''.join(self._stderr)[-2000:]}")
            if "t" in obj and predicate(obj):
                return obj

    def next_event(self, timeout: float = 60.0) -> dict | None:
        """The next event not yet returned by next_event (in order); None once the process ended."""
        deadline = time.monotonic() + timeout
        while self._cursor >= len(self.events):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no event from device {self.command} in {timeout}s")
            try:
                if self._next(left) is None:
                    return None
            except queue.Empty:
                continue
        self._cursor += 1
        return self.events[self._cursor - 1]

    def result(self, timeout: float = 120.0, check: bool = True) -> dict:
        """The final JSON (waits for the process to end); DeviceError on a non-zero exit if check."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                obj = self._next(max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.proc.kill()
                raise TimeoutError(f"device {self.command} still running after {timeout}s")
            if obj is None:
                break
        code = self.proc.wait()
        final = self._final or {"error": "no_output", "reason": "device printed no result"}
        if check and code != 0:
            raise DeviceError(self.command, code, final, "".join(self._stderr))
        return final

    @property
    def returncode(self):
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class Device:
    """One phone. `auth` ({"username", "password"}) is sent with every replication."""

    def __init__(self, directory: Path, *, auth: dict | None = None, name: str = "phone",
                 timeout: float = 240.0):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.auth = auth
        self.name = name
        self.timeout = timeout

    def __repr__(self):
        return f"<Device {self.name} {self.dir}>"

    # -- plumbing -----------------------------------------------------------------------------------
    def _args(self, args: dict) -> dict:
        full = {"dir": str(self.dir)}
        full.update({k: v for k, v in args.items() if v is not None})
        full.setdefault("timeout", self.timeout)
        return full

    def _remote_args(self, remote: str, args: dict) -> dict:
        full = {"remote": remote, **args}
        if self.auth and "auth" not in full:
            full["auth"] = self.auth
        return full

    def run(self, command: str, args: dict | None = None, *, check: bool = True) -> dict:
        """Run one CLI command to the end; its JSON. Raises DeviceError on failure if check."""
        full = self._args(args or {})
        proc = subprocess.run(["node", str(DEVICE_JS), command, "-"], input=json.dumps(full),
                              capture_output=True, text=True, timeout=full["timeout"] + 30)
        lines = [l for l in proc.stdout.splitlines() if l.strip()]
        try:
            payload = json.loads(lines[-1]) if lines else {}
        except ValueError:
            payload = {"error": "unparsed", "reason": proc.stdout[-2000:]}
        if check and proc.returncode != 0:
            raise DeviceError(command, proc.returncode, payload, proc.stderr)
        if not check:
            payload.setdefault("_exit", proc.returncode)
        return payload

    def start(self, command: str, args: dict | None = None) -> Running:
        """Start a command in the background in stream mode (see Running)."""
        full = self._args({**(args or {}), "stream": True})
        proc = subprocess.Popen(["node", str(DEVICE_JS), command, "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        proc.stdin.write(json.dumps(full))
        proc.stdin.close()
        return Running(command, proc)

    # -- the phone's own database --------------------------------------------------------------------
    def put(self, *docs: dict, new_edits: bool | None = None) -> list[dict]:
        """Write docs (bulkDocs); their results. Raises DeviceError if any doc failed."""
        res = self.run("put", {"docs": list(docs), "new_edits": new_edits})
        if not res["ok"]:
            raise DeviceError("put", 0, res)
        return res["results"]

    def generate(self, prefix: str, count: int, start: int = 0, fields: dict | None = None) -> None:
        """Write `count` docs `{prefix}-000000`...: {"_id", "n", **fields}."""
        res = self.run("put", {"generate": {"prefix": prefix, "count": count, "start": start,
                                            "fields": fields}, "quiet": True})
        if not res["ok"]:
            raise DeviceError("put", 0, res)

    def get(self, doc_id: str, **opts) -> dict:
        return self.run("get", {"id": doc_id, **opts})

    def get_or_none(self, doc_id: str, **opts) -> dict | None:
        try:
            return self.get(doc_id, **opts)
        except DeviceError as e:
            if e.payload.get("status") == 404:
                return None
            raise

    def remove(self, doc_id: str, rev: str | None = None) -> dict:
        return self.run("remove", {"id": doc_id, "rev": rev})

    def info(self) -> dict:
        return self.run("info")

    def all_docs(self, **opts) -> dict:
        """allDocs with include_docs and conflicts by default."""
        return self.run("all_docs", opts)

    def docs(self) -> dict[str, dict]:
        """{id: doc (with _conflicts when there are)} for every live doc."""
        return {row["id"]: row["doc"] for row in self.all_docs()["rows"]}

    def changes(self, **opts) -> dict:
        return self.run("changes", opts)

    def attachment(self, doc_id: str, name: str, rev: str | None = None, with_data: bool = False) -> dict:
        """{length, sha256, md5 ("md5-<base64>"), content_type, digest, data (base64 if with_data)}"""
        res = self.run("attachment", {"id": doc_id, "name": name, "rev": rev, "with_data": with_data})
        if with_data:
            res["bytes"] = base64.b64decode(res["data"])
        return res

    # -- replication -------------------------------------------------------------------------------
    def push(self, remote: str, check: bool = True, **opts) -> dict:
        """One-shot push; {"ok", "push": {docs_read, docs_written, ...}, "events", "replication_ids"}."""
        return self.run("push", self._remote_args(remote, opts), check=check)

    def pull(self, remote: str, check: bool = True, **opts) -> dict:
        return self.run("pull", self._remote_args(remote, opts), check=check)

    def sync(self, remote: str, check: bool = True, **opts) -> dict:
        """One-shot sync both ways; {"ok", "push": {...}, "pull": {...}, "events", ...}."""
        return self.run("sync", self._remote_args(remote, opts), check=check)

    def start_replication(self, direction: str, remote: str, **opts) -> Running:
        """push / pull / sync in the background, streaming its events (change, checkpoint, denied...)."""
        return self.start(direction, self._remote_args(remote, opts))

    def live(self, remote: str, *, seconds: float = 30, until: dict | None = None,
             put_when_paused: list | None = None, direction: str = "sync", **opts) -> Running:
        """Live sync in the background until `until` ({ids, revs, deleted}) holds on the phone or
        `seconds` pass; the result has "reached". An event "caught_up" marks the first idle moment."""
        return self.start("live", self._remote_args(remote, {
            "seconds": seconds, "until": until, "put_when_paused": put_when_paused,
            "direction": direction, **opts}))

    def replication_id(self, remote: str) -> dict:
        """{"push": "_local/...", "pull": "_local/..."}: the checkpoint doc ids PouchDB uses."""
        return self.run("replication_id", self._remote_args(remote, {}))
