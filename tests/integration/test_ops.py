"""Operations: /_health, /_ready, /_metrics (server/interfaces/monitoring.py) and the counters other
modules use (server/core/metrics.py), structured logs (server/core/logs.py), metrics added up across
processes, and the container health-check commands (`python -m server.ops`)."""
from __future__ import annotations

import base64
import io
import json
import logging
import os
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from server import gunicorn_config
from server.core import health, logs, metrics
from server.core.settings import Settings
from server.interfaces import monitoring
from support import REPO_ROOT

pytestmark = pytest.mark.demo  # the demo district's accounts and areas in `app`

VILLAGE = "990101001001"


@pytest.fixture(scope="module")
def ops_app(app):
    """The demo app with ops wired (create_app may already do it)."""
    if "ops" not in app.blueprints:
        monitoring.init_app(app)
    return app


@pytest.fixture
def client(ops_app):
    return ops_app.test_client()


def basic(user: str, password: str = "demo-password") -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def sample(text: str, name: str, **labels) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def scrape(client) -> str:
    r = client.get("/_metrics")
    assert r.status_code == 200, r.data
    assert r.headers["Content-Type"].startswith("text/plain")
    return r.get_data(as_text=True)


# -- probes ---------------------------------------------------------------------------------------------

def test_health_answers_without_login_or_database(client):
    r = client.get("/_health")
    assert r.status_code == 200 and r.json["status"] == "ok" and r.json["version"]


def test_ready_when_database_answers_and_schema_is_at_head(client):
    r = client.get("/_ready")
    assert r.status_code == 200, r.json
    assert r.json == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}


def test_not_ready_when_a_migration_is_missing(ops_app, client):
    from server.core.db import db

    with ops_app.app_context():
        engine = db.engine
    with engine.begin() as conn:
        heads = list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
        conn.execute(sa.text("DELETE FROM alembic_version WHERE version_num = :v"), {"v": heads[0]})
        if len(heads) == 1:  # a single head: pretend to be one step behind
            conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES ('0001')"))
    try:
        r = client.get("/_ready")
        assert r.status_code == 503
        assert r.json["status"] == "unavailable" and r.json["checks"]["database"] == "ok"
        assert "head is" in r.json["checks"]["migrations"]
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM alembic_version"))
            for v in heads:
                conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": v})
    assert client.get("/_ready").status_code == 200


def test_not_ready_when_database_is_unreachable():
    engine = sa.create_engine("postgresql+psycopg://nobody:secret-pw@127.0.0.1:9/none",
                              connect_args={"connect_timeout": 2})
    result = health.check_ready(engine)
    assert result["ready"] is False
    assert result["checks"]["database"].startswith("unavailable")
    assert "secret-pw" not in json.dumps(result)


# -- metrics ---------------------------------------------------------------------------------------------

def test_metrics_count_requests_sessions_checkpoints_and_documents(client):
    before = scrape(client)
    village = basic("demo-village")
    rep = f"rep-{uuid.uuid4().hex[:8]}"
    assert client.get(f"/paicha/_local/{rep}", headers=village).status_code == 404  # a session starts
    assert client.put(f"/paicha/_local/{rep}", json={"last_seq": 1}, headers=village).status_code == 201
    doc_id = f"household-{uuid.uuid4()}"
    doc = {"_id": doc_id, "type": "household", "area": VILLAGE, "created_by": "demo-village",
           "created_at": "2024-05-02T10:15:00+08:00", "address": "三组 12 号", "head_name": "王建国", "members": 4}
    r = client.post("/paicha/_bulk_docs", json={"docs": [doc]}, headers=village)
    assert r.status_code == 201 and "error" not in r.json[0], r.json
    r = client.post("/paicha/_bulk_get", json={"docs": [{"id": doc_id}, {"id": doc_id}]}, headers=village)
    assert r.status_code == 200
    assert client.get(f"/paicha/{doc_id}", headers=village).status_code == 200
    after = scrape(client)

    def delta(name, **labels):
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("paicha_http_requests_total", method="GET", status="404") >= 1
    assert delta("paicha_http_requests_total", method="POST", status="201") >= 1
    assert delta("paicha_http_request_duration_seconds_count", method="POST") >= 2
    assert delta("paicha_sync_sessions_total", db="domain") == 1
    assert delta("paicha_sync_checkpoints_total", db="domain") == 1
    assert delta("paicha_docs_in_total", via="client") == 1
    assert delta("paicha_docs_out_total", via="client") == 3


def test_a_session_is_what_the_couchdb_views_say_not_an_endpoint_name(client):
    """A checkpoint read through the document route (`_local%2F<id>`, as some replicators ask) is a
    session start, not a document sent; a HEAD of a document sends none."""
    village = basic("demo-village")
    rep = f"rep-{uuid.uuid4().hex[:8]}"
    before = scrape(client)
    assert client.get(f"/paicha/_local%2F{rep}", headers=village).status_code == 404
    assert client.head("/paicha/no-such-doc", headers=village).status_code == 404
    assert client.get("/paicha/_local/x", headers=basic("demo-village", "wrong-password")).status_code == 401
    after = scrape(client)

    def delta(name, **labels):
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("paicha_sync_sessions_total", db="domain") == 1
    assert delta("paicha_docs_out_total", via="client") == 0


def test_counters_other_modules_increment(client):
    before = scrape(client)
    metrics.count_scheduler_run("calendar_tick", "ok")
    metrics.count_scheduler_run("calendar_tick", "error")
    metrics.count_rejection("out_of_scope", "client", 2)
    metrics.count_rejection("invalid_document", "made-up-via")  # unknown labels are bounded
    metrics.count_docs_in(5, "bridge")
    metrics.count_docs_out(0, "bridge")
    metrics.count_bridge_batch("pull", "ok")
    after = scrape(client)

    def delta(name, **labels):
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("paicha_scheduler_runs_total", job="calendar_tick", outcome="ok") == 1
    assert delta("paicha_scheduler_runs_total", job="calendar_tick", outcome="error") == 1
    assert delta("paicha_rejections_total", reason="out_of_scope", via="client") == 2
    assert delta("paicha_rejections_total", reason="invalid_document", via="other") == 1
    assert delta("paicha_docs_in_total", via="bridge") == 5
    assert delta("paicha_bridge_batches_total", direction="pull", outcome="ok") == 1


def test_metrics_token(ops_app, client):
    ops_app.config["PAICHA_METRICS_TOKEN"] = "scrape-token"
    try:
        assert client.get("/_metrics").status_code == 401
        assert client.get("/_metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        r = client.get("/_metrics", headers={"Authorization": "Bearer scrape-token"})
        assert r.status_code == 200 and b"paicha_http_requests_total" in r.data
        assert client.get("/_health").status_code == 200  # probes stay open
    finally:
        ops_app.config["PAICHA_METRICS_TOKEN"] = ""


def test_metrics_of_several_processes_add_up(tmp_path):
    """PROMETHEUS_MULTIPROC_DIR: what gunicorn workers, the scheduler and the bridge count adds up."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = ("from server.core import metrics; metrics.count_scheduler_run('calendar_tick', 'ok'); "
             "metrics.count_docs_in(3, 'bridge')")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], cwd=REPO_ROOT, env=env, check=True, timeout=60)
    out = subprocess.run([sys.executable, "-c",
                          "from server.core import metrics; print(metrics.metrics().exposition().decode())"],
                         cwd=REPO_ROOT, env=env, check=True, timeout=60, capture_output=True, text=True).stdout
    assert sample(out, "paicha_scheduler_runs_total", job="calendar_tick", outcome="ok") == 2
    assert sample(out, "paicha_docs_in_total", via="bridge") == 6


# -- logs -----------------------------------------------------------------------------------------------

def _capture(formatter: logging.Formatter):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(logs.MaskCredentials())
    logger = logging.getLogger(f"test.ops.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_json_logs_one_object_per_line_with_extra_fields_and_masked_urls():
    logger, stream = _capture(logs.JsonFormatter())
    logger.info("replicating with %s", "https://hub-user:s3cret@hub.example.org/paicha",
                extra={"direction": "pull", "docs": 3})
    try:
        raise RuntimeError("failed at http://u:s3cret@x.example/db")
    except RuntimeError:
        logger.exception("boom")
    lines = stream.getvalue().splitlines()
    first, second = (json.loads(line) for line in lines if line.startswith("{"))
    assert first["level"] == "INFO" and first["direction"] == "pull" and first["docs"] == 3
    assert first["msg"] == "replicating with https://***@hub.example.org/paicha"
    assert first["ts"].endswith("Z")
    assert "s3cret" not in stream.getvalue()
    assert second["level"] == "ERROR" and "RuntimeError" in second["exc"]


def test_text_logs_are_masked_too():
    logger, stream = _capture(logging.Formatter("%(levelname)s %(message)s"))
    logger.warning("cannot reach %s", "http://admin:pw@127.0.0.1:5984/paicha")
    assert stream.getvalue().strip() == "WARNING cannot reach http://***@127.0.0.1:5984/paicha"


def test_request_log_lines(caplog):
    app = Flask("ops-test")
    app.config.update(PAICHA_DOMAIN_DB="paicha", PAICHA_LOG_REQUESTS="1", PAICHA_VERSION="9.9")
    monitoring.init_app(app)

    @app.get("/hello")
    def hello():
        return "hi"

    with caplog.at_level(logging.INFO, logger="paicha.request"):
        assert app.test_client().get("/hello", headers={"X-Paicha-Device": "phone-7"}).status_code == 200
        assert app.test_client().get("/_health").json["version"] == "9.9"
    [record] = [r for r in caplog.records if r.name == "paicha.request"]  # /_health is not logged
    assert (record.method, record.path, record.status, record.device) == ("GET", "/hello", 200, "phone-7")
    assert record.duration_ms >= 0


# -- the container health checks ------------------------------------------------------------------------

def _ops_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "server.ops", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def test_check_db_command(ops_app, tmp_path):
    ok = _ops_cli("check-db", env={"DATABASE_URL": ops_app.config["SQLALCHEMY_DATABASE_URI"]})
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["ready"] is True
    missing = _ops_cli("check-db", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'nothing.sqlite3'}"})
    assert missing.returncode == 1
    assert not (tmp_path / "nothing.sqlite3").exists()  # a health check creates nothing


def test_database_settings_production_must_not_run_with_are_warned(ops_app, caplog):
    from server.core.db import db

    with ops_app.app_context():
        engine = db.engine
        with caplog.at_level(logging.WARNING, logger="server.core.health"):
            warnings = health.warn_about_database_settings(engine)
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                autovacuum = conn.exec_driver_sql("SHOW autovacuum").scalar()
                plan_cache_mode = conn.exec_driver_sql("SHOW plan_cache_mode").scalar()
            # CI's PostgreSQL runs with autovacuum off (a conf.d file of its own); a stock one has it on.
            assert any("autovacuum off" in w for w in warnings) == (autovacuum != "on")
            assert plan_cache_mode == "force_custom_plan"  # the store's connections plan for their values
        else:
            assert warnings == []
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("database settings:")]
    assert logged == [f"database settings: {w}" for w in warnings]


def test_probe_command_fails_when_nothing_listens():
    from support.server import free_port

    r = _ops_cli("probe", "--url", f"http://127.0.0.1:{free_port()}/_ready", "--timeout", "2")
    assert r.returncode == 1 and "unreachable" in r.stderr



def test_gunicorn_log_config_makes_gunicorn_lines_json():
    script = (
        "from gunicorn.config import Config\n"
        "from gunicorn.glogging import Logger\n"
        "from server import gunicorn_config\n"
        "from server.core.settings import Settings\n"
        "cfg = Config()\n"
        "cfg.set('logconfig_dict', gunicorn_config.logconfig_dict(Settings.from_env()))\n"
        "Logger(cfg).info('Listening at: %s', 'http://u:pw@127.0.0.1:5984')\n"
    )
    r = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PAICHA_LOG_FORMAT": "json"})
    assert r.returncode == 0, r.stderr
    [line] = [json.loads(x) for x in r.stderr.splitlines() if x.startswith("{")]
    assert line["logger"] == "gunicorn.error" and line["msg"] == "Listening at: http://***@127.0.0.1:5984"
    text = Settings.from_env({"PAICHA_LOG_FORMAT": "text"})
    assert gunicorn_config.logconfig_dict(text) is None  # gunicorn's own defaults
