"""The server under test as a subprocess: start on a free port, wait until ready, SIGKILL, restart.

The contract (nothing else is assumed about the server):
  <repo>/.venv/bin/python -m server serve --host 127.0.0.1 --port PORT     (cwd = repo root)
  env DATABASE_URL, PAICHA_ADMIN_PASSWORD (ensures account `admin`), PAICHA_DEMO=0
  ready when GET / answers 200 with JSON {"couchdb": "Welcome", ...}
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from . import ARTIFACTS_DIR, NODE_MODULES, REPO_ROOT


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120] or "server"


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


ADMIN_PASSWORD = "e2e-admin-pw"


class ServerNotReady(RuntimeError):
    pass


class ServerProcess:
    """Paicha's server, started as the contract says. Output (stdout and stderr) goes to a log file
    under tests/artifacts/ that survives the test run, for debugging."""

    admin_user = "admin"

    def __init__(self, database_url: str, *, admin_password: str = ADMIN_PASSWORD, port: int | None = None,
                 name: str = "server", env: dict | None = None, startup_timeout: float = 60.0):
        self.database_url = database_url
        self.admin_password = admin_password
        self.port = port or free_port()
        self.name = safe_name(name)
        self.extra_env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS_DIR / f"{self.name}-{self.port}.log"

    # -- what a subclass changes -------------------------------------------------------------------
    def command(self) -> list[str]:
        python = REPO_ROOT / ".venv" / "bin" / "python"
        return [str(python if python.exists() else sys.executable), "-m", "server", "serve",
                "--host", "127.0.0.1", "--port", str(self.port)]

    def environment(self) -> dict:
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": self.database_url,
            "PAICHA_ADMIN_PASSWORD": self.admin_password,
            "PAICHA_DEMO": "0",
            "PAICHA_SCHEDULER": "off",  # tests that need the calendar turn it on themselves
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.extra_env)
        return env

    def cwd(self) -> Path:
        return REPO_ROOT

    def is_welcome(self, body: dict) -> bool:
        return body.get("couchdb") == "Welcome"

    def after_ready(self) -> None:
        pass

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth(self) -> tuple[str, str]:
        return (self.admin_user, self.admin_password)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> "ServerProcess":
        if self.alive():
            raise RuntimeError(f"{self.name} is already running (pid {self.proc.pid})")
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(self.command())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.command(), cwd=self.cwd(), env=self.environment(),
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        try:
            self.wait_ready()
        except Exception:
            self.kill()
            raise
        self.after_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerNotReady(f"{self.name} exited with code {self.proc.returncode} before it was "
                                     f"ready; log {self.log_path}:\n{log_tail(self.log_path)}")
            try:
                r = requests.get(self.url + "/", timeout=2)
                if r.status_code == 200 and self.is_welcome(r.json()):
                    return
                last = f"{r.status_code} {r.text[:200]}"
            except (requests.RequestException, ValueError) as e:
                last = repr(e)
            time.sleep(0.1)
        raise ServerNotReady(f"{self.name} not ready after {self.startup_timeout}s (last: {last}); "
                             f"log {self.log_path}:\n{log_tail(self.log_path)}")

    def kill(self) -> None:
        """SIGKILL, no chance to flush or clean up: what a power cut does to the server."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=30)
        self._note(f"killed (SIGKILL), exit {self.proc.returncode}")

    def stop(self, timeout: float = 10.0) -> None:
        if not self.alive():
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._note(f"stopped, exit {self.proc.returncode}")

    def close(self) -> None:
        """End of a test: the process goes at once. A graceful stop costs ~2 s of gunicorn's shutdown
        (its worker's 1 s poll, then the kept-alive connections' linger), and no teardown reads
        anything from it; tests of a stop call `stop` or `kill` themselves."""
        if self.alive():
            self.kill()

    def restart(self, *, kill: bool = True) -> "ServerProcess":
        """Start again on the same port and database (killing first if it still runs)."""
        (self.kill if kill else self.stop)()
        deadline = time.monotonic() + 15
        while not port_free(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.start()

    def _note(self, text: str) -> None:
        with open(self.log_path, "ab") as log:
            log.write(f"===== {text}\n".encode())

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class PouchDBServerProcess(ServerProcess):
    """pouchdb-server (npm) as a stand-in CouchDB, to check the tests themselves: run the suite with
    PAICHA_E2E_SERVER=pouchdb-server. `database_url` is a directory for its leveldb files."""

    def command(self) -> list[str]:
        directory = Path(self.database_url)
        directory.mkdir(parents=True, exist_ok=True)
        return ["node", str(NODE_MODULES / "pouchdb-server" / "bin" / "pouchdb-server"),
                "--port", str(self.port), "--dir", str(directory),
                "--config", str(directory / "config.json"), "--no-stdout-logs"]

    def cwd(self) -> Path:
        return Path(self.database_url)  # it writes log.txt (and config.json) in its working dir

    def is_welcome(self, body: dict) -> bool:
        return "Welcome" in str(body.get("couchdb") or body.get("express-pouchdb") or "")

    def after_ready(self) -> None:
        # Leave the admin party: the admin account the contract asks for (kept in config.json).
        r = requests.get(self.url + "/_session", auth=self.auth, timeout=10)
        if r.status_code != 200 or r.json().get("userCtx", {}).get("name") != self.admin_user:
            r = requests.put(f"{self.url}/_config/admins/{self.admin_user}",
                             data=f'"{self.admin_password}"', timeout=10)
            r.raise_for_status()


# The suite runs against pouchdb-server instead of Paicha's server: a check of the tests themselves.
REFERENCE_RUN = os.environ.get("PAICHA_E2E_SERVER") == "pouchdb-server"

SERVER_KINDS = {"paicha": ServerProcess, "pouchdb-server": PouchDBServerProcess}
