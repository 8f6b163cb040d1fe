"""The one settings object (server/core/settings.py): one rule for every value, errors that name the
variable, and the README and the compose file saying the same as the code."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import fields

import pytest
import yaml

from server.core.settings import Settings, SettingError, default, variables
from support import REPO_ROOT

SETTINGS = {f.metadata["variable"]: f for f in fields(Settings)}


def test_nothing_set_means_every_default():
    assert Settings.from_env({}) == Settings()
    assert Settings().config()["SQLALCHEMY_DATABASE_URI"].endswith("instance/paicha.sqlite3")


@pytest.mark.parametrize("blank", ["", "  ", None])
def test_an_empty_value_means_the_default_whatever_the_setting(blank):
    environ = {name: blank for name in variables() if blank is not None}
    assert Settings.from_env(environ, overrides={f.metadata["key"]: blank for f in fields(Settings)}) == Settings()


def test_values_are_read_by_their_kind():
    s = Settings.from_env({
        "PAICHA_DEMO": "yes", "PAICHA_PG_NOTIFY": "off", "WEB_BUFFER_REQUESTS": "0", "PAICHA_LOG_REQUESTS": "TRUE",
        "PAICHA_MAX_BODY_BYTES": " 1024 ", "PAICHA_GEO_MAX_SPEED_KMH": "90", "PAICHA_CHANGES_RECHECK_S": "0.5",
        "PAICHA_LOG_FORMAT": "JSON", "PAICHA_LOG_LEVEL": "warning", "PAICHA_MAP_TILES_CRS": "gcj-02",
        "PAICHA_CALENDAR_START": "2026-10-01", "DATABASE_URL": "postgres://u:pw@db/paicha",
        "PAICHA_CLOCK": "2026-11-20T09:00:00+08:00!",
    })
    assert (s.demo, s.pg_notify, s.web_buffer_requests, s.log_requests) == (True, False, False, True)
    assert (s.max_body_bytes, s.geo_max_speed_kmh, s.changes_recheck_s) == (1024, 90.0, 0.5)
    assert (s.log_format, s.log_level, s.map_tiles_crs) == ("json", "WARNING", "GCJ-02")
    assert s.calendar_start == dt.date(2026, 10, 1)
    assert s.database_url == "postgresql+psycopg://u:pw@db/paicha"
    assert s.clock == (dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.timezone.utc), True)


def test_app_config_values_win_and_may_already_be_typed():
    s = Settings.from_env({"PAICHA_DEMO": "0", "PAICHA_LEDGER_PAGE_SIZE": "10"},
                          overrides={"PAICHA_DEMO": True, "PAICHA_LEDGER_PAGE_SIZE": 5, "MAX_CONTENT_LENGTH": "2048",
                                     "SQLALCHEMY_DATABASE_URI": "sqlite:///x.sqlite3"})
    assert (s.demo, s.ledger_page_size, s.max_body_bytes, s.database_url) == (True, 5, 2048, "sqlite:///x.sqlite3")
    config = s.config()
    assert config["PAICHA_DEMO"] is True and config["MAX_CONTENT_LENGTH"] == 2048
    assert Settings.of(config) == s


def test_a_testing_app_has_no_scheduler_unless_asked():
    assert Settings.from_env({}, overrides={"TESTING": True}).scheduler == "off"
    assert Settings.from_env({"PAICHA_SCHEDULER": "external"}, overrides={"TESTING": True}).scheduler == "external"
    assert Settings.from_env({}).scheduler == "embedded"


@pytest.mark.parametrize("variable, value", [
    ("PAICHA_ARGON2_TIME_COST", "two"), ("PAICHA_ARGON2_MEMORY_KIB", "0"), ("PORT", "70000"),
    ("PAICHA_DEMO", "maybe"), ("WEB_BUFFER_REQUESTS", "2"), ("PAICHA_GEO_CENTRE_MAX_M", "far"),
    ("PAICHA_GEO_SITE_RADIUS_M", "nan"), ("PAICHA_CHANGES_POLL_S", "-1"), ("PAICHA_LOG_FORMAT", "xml"),
    ("PAICHA_MAP_TILES_CRS", "BD-09"), ("PAICHA_SCHEDULER", "cron"), ("PAICHA_CALENDAR_START", "1 Oct"),
    ("PAICHA_CLOCK", "2026-11-20T09:00:00"), ("PAICHA_LEDGER_PAGE_SIZE", "2.5"),
])
def test_a_value_that_cannot_be_read_names_its_variable(variable, value):
    with pytest.raises(SettingError, match=re.escape(variable)):
        Settings.from_env({variable: value})


def test_a_bad_app_config_value_names_its_config_key():
    with pytest.raises(SettingError, match="MAX_CONTENT_LENGTH"):
        Settings.from_env({}, overrides={"MAX_CONTENT_LENGTH": "lots"})


def test_secrets_stay_out_of_the_settings_repr():
    s = Settings.from_env({"PAICHA_ADMIN_PASSWORD": "adm1n-pw", "PAICHA_COUCH_PASSWORD": "c0uch-pw",
                           "PAICHA_SECRET_KEY": "s1gning", "PAICHA_METRICS_TOKEN": "scr4pe"})
    assert not any(secret in repr(s) for secret in ("adm1n-pw", "c0uch-pw", "s1gning", "scr4pe"))
    assert s.admin_password == "adm1n-pw"


def test_default_by_app_config_key():
    assert default("MAX_CONTENT_LENGTH") == 64 * 1024 * 1024
    assert default("PAICHA_LEDGER_DAYS") == 90
    with pytest.raises(KeyError):
        default("NOT_A_SETTING")


def test_every_setting_is_in_the_readme_with_its_default():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert [name for name in variables() if f"`{name}`" not in readme] == []
    # Rows of one variable with one default in backquotes: the default reads as the code's.
    # (The calendar's periods and the SQLite path are written out in full there: empty means them.)
    for name, text in re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \| `([^`]*)` \|", readme, re.M):
        if name in ("DATABASE_URL", "PAICHA_CALENDAR_PERIODS"):
            continue
        assert name in SETTINGS, f"README lists {name}, which the server does not read"
        assert SETTINGS[name].metadata["read"](text) == SETTINGS[name].default, name


def test_what_the_compose_file_passes_the_server_is_a_setting():
    compose = yaml.safe_load((REPO_ROOT / "docker" / "docker-compose.yml").read_text(encoding="utf-8"))
    passed = set(compose["x-paicha-env"])
    for name in ("server", "scheduler", "bridge"):
        passed |= set(compose["services"][name]["environment"])
    assert sorted(passed - set(variables())) == []
