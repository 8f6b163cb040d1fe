"""docker/: the compose file and the Dockerfile, checked without a Docker engine.

* The compose file is rendered with `docker compose config` when the compose plugin is installed,
  else parsed here (PyYAML) with the variables of docker/.env.example substituted as compose would
  (which also proves .env.example sets every variable the file needs).
* The image's entrypoint is run as the image runs it: the Dockerfile's CMD, with its ENV, from a
  directory laid out like the image's WORKDIR (the repository root) and `python` first on PATH.
  Only the listen address differs (127.0.0.1 instead of 0.0.0.0: tests listen on loopback only).
  Then the Dockerfile's HEALTHCHECK command must pass against it.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib

import pytest
import requests

from support import ARTIFACTS_DIR, REPO_ROOT
from support.server import free_port, log_tail

DOCKER = REPO_ROOT / "docker"
COMPOSE = DOCKER / "docker-compose.yml"
ENV_EXAMPLE = DOCKER / ".env.example"
DOCKERFILE = DOCKER / "Dockerfile"
IMAGE_SERVICES = ("server", "scheduler", "bridge")  # the services that run the Paicha image

# -- the Dockerfile -------------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        lines.append(current)
        current = ""
    out = []
    for line in lines:
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def image_env() -> dict[str, str]:
    env = {}
    for word, args in final_stage():
        if word == "ENV":
            for token in shlex.split(args):
                key, _, value = token.partition("=")
                env[key] = value
    return env


def cmd() -> list[str]:
    [args] = [a for w, a in final_stage() if w == "CMD"]
    return exec_form(args)


def healthcheck_cmd() -> list[str]:
    [args] = [a for w, a in final_stage() if w == "HEALTHCHECK"]
    options, _, command = args.partition("CMD ")
    assert "--interval=" in options and "--timeout=" in options
    return exec_form(command.strip())


def test_dockerfile_slim_non_root_with_healthcheck_and_serve_cmd():
    stage = final_stage()
    base = stage[0][1]
    arg_default = dict(a.split("=", 1) for w, a in dockerfile_instructions() if w == "ARG" and "=" in a)
    image = arg_default.get(base.strip("${}"), base)
    assert re.match(r"python:3\.1[1-9][.\w-]*-slim", image), image
    [user] = [a for w, a in stage if w == "USER"]
    uid = user.split(":")[0]
    assert uid not in ("root", "0") and uid.isdigit() and int(uid) >= 1000
    assert cmd() == ["python", "-m", "server", "serve", "--host", "0.0.0.0"]
    assert healthcheck_cmd() == ["python", "-m", "server.ops", "probe"]
    assert image_env()["PORT"] == "5984" and any(w == "EXPOSE" and a == "5984" for w, a in stage)


def test_dockerfile_ships_every_package_and_the_pinned_dependencies():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {a.split()[0] for w, a in final_stage() if w == "COPY" and not a.startswith("--from")}
    assert packages <= copied, f"not copied into the image: {packages - copied}"
    text = DOCKERFILE.read_text()
    assert "['project']['dependencies']" in text  # installs exactly what pyproject.toml pins
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
    assert all(f"!{p}/" in ignore for p in packages) and "!pyproject.toml" in ignore


# -- the compose file --------------------------------------------------------------------------------------


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f".env.example: not KEY=VALUE: {line!r}"
            values[key.strip()] = value.strip()
    return values


VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(text: str, values: dict[str, str]) -> str:
    def substitute(m):
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m.group("name"), m.group("op"), m.group("arg")
        value = values.get(name)
        empty = value is None or (op and op.startswith(":") and value == "")
        if op and op.endswith("?") and empty:
            raise AssertionError(f"compose needs {name}: {arg}")
        if op and op.endswith("-") and empty:
            return arg
        return value or ""

    return VARIABLE.sub(substitute, text)


def compose_cli() -> list[str] | None:
    """Compose v2 (the plugin or a v2 standalone binary); v1 (EOL) does not know `name:` or the spec."""
    for candidate in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(candidate[0]) is None:
            continue
        probe = subprocess.run([*candidate, "version", "--short"], capture_output=True, text=True, timeout=30)
        major = probe.stdout.strip().lstrip("v").split(".")[0]
        if probe.returncode == 0 and major.isdigit() and int(major) >= 2:
            return candidate
    return None


def _normalize(model: dict) -> dict:
    for service in model.get("services", {}).values():
        env = service.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        service["environment"] = {k: "" if v is None else str(v) for k, v in env.items()}
        deps = service.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {name: {"condition": "service_started"} for name in deps}
        service["depends_on"] = deps
    return model


@pytest.fixture(scope="module")
def compose() -> dict:
    cli = compose_cli()
    if cli:
        r = subprocess.run([*cli, "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE), "--profile", "couchdb",
                            "config", "--format", "json"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return _normalize(json.loads(r.stdout))
    try:
        import yaml
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("neither the docker compose plugin nor PyYAML (test extra) is installed")
        pytest.skip("neither the docker compose plugin nor PyYAML is installed")
    return _normalize(yaml.safe_load(interpolate(COMPOSE.read_text(), env_example())))


def test_compose_services_and_profiles(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "postgres-standby", "server", "server2", "scheduler", "couchdb", "bridge"}
    for name in ("postgres", "postgres-standby", "server", "server2", "scheduler"):
        assert not services[name].get("profiles"), name
    for name in ("couchdb", "bridge"):
        assert services[name]["profiles"] == ["couchdb"], name
    assert re.match(r"couchdb:3", services["couchdb"]["image"])
    assert re.match(r"postgres:1[4-9]", services["postgres"]["image"])


def test_compose_server_scheduler_and_bridge_run_the_image_as_designed(compose):
    services = compose["services"]
    server, scheduler, bridge = (services[n] for n in IMAGE_SERVICES)
    assert server["command"] == cmd()
    assert scheduler["command"] == ["flask", "scheduler", "run"]
    assert bridge["command"][:4] == ["flask", "couch", "sync", "--continuous"]
    for service in (server, scheduler, bridge):
        env = service["environment"]
        assert env["PAICHA_SCHEDULER"] == "external"  # the scheduler is its own process, once
        url = env["DATABASE_URL"]
        # Both PostgreSQL hosts, the one taking writes chosen (the standby once promoted).
        assert url.startswith("postgresql+psycopg://") and "host=postgres,postgres-standby" in url, url
        assert "target_session_attrs=read-write" in url
        assert env["PROMETHEUS_MULTIPROC_DIR"] == "/run/paicha-metrics"
        assert service.get("user") in (None, "", "10001", "10001:10001"), "runs as root"
        assert service.get("read_only") is True
        assert "ALL" in service.get("cap_drop", [])
        assert service["build"]["dockerfile"] == "docker/Dockerfile"
    assert bridge["environment"]["PAICHA_COUCH_URL"].startswith("http://couchdb:5984/")
    assert "PAICHA_COUCH_PASSWORD" in bridge["environment"]
    assert server["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert scheduler["depends_on"]["server"]["condition"] == "service_healthy"


def test_compose_healthchecks(compose):
    services = compose["services"]
    assert services["server"]["healthcheck"]["test"] == ["CMD", *healthcheck_cmd()]  # GET /_ready
    for name in ("scheduler", "bridge"):  # no HTTP port: the database check instead
        assert services[name]["healthcheck"]["test"] == ["CMD", "python", "-m", "server.ops", "check-db"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "/_up" in " ".join(services["couchdb"]["healthcheck"]["test"])


def test_compose_volumes_keep_the_data(compose):
    services = compose["services"]

    def targets(service):
        out = {}
        for v in service.get("volumes", []):
            if isinstance(v, str):
                source, target = v.split(":")[:2]
            else:
                source, target = v.get("source"), v.get("target")
            out[target] = source
        return out

    assert targets(services["postgres"])["/var/lib/postgresql/data"] == "pgdata"
    assert targets(services["couchdb"])["/opt/couchdb/data"] == "couchdata"
    for name in IMAGE_SERVICES:
        assert targets(services[name])["/run/paicha-metrics"] == "metrics"
    assert {"pgdata", "couchdata", "metrics"} <= set(compose["volumes"])


def test_env_example_documents_every_variable_of_the_compose_file():
    used = {m.group("name") for m in VARIABLE.finditer(COMPOSE.read_text()) if m.group("name")}
    documented = env_example()
    assert used <= set(documented), f"missing from .env.example: {sorted(used - set(documented))}"
    text = ENV_EXAMPLE.read_text()
    for name in used:  # each one is explained by a comment in its block
        block = text[:text.index(f"\n{name}=")].rsplit("\n\n", 1)[-1]
        assert "#" in block, f"{name} has no comment in .env.example"


# -- the entrypoint -------------------------------------------------------------------------------------


def test_image_entrypoint_serves_and_passes_its_healthcheck(tmp_path):
    port = free_port()
    venv_bin = REPO_ROOT / ".venv" / "bin"
    bin_dir = venv_bin if (venv_bin / "python").exists() else None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAICHA_", "WEB_", "PROMETHEUS_"))}
    env.update(image_env())
    env.update({
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'paicha.sqlite3'}",  # the image's /var/lib/paicha volume
        "PATH": f"{bin_dir or os.path.dirname(sys.executable)}{os.pathsep}{env.get('PATH', '')}",
    })
    command = [("127.0.0.1" if arg == "0.0.0.0" else arg) for arg in cmd()]
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS_DIR / f"docker-entrypoint-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline, health = time.monotonic() + 180, None  # generous: a loaded CI box imports slowly
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/_health", timeout=2)
                if health.status_code == 200:
                    break
                if requests.get(f"http://127.0.0.1:{port}/", timeout=2).ok:  # up, but no /_health
                    pytest.fail(f"GET /_health -> {health.status_code}: wire server.ops.init_app into create_app")
            except requests.RequestException:
                pass
            time.sleep(0.2)
        assert proc.poll() is None, f"the entrypoint exited ({proc.returncode}):\n{log_tail(log_path)}"
        assert health is not None and health.status_code == 200, log_tail(log_path)
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).json()["couchdb"] == "Welcome"
        probe = subprocess.run(healthcheck_cmd(), cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                               timeout=30)
        assert probe.returncode == 0, probe.stdout + probe.stderr  # the HEALTHCHECK passes: /_ready is 200
        assert json.loads(probe.stdout)["checks"] == {"database": "ok", "migrations": "ok"}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
    assert proc.returncode == 0, f"no clean stop on SIGTERM ({proc.returncode}):\n{log_tail(log_path)}"
    json_lines = [line for line in log_path.read_text().splitlines() if line.startswith("{")]
    assert json_lines and all("level" in json.loads(line) for line in json_lines)  # PAICHA_LOG_FORMAT=json


def test_compose_two_web_hosts_behind_nginx_and_a_synchronous_standby(compose):
    services = compose["services"]
    server, server2 = services["server"], services["server2"]
    assert server2["command"] == server["command"] and server2["environment"] == server["environment"]
    assert server2["healthcheck"] == server["healthcheck"] and server2["ports"] != server["ports"]
    # nginx (docker/nginx/paicha.conf) spreads the phones over both published ports.
    upstream = (DOCKER / "nginx" / "paicha.conf").read_text().split("upstream paicha {")[1].split("}")[0]
    assert "server 127.0.0.1:5984" in upstream and f"server 127.0.0.1:{env_example()['PAICHA_PORT2']}" in upstream
    standby = services["postgres-standby"]
    assert standby["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert server["depends_on"]["postgres-standby"]["condition"] == "service_healthy"
    assert "synchronous_standby_names = 'standby'" in (DOCKER / "postgres" / "primary-init.sh").read_text()
    assert "application_name=standby" in (DOCKER / "postgres" / "standby.sh").read_text()
