"""A province deployment as separate hosts (network namespaces, see network.py):

    phones ──► proxy (nginx, docker/nginx/paicha.conf) ──► web1, web2 (python -m server serve,
               + flask scheduler run on each)  ──► pg1 (PostgreSQL primary) ══sync══► pg2 (standby)

The web hosts reach PostgreSQL with libpq's multi-host URL (`host=pg1,pg2`,
`target_session_attrs=read-write`): after the standby is promoted they find it on their own.
Everything runs from the repository's .venv and Debian's nginx and PostgreSQL 15 binaries.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from support import ARTIFACTS_DIR, REPO_ROOT

from .network import Network

PG_BIN = Path(os.environ.get("PAICHA_DRILL_PG_BIN", "/usr/lib/postgresql/15/bin"))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ADMIN_PASSWORD = "drill-admin-pw"
PYTHON = str(REPO_ROOT / ".venv" / "bin" / "python")
FLASK = str(REPO_ROOT / ".venv" / "bin" / "flask")
# The phones' moment: the store's clock stands still, so every run writes the same dates.
CLOCK = "2026-11-20T09:00:00+08:00!"


def missing_tools() -> str | None:
    if os.geteuid() != 0:
        return "the drills make network namespaces: run them as root"
    for tool in (PG_BIN / "initdb", PG_BIN / "pg_basebackup", Path(NGINX)):
        if not tool.exists():
            return f"{tool} is missing (`make drills` installs nginx and PostgreSQL when root)"
    return None


def wait_until(check, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - waiting for something to come up
            last = exc
        time.sleep(every)
    raise TimeoutError(f"{what} not after {timeout} s (last: {last!r})")


class Postgres:
    """One PostgreSQL 15 cluster on its host, as the `postgres` user, in a directory of its own."""

    def __init__(self, net: Network, host: str, base: Path):
        self.net, self.host = net, host
        self.dir = base / host
        self.dir.mkdir(mode=0o700)
        shutil.chown(self.dir, "postgres", "postgres")
        self.proc: subprocess.Popen | None = None
        self.log = ARTIFACTS_DIR / f"drill-{net.tag}-{host}.log"

    @property
    def address(self) -> str:
        return self.net.address(self.host)

    def _as_postgres(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        done = self.net.run(self.host, ["runuser", "-u", "postgres", "--", *argv], **kwargs)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} on {self.host}: {done.stderr or done.stdout}")
        return done

    def init_primary(self) -> None:
        self._as_postgres([str(PG_BIN / "initdb"), "-D", str(self.dir), "-U", "postgres", "-A", "trust",
                           "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8"])
        with open(self.dir / "postgresql.conf", "a") as conf:
            conf.write(f"\nlisten_addresses = '{self.address}'\nport = 5432\nunix_socket_directories = ''\n"
                       "wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n"
                       "synchronous_commit = on\n"
                       "max_connections = 300\nshared_buffers = 64MB\nfsync = off\n")
        with open(self.dir / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {self.net.subnet}.0/24 trust\n"
                      f"host replication all {self.net.subnet}.0/24 trust\n")

    def init_standby(self, primary: "Postgres") -> None:
        self._as_postgres([str(PG_BIN / "pg_basebackup"), "-h", primary.address, "-U", "postgres",
                           "-D", str(self.dir), "-R", "-X", "stream", "-c", "fast", "--no-sync"])
        with open(self.dir / "postgresql.auto.conf", "a") as conf:
            conf.write(f"listen_addresses = '{self.address}'\n"
                       f"primary_conninfo = 'host={primary.address} user=postgres application_name=standby'\n"
                       # Once promoted it runs alone until a new standby is built.
                       "synchronous_standby_names = ''\n")

    def start(self) -> "Postgres":
        with open(self.log, "ab") as log:
            self.proc = self.net.popen(self.host, ["runuser", "-u", "postgres", "--", str(PG_BIN / "postgres"),
                                                   "-D", str(self.dir)], stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: self.net.run(self.host, [str(PG_BIN / "pg_isready"), "-h", self.address,
                                                    "-q"]).returncode == 0, 60, f"PostgreSQL on {self.host}")
        return self

    def kill(self) -> None:
        """SIGKILL to the postmaster and every backend at once: the host is gone."""
        if self.proc is not None:
            Network.kill(self.proc)

    def psql(self, sql: str, db: str = "postgres", user: str = "postgres") -> str:
        done = subprocess.run([str(PG_BIN / "psql"), "-h", self.address, "-U", user, "-d", db, "-X", "-A", "-t",
                               "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"psql on {self.host}: {done.stderr}")
        return done.stdout.strip()

    def promote(self) -> None:
        self._as_postgres([str(PG_BIN / "pg_ctl"), "promote", "-w", "-D", str(self.dir)])
        wait_until(lambda: self.psql("SELECT pg_is_in_recovery()") == "f", 30, f"{self.host} promoted")


class WebHost:
    """Paicha's web server (gunicorn, 2 workers) and the calendar's scheduler on one host."""

    def __init__(self, net: Network, host: str, database_url: str, env: dict | None = None):
        self.net, self.host, self.database_url = net, host, database_url
        self.extra_env = dict(env or {})
        self.root = REPO_ROOT  # the version it runs: a directory with server/, sync/, schemas/, mobile_api/
        self.server: subprocess.Popen | None = None
        self.scheduler: subprocess.Popen | None = None
        self.log = ARTIFACTS_DIR / f"drill-{net.tag}-{host}.log"

    @property
    def url(self) -> str:
        return f"http://{self.net.address(self.host)}:5984"

    def environment(self) -> dict:
        env = dict(os.environ)
        env.update({"DATABASE_URL": self.database_url, "PAICHA_ADMIN_PASSWORD": ADMIN_PASSWORD,
                    "PAICHA_DEMO": "0", "PAICHA_SCHEDULER": "external", "WEB_WORKERS": "2",
                    "WEB_THREADS": "24", "PAICHA_CLOCK": CLOCK, "PYTHONUNBUFFERED": "1", "FLASK_APP": "server",
                    "PAICHA_CALENDAR_START": "2026-11-01"})
        if self.root != REPO_ROOT:
            env["PYTHONPATH"] = str(self.root)
        env.update(self.extra_env)
        return env

    def start(self, scheduler: bool = True) -> "WebHost":
        with open(self.log, "ab") as log:
            log.write(f"\n===== start {self.host}\n".encode())
            self.server = self.net.popen(self.host, [PYTHON, "-m", "server", "serve", "--host",
                                                     self.net.address(self.host), "--port", "5984"],
                                         cwd=self.root, env=self.environment(), stdout=log, stderr=subprocess.STDOUT)
            if scheduler:
                self.scheduler = self.net.popen(self.host, [FLASK, "scheduler", "run"], cwd=self.root,
                                                env=self.environment(), stdout=log, stderr=subprocess.STDOUT)
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 90) -> None:
        def ready():
            assert self.server.poll() is None, f"{self.host} exited; log {self.log}"
            return requests.get(self.url + "/_ready", timeout=2).status_code == 200
        wait_until(ready, timeout, f"{self.host} ready")

    def kill(self) -> None:
        for proc in (self.server, self.scheduler):
            if proc is not None:
                Network.kill(proc)

    def stop(self) -> None:
        """A graceful stop (SIGTERM): requests under way finish, as in a rolling upgrade."""
        for proc in (self.server, self.scheduler):
            if proc is not None:
                Network.kill(proc, signal.SIGTERM)

    def flask(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        done = self.net.run(self.host, [FLASK, *args], cwd=self.root, env=self.environment(), timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} on {self.host}: {done.stderr[-3000:]}")
        return done


class Proxy:
    """nginx with docker/nginx/paicha.conf as shipped, its upstream the web hosts, plain HTTP."""

    def __init__(self, net: Network, base: Path, upstreams: list[str]):
        self.net = net
        self.dir = base / "nginx"
        self.dir.mkdir()
        site = (REPO_ROOT / "docker" / "nginx" / "paicha.conf").read_text()
        assert "server 127.0.0.1:5984;" in site
        servers = "\n    ".join(f"server {u} max_fails=1 fail_timeout=5s;" for u in upstreams)
        site = site.replace("server 127.0.0.1:5984;", servers)
        site = "\n".join(line for line in site.splitlines() if not line.strip().startswith("server 127.0.0.1:5986"))
        site = "\n".join(f"    listen {net.address('proxy')}:80;" if line.strip().startswith("listen 443 ssl") else line
                         for line in site.splitlines()
                         if not line.strip().startswith(("ssl_", "listen [::]:443")))
        temp = " ".join(f"{kind}_temp_path {self.dir / kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                           "uwsgi", "scgi"))
        (self.dir / "nginx.conf").write_text(
            f"user root;\nworker_processes 2;\npid {self.dir / 'nginx.pid'};\nerror_log {self.dir / 'error.log'} warn;\n"
            "events { worker_connections 4096; }\n"
            f"http {{\naccess_log off;\n{temp}\n{site}\n}}\n")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.net.address('proxy')}"

    def start(self) -> "Proxy":
        check = self.net.run("proxy", [NGINX, "-t", "-p", str(self.dir), "-c", str(self.dir / "nginx.conf")])
        assert check.returncode == 0, check.stderr
        self.proc = self.net.popen("proxy", [NGINX, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"),
                                             "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_until(lambda: requests.get(self.url + "/_up", timeout=2).status_code == 200, 30, "nginx")
        return self


class Topology:
    """The whole deployment, started in order; `close()` takes everything down, even half-built."""

    def __init__(self, web_hosts: int = 2):
        self.web_names = [f"web{n + 1}" for n in range(web_hosts)]
        self.net = Network.create(["proxy", *self.web_names, "pg1", "pg2", "phones"])
        self.base = Path(tempfile.mkdtemp(prefix=f"paicha-drill-{self.net.tag}-"))
        os.chmod(self.base, 0o755)  # the postgres user reaches its directories
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        self.pg1 = Postgres(self.net, "pg1", self.base)
        self.pg2 = Postgres(self.net, "pg2", self.base)
        self.webs: list[WebHost] = []
        self.proxy: Proxy | None = None

    @property
    def database_url(self) -> str:
        hosts = f"{self.net.address('pg1')},{self.net.address('pg2')}"
        return f"postgresql+psycopg://paicha@/paicha?host={hosts}&target_session_attrs=read-write&connect_timeout=3"

    def console_url(self, host: str = "pg1") -> str:
        """The store as the operator's console reaches the current primary."""
        return f"postgresql+psycopg://paicha@{self.net.address(host)}:5432/paicha"

    def start(self) -> "Topology":
        self.pg1.init_primary()
        self.pg1.start()
        self.pg1.psql("CREATE ROLE paicha LOGIN")
        self.pg1.psql("CREATE DATABASE paicha OWNER paicha")
        self.pg1.psql("GRANT EXECUTE ON FUNCTION pg_control_system(), pg_control_checkpoint() TO paicha")
        self.pg2.init_standby(self.pg1)
        self.pg2.start()
        # From now on a write is acknowledged once the standby has it: losing the primary loses none.
        self.pg1.psql("ALTER SYSTEM SET synchronous_standby_names = 'standby'")
        self.pg1.psql("SELECT pg_reload_conf()")
        wait_until(lambda: self.pg1.psql("SELECT sync_state FROM pg_stat_replication") == "sync", 30,
                   "the standby in sync")
        self.webs = [WebHost(self.net, name, self.database_url) for name in self.web_names]
        # The first host migrates the store; the others start together (the migration lock).
        self.webs[0].start()
        for web in self.webs[1:]:
            web.start()
        self.proxy = Proxy(self.net, self.base, [f"{self.net.address(w)}:5984" for w in self.web_names]).start()
        return self

    def close(self) -> None:
        try:
            self.net.close()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
