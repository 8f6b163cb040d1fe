"""A phone: PouchDB (pouchdb-node, leveldb in its own directory) driven through tests/node/device.js.

A phone is one long-lived Node process (`device.js --serve`), started at its first command and
taking one command per line; the directory keeps the database. `switch_off()` ends the process (as
does killing a running command, or a command over its time); the next command starts a fresh one,
which opens the directory's database again, like a phone switched off and on.
"""
from __future__ import annotations

import atexit
import base64
import collections
import itertools
import json
import queue
import subprocess
import threading
import time
from pathlib import Path

from . import NODE_DIR, NODE_MODULES

DEVICE_JS = NODE_DIR / "device.js"


class DeviceError(RuntimeError):
    """A device command failed: `payload` is its JSON ({"error", "reason", ...}), `returncode` its
    exit (0 ok, 1 failed, 2 usage; negative: the phone's process was killed)."""

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


_ENDED = object()  # the phone's process ended before the command did


class _Phone:
    """One `device.js --serve` process: sends commands, routes each answer line to its command."""

    def __init__(self, launcher: tuple[str, ...] = ()):
        # launcher: what runs Node elsewhere (the drills: `ip netns exec <phones' host>`)
        self.proc = subprocess.Popen([*launcher, "node", str(DEVICE_JS), "--serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     encoding="utf-8", bufsize=1)
        self.stderr: collections.deque[str] = collections.deque(maxlen=400)
        self._ids = itertools.count(1)
        self._calls: dict[int, queue.Queue] = {}
        self._lock = threading.Lock()
        self._ended = False
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        _running_phones.add(self)

    def alive(self) -> bool:
        return not self._ended and self.proc.poll() is None

    def send(self, command: str, args: dict) -> tuple[int, queue.Queue]:
        """Start a command; its answers ({"event"}, then {"exit", "body"}) arrive on the queue."""
        answers: queue.Queue = queue.Queue()
        line = json.dumps({"id": 0, "command": command, "args": args})
        with self._lock:
            call_id = next(self._ids)
            if self._ended:
                answers.put(_ENDED)
                return call_id, answers
            self._calls[call_id] = answers
            try:
                self.proc.stdin.write(line.replace('"id": 0', f'"id": {call_id}', 1) + "\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                pass  # the process is gone: the reader thread ends the command
        return call_id, answers

    def forget(self, call_id: int) -> None:
        with self._lock:
            self._calls.pop(call_id, None)

    def _read_stdout(self):
        for line in self.proc.stdout:
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError:
                self.stderr.append(f"(stdout, not JSON) {line}")
                continue
            with self._lock:
                answers = self._calls.get(message.get("id"))
                if answers is not None and "exit" in message:
                    del self._calls[message["id"]]
            if answers is not None:
                answers.put(message)
        self.proc.wait()
        with self._lock:
            self._ended = True
            pending, self._calls = list(self._calls.values()), {}
        for answers in pending:
            answers.put(_ENDED)
        _running_phones.discard(self)

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    def stderr_tail(self) -> str:
        return "".join(self.stderr)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self, timeout: float = 5.0) -> None:
        """Switch off: end of stdin; killed if it does not leave at once."""
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


_running_phones: set[_Phone] = set()  # switched off at the end of the session at the latest
_spare: _Phone | None = None
_spare_lock = threading.Lock()


def _phone_process() -> _Phone:
    """A phone's process, already started: the spare begun at the previous call (Node and PouchDB
    load while the test goes on), and a new spare for the next call."""
    global _spare
    with _spare_lock:
        phone, _spare = _spare, _Phone()
    return phone if phone is not None and phone.alive() else _Phone()


@atexit.register
def _switch_off_every_phone() -> None:
    for phone in list(_running_phones):
        phone.kill()


class Running:
    """A device command running in the background with {"stream": true}: events arrive as they happen."""

    def __init__(self, command: str, device: "Device", phone: _Phone, call_id: int, answers: queue.Queue):
        self.command = command
        self.device = device
        self.phone = phone
        self.call_id = call_id
        self.events: list[dict] = []
        self._answers = answers
        self._final: dict | None = None
        self._exit: int | None = None
        self._cursor = 0

    def _next(self, timeout: float):
        """The next event, or None once the command ended (its final answer is then kept)."""
        if self._exit is not None:
            return None
        message = self._answers.get(timeout=timeout)
        if message is _ENDED:
            code = self.phone.proc.wait()
            self._exit = code if code else -9  # switched off before it answered
            return None
        if "exit" in message:
            self._exit, self._final = message["exit"], message.get("body")
            return None
        event = message["event"]
        self.events.append(event)
        return event

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
                event = self._next(left)
            except queue.Empty:
                continue
            if event is None:
                raise RuntimeError(f"device {self.command} ended (exit {self._exit}) before the "
                                   f"event; final: {self._final}; stderr: {self.phone.stderr_tail()[-2000:]}")
            if predicate(event):
                return event

    def next_event(self, timeout: float = 60.0) -> dict | None:
        """The next event not yet returned by next_event (in order); None once the command ended."""
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
        """The final JSON (waits for the command to end); DeviceError on a non-zero exit if check.
        A command still running after `timeout` is killed with its phone (TimeoutError)."""
        deadline = time.monotonic() + timeout
        while self._exit is None:
            try:
                self._next(max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise TimeoutError(f"device {self.command} still running after {timeout}s")
        final = self._final or {"error": "no_output", "reason": "device printed no result"}
        if check and self._exit != 0:
            raise DeviceError(self.command, self._exit, final, self.phone.stderr_tail())
        return final

    @property
    def returncode(self) -> int | None:
        """None while running; then 0 (done), 1 (failed), or negative (the phone was killed)."""
        return self._exit

    def kill(self):
        """Stop the command if it still runs: the phone is switched off (its process killed)."""
        if self._exit is None:
            self.device.switch_off(kill=True, phone=self.phone)
            while self._exit is None:
                self._next(30)
        self.phone.forget(self.call_id)


class Device:
    """One phone. `auth` ({"username", "password"}) is sent with every replication."""

    def __init__(self, directory: Path, *, auth: dict | None = None, name: str = "phone",
                 timeout: float = 240.0, device_id: str | None = None):
        self.dir = Path(directory)
        self.device_id = device_id  # sent as X-Paicha-Device on every request to a server
        self.dir.mkdir(parents=True, exist_ok=True)
        self.auth = auth
        self.name = name
        self.timeout = timeout
        self._phone: _Phone | None = None
        self._phone_lock = threading.Lock()

    def __repr__(self):
        return f"<Device {self.name} {self.dir}>"

    # -- power -------------------------------------------------------------------------------------
    def switch_on(self) -> _Phone:
        """The phone's running process (a new one, opening the database again, if it was off)."""
        with self._phone_lock:
            if self._phone is None or not self._phone.alive():
                self._phone = _phone_process()
            return self._phone

    def switch_off(self, *, kill: bool = False, phone: _Phone | None = None) -> None:
        """End the phone's process (kill: at once, mid-command, like a battery pulled out).
        `phone`: only if that process is still the current one."""
        with self._phone_lock:
            current = self._phone
            if current is None or (phone is not None and phone is not current):
                return
            self._phone = None
        current.kill() if kill else current.close()

    def restart(self) -> None:
        """Switch the phone off and on again: the next command opens its database afresh."""
        self.switch_off()
        self.switch_on()

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
        if self.device_id and "device_id" not in full:
            full["device_id"] = self.device_id
        return full

    def _send(self, command: str, full: dict) -> Running:
        phone = self.switch_on()
        call_id, answers = phone.send(command, full)
        return Running(command, self, phone, call_id, answers)

    def run(self, command: str, args: dict | None = None, *, check: bool = True) -> dict:
        """Run one command to the end; its JSON. Raises DeviceError on failure if check."""
        full = self._args(args or {})
        running = self._send(command, full)
        try:
            payload = running.result(timeout=full["timeout"] + 30, check=check)
        except TimeoutError:
            raise subprocess.TimeoutExpired(f"device {command}", full["timeout"] + 30) from None
        if not check:
            payload.setdefault("_exit", running.returncode)
        return payload

    def start(self, command: str, args: dict | None = None) -> Running:
        """Start a command in the background in stream mode (see Running)."""
        return self._send(command, self._args({**(args or {}), "stream": True}))

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

    def upload_revision(self, remote: str, doc_id: str, check: bool = True, **opts) -> dict:
        """Send `doc_id`'s current revision with its photos over the resumable upload path, as the
        field app does (tests/node/lib/field_app.js): {ok, already_held, body_bytes, sent, retries, follows}."""
        return self.run("upload_revision", self._remote_args(remote, {"doc_id": doc_id, **opts}), check=check)

    def send_revisions(self, remote: str, doc_ids: list[str], check: bool = True) -> dict:
        """Send these documents' current revisions in one compressed `_bulk_docs` (new_edits=false),
        as the field app does for a round's small documents: {ok, written, refused, body_bytes}."""
        return self.run("send_revisions", self._remote_args(remote, {"doc_ids": doc_ids}), check=check)
