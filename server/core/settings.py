"""Every setting of the server: each environment variable Paicha reads, read here and nowhere else,
parsed once, with its default and its meaning written once (the README's tables list the same).

    settings = Settings.from_env()                                 # the process environment
    settings = Settings.from_env(environ, overrides=test_config)   # a mapping; app config values win

`create_app` puts `settings.config()` into `app.config` once: one key per setting, already typed,
named as its variable except DATABASE_URL (SQLALCHEMY_DATABASE_URI), PAICHA_MAX_BODY_BYTES
(MAX_CONTENT_LENGTH) and PAICHA_SECRET_KEY (SECRET_KEY). Modules read `app.config`; what runs
before or without an app (`python -m server serve`, the container health checks, a process's
metrics) reads the object. The engine reads nothing: the application passes it what it needs.

One rule for every value, from the environment or from an app config value (which may already be
typed): unset, empty or blank means the default. Whole numbers, numbers, flags (1/0, true/false,
yes/no, on/off), choices (any case), dates (YYYY-MM-DD) and durations (whole seconds, minutes or
days, or seconds as a number, as the name says) are read the same way whichever module uses them.
A value that cannot be read stops the start with a SettingError naming the variable.
"""
from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from sync import streamcoding

from server.core import clock as clock_module

DEFAULT_SQLITE = Path(__file__).resolve().parent.parent / "instance" / "paicha.sqlite3"

# App config that is not a setting: the same for every deployment.
FIXED_CONFIG = {
    "COMPRESS_MIMETYPES": ["application/json", "text/html", "text/css", "application/javascript"],
    "COMPRESS_MIN_SIZE": 500,
    # Streamed responses (_changes) must not be buffered by the whole-response compressor:
    # heartbeats and longpoll answers have to reach the phone as they are written. The feed
    # compresses itself, piece by piece (sync/streamcoding.py).
    "COMPRESS_STREAMS": False,
    # Whole answers choose among the encodings in the feed's order, so a client gets the same one
    # for both.
    "COMPRESS_ALGORITHM": list(streamcoding.PREFERENCE),
}


class SettingError(ValueError):
    """A setting's value cannot be read; the message names the variable."""


# -- how a value is read: each takes the raw value (a string, or an already typed config value) ---

class _Invalid(Exception):
    """What a value should have been; the loader adds the variable's name and the value."""


def text(raw: Any) -> str:
    return str(raw).strip()


def secret(raw: Any) -> str:
    return str(raw)  # exactly as given: a password may start or end with a space


def flag(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise _Invalid("1 or 0 (true/false, yes/no, on/off)")


def whole(minimum: int = 0, maximum: int | None = None) -> Callable[[Any], int]:
    def read(raw: Any) -> int:
        if isinstance(raw, bool) or isinstance(raw, float) and not raw.is_integer():
            raise _Invalid("a whole number")
        try:
            value = int(raw) if isinstance(raw, (int, float)) else int(str(raw).strip())
        except ValueError:
            raise _Invalid("a whole number") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise _Invalid(f"a whole number from {minimum}" + (f" to {maximum}" if maximum is not None else " up"))
        return value

    return read


def number(minimum: float = 0.0) -> Callable[[Any], float]:
    def read(raw: Any) -> float:
        if isinstance(raw, bool):
            raise _Invalid("a number")
        try:
            value = float(raw) if isinstance(raw, (int, float)) else float(str(raw).strip())
        except ValueError:
            raise _Invalid("a number") from None
        if not math.isfinite(value) or value < minimum:
            raise _Invalid(f"a number from {minimum:g} up")
        return value

    return read


def choice(*options: str) -> Callable[[Any], str]:
    """One of `options`, in any case; the option as written here is what the config holds."""
    def read(raw: Any) -> str:
        word = str(raw).strip()
        for option in options:
            if word.lower() == option.lower():
                return option
        raise _Invalid(f"one of {', '.join(options)}")

    return read


def date(raw: Any) -> dt.date:
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise _Invalid("a date, YYYY-MM-DD") from None


def database_url(raw: Any) -> str:
    """SQLAlchemy's URL; the `postgres://` and `postgresql://` of hosting platforms use psycopg 3."""
    url = str(raw).strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def clock_start(raw: Any) -> tuple[dt.datetime, bool]:
    """(moment, frozen): see server/core/clock.py."""
    if isinstance(raw, tuple):
        return raw
    try:
        return clock_module.parse_setting(str(raw).strip())
    except ValueError:
        raise _Invalid("an ISO 8601 moment with its UTC offset, e.g. 2026-11-20T09:00:00+08:00 "
                       "(a trailing ! freezes the clock there)") from None


def _setting(variable: str, default: Any, read: Callable[[Any], Any], meaning: str, *, key: str | None = None):
    return field(default=default, repr=read is not secret,  # no password in a log line or a traceback
                 metadata={"variable": variable, "read": read, "meaning": meaning, "key": key or variable})


# -- the settings ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    # The store and the accounts.
    database_url: str = _setting(
        "DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE}", database_url,
        "the central store; postgresql+psycopg://user:pw@host/db for PostgreSQL",
        key="SQLALCHEMY_DATABASE_URI")
    domain_db: str = _setting("PAICHA_DOMAIN_DB", "paicha", text,
                              "the database phones replicate with; it carries the domain rules")
    admin_password: str | None = _setting("PAICHA_ADMIN_PASSWORD", None, secret,
                                          "if set, the account `admin` exists with this password (bootstrap)")
    demo: bool = _setting("PAICHA_DEMO", False, flag, "create the demo district and accounts at start")
    secret_key: str | None = _setting("PAICHA_SECRET_KEY", None, secret,
                                      "signs AuthSession cookies; unset: generated once and kept in the database",
                                      key="SECRET_KEY")
    session_seconds: int = _setting("PAICHA_SESSION_SECONDS", 7 * 24 * 3600, whole(1),
                                    "lifetime of a CouchDB login session (AuthSession cookie)")
    max_body_bytes: int = _setting("PAICHA_MAX_BODY_BYTES", 64 * 1024 * 1024, whole(1),
                                   "larger request bodies get 413 too_large", key="MAX_CONTENT_LENGTH")
    upload_lifetime_hours: int = _setting("PAICHA_UPLOAD_LIFETIME_HOURS", 7 * 24, whole(1),
                                          "an unfinished resumable upload is kept this long after its last bytes")
    argon2_memory_kib: int = _setting("PAICHA_ARGON2_MEMORY_KIB", 19456, whole(1),
                                      "Argon2id memory of passwords set from now on (KiB)")
    argon2_time_cost: int = _setting("PAICHA_ARGON2_TIME_COST", 2, whole(1),
                                     "Argon2id passes of passwords set from now on")
    argon2_parallelism: int = _setting("PAICHA_ARGON2_PARALLELISM", 1, whole(1),
                                       "Argon2id lanes of passwords set from now on")
    clock: tuple[dt.datetime, bool] | None = _setting(
        "PAICHA_CLOCK", None, clock_start,
        "start the server's clock at this moment (ISO 8601 with an offset; a trailing ! freezes it); "
        "unset: the real time")

    # Serving: `python -m server serve` (gunicorn).
    host: str = _setting("HOST", "127.0.0.1", text, "the address `python -m server serve` listens on")
    port: int = _setting("PORT", 5984, whole(1, 65535), "the port it listens on (and the health probe asks)")
    web_workers: int = _setting("WEB_WORKERS", 1, whole(1), "gunicorn processes")
    web_threads: int = _setting("WEB_THREADS", 32, whole(1),
                                "threads per process; each live _changes feed holds one")
    web_keepalive: int = _setting("WEB_KEEPALIVE", 5, whole(0),
                                  "seconds an idle client connection stays open for its next request")
    web_client_timeout: float = _setting(
        "WEB_CLIENT_TIMEOUT", 30.0, number(0.001),
        "seconds a client may send nothing of its request, or take nothing of a response, before it is dropped")
    web_buffer_requests: bool = _setting(
        "WEB_BUFFER_REQUESTS", True, flag,
        "read each request whole before a thread takes it (server/serving.py); 0: gunicorn's gthread")
    access_log: str | None = _setting("PAICHA_ACCESS_LOG", None, text,
                                      "gunicorn's access log: a path, or - for stderr; unset: none")

    # Change feeds: how a waiting _changes feed learns of other processes' commits (sync/notify.py).
    changes_recheck_s: float | None = _setting(
        "PAICHA_CHANGES_RECHECK_S", None, number(0.001),
        "seconds between a waiting feed's own re-reads of the store; unset: 30 while the cross-process "
        "wake works, 1 otherwise")
    changes_poll_s: float = _setting(
        "PAICHA_CHANGES_POLL_S", 1.0, number(0),
        "SQLite: seconds between looks for other processes' commits while a feed waits (0: never)")
    pg_notify: bool = _setting("PAICHA_PG_NOTIFY", True, flag,
                               "PostgreSQL: wake feeds in every process with LISTEN/NOTIFY")

    # Logs and metrics.
    log_level: str = _setting("PAICHA_LOG_LEVEL", "INFO", choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
                              "log level")
    log_format: str = _setting("PAICHA_LOG_FORMAT", "text", choice("text", "json"),
                               "json: one JSON object per log line (gunicorn's lines too)")
    log_requests: bool = _setting("PAICHA_LOG_REQUESTS", False, flag,
                                  "one structured log line per request (method, path, status, duration, "
                                  "account, device)")
    metrics_token: str | None = _setting("PAICHA_METRICS_TOKEN", None, secret,
                                         "if set, GET /_metrics needs `Authorization: Bearer <token>`")
    metrics_dir: str | None = _setting(
        "PROMETHEUS_MULTIPROC_DIR", None, text,
        "where every process (workers, scheduler, bridge) writes its counters for /_metrics; "
        "`serve` makes a temporary one when unset")

    # The screening calendar (server/services/calendar).
    scheduler: str = _setting("PAICHA_SCHEDULER", "embedded", choice("embedded", "external", "off"),
                              "embedded: the calendar's scheduler runs in the server process; external: "
                              "`flask scheduler run` is its own process; off (the default of a TESTING app)")
    calendar_periods: str = _setting(
        "PAICHA_CALENDAR_PERIODS", "", text,
        "level=kind,... with kinds xun|half_month|month|quarter|off; empty: "
        "village=xun,township=half_month,district=month,quarterly=quarter")
    calendar_due_days: str = _setting("PAICHA_CALENDAR_DUE_DAYS", "", text,
                                      "level=days after the period's last day; empty: quarterly=5, others 0")
    calendar_start: dt.date | None = _setting("PAICHA_CALENDAR_START", None, date,
                                              "the first date a fresh calendar covers; unset: today")
    remind_days_before: int = _setting("PAICHA_REMIND_DAYS_BEFORE", 2, whole(0),
                                       "a due-soon reminder goes out this many days before the due date")
    escalate_after_days: int = _setting("PAICHA_ESCALATE_AFTER_DAYS", 3, whole(0),
                                        "a round overdue this many days is escalated to the parent area")
    clock_skew_minutes: int = _setting("PAICHA_CLOCK_SKEW_MINUTES", 10, whole(0),
                                       "a device clock may run this far ahead of the server")
    calendar_tick_minutes: int = _setting("PAICHA_CALENDAR_TICK_MINUTES", 10, whole(1),
                                          "how often the scheduler's job runs")

    # The mobile API (mobile_api).
    api_max_attachment_bytes: int = _setting("PAICHA_API_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024, whole(1),
                                             "the largest photo the mobile API accepts")
    api_max_json_bytes: int = _setting("PAICHA_API_MAX_JSON_BYTES", 1024 * 1024, whole(1),
                                       "the largest JSON body the mobile API accepts")
    api_tasks_lookback_days: int = _setting("PAICHA_API_TASKS_LOOKBACK_DAYS", 31, whole(0),
                                            "how far back GET /api/v1/tasks looks for open rounds")
    api_access_seconds: int = _setting("PAICHA_API_ACCESS_SECONDS", 12 * 3600, whole(1),
                                       "lifetime of the mobile API's access tokens")
    api_refresh_seconds: int = _setting("PAICHA_API_REFRESH_SECONDS", 30 * 24 * 3600, whole(1),
                                        "lifetime of the mobile API's refresh tokens (a login)")
    public_url: str | None = _setting("PAICHA_PUBLIC_URL", None, text,
                                      "the base of the sync URL the mobile API hands out; unset: the request's host")

    # The ledger pages (server/interfaces/ledger).
    ledger_stale_days: int = _setting("PAICHA_LEDGER_STALE_DAYS", 7, whole(0),
                                      "an account counts as not synced after this many days")
    ledger_dashboard_days: int = _setting("PAICHA_LEDGER_DASHBOARD_DAYS", 30, whole(1),
                                          "the dashboard's period: rounds due in the last N days")
    ledger_days: int = _setting("PAICHA_LEDGER_DAYS", 90, whole(1), "default window of the ledger, figures and map")
    ledger_page_size: int = _setting("PAICHA_LEDGER_PAGE_SIZE", 50, whole(1), "rows per page")
    ledger_accept_days: int = _setting("PAICHA_LEDGER_ACCEPT_DAYS", 1, whole(0),
                                       "accepted within N days of registration counts as timely")
    ledger_resolve_days: int = _setting("PAICHA_LEDGER_RESOLVE_DAYS", 30, whole(0),
                                        "resolved within N days of acceptance counts as on time")
    matter_accept_days: int = _setting("PAICHA_MATTER_ACCEPT_DAYS", 15, whole(0),
                                       "a matter is accepted or rejected (受理) within N days of its registration")
    matter_handle_days: int = _setting("PAICHA_MATTER_HANDLE_DAYS", 60, whole(1),
                                       "a matter is handled and replied to within N days of its acceptance")
    matter_extend_max_days: int = _setting("PAICHA_MATTER_EXTEND_MAX_DAYS", 30, whole(0),
                                           "the one extension (延期) of the handling deadline: at most N days")
    matter_collective_people: int = _setting("PAICHA_MATTER_COLLECTIVE_PEOPLE", 5, whole(2),
                                             "a matter involving N or more people is a collective matter (集体)")
    ledger_export_rows: int = _setting("PAICHA_LEDGER_EXPORT_ROWS", 200000, whole(1),
                                       "the most rows one export streams")
    room_alerts: str = _setting("PAICHA_ROOM_ALERTS", "", text,
                                "the supervision room's alert thresholds over the defaults: key=value,... "
                                "(a count alerts at or above, a rate below; off: never)")
    map_tiles: str = _setting("PAICHA_MAP_TILES", "", text,
                              "tile URL template for the visit map (https://tiles.example/{z}/{x}/{y}.png); "
                              "empty: the offline SVG map only")
    map_tiles_crs: str = _setting("PAICHA_MAP_TILES_CRS", "WGS-84", choice("WGS-84", "GCJ-02"),
                                  "the system the tiles are drawn in: WGS-84 (OpenStreetMap-style) or GCJ-02 "
                                  "(AMap, Tencent); Baidu's BD-09 tiles are not supported")
    map_tiles_attribution: str = _setting("PAICHA_MAP_TILES_ATTRIBUTION", "", text,
                                          "attribution text shown on the tile map")

    # Geotagged visits (server/services/geo/settings.py says how the thresholds combine).
    geo_site_radius_m: float = _setting("PAICHA_GEO_SITE_RADIUS_M", 100.0, number(0),
                                        "off_site if the visit is farther than this from the household...")
    geo_accuracy_factor: float = _setting("PAICHA_GEO_ACCURACY_FACTOR", 1.0, number(0),
                                          "...plus this times the fix's accuracy")
    geo_geocoded_extra_m: float = _setting("PAICHA_GEO_GEOCODED_EXTRA_M", 500.0, number(0),
                                           "...plus this when the household's location came from the geocoder")
    geo_poor_accuracy_m: float = _setting("PAICHA_GEO_POOR_ACCURACY_M", 100.0, number(0),
                                          "poor_accuracy if the fix's accuracy is above this or missing")
    geo_max_speed_kmh: float = _setting("PAICHA_GEO_MAX_SPEED_KMH", 120.0, number(0),
                                        "impossible_speed between one visitor's consecutive fixes faster than this...")
    geo_speed_min_distance_m: float = _setting("PAICHA_GEO_SPEED_MIN_DISTANCE_M", 200.0, number(0),
                                               "...once the accuracy radii are taken off and what is left "
                                               "exceeds this")
    geo_boundary_tolerance_m: float = _setting("PAICHA_GEO_BOUNDARY_TOLERANCE_M", 50.0, number(0),
                                               "outside_area only if farther outside the village boundary "
                                               "than max(this, accuracy)")
    geo_centre_max_m: float = _setting("PAICHA_GEO_CENTRE_MAX_M", 3000.0, number(0),
                                       "without boundaries, the nearest village centre counts only within this")
    geocoder: str = _setting("PAICHA_GEOCODER", "", text, "empty (no geocoder) or nominatim")
    geocoder_url: str = _setting("PAICHA_GEOCODER_URL", "", text,
                                 "the geocoder's address, e.g. http://nominatim.internal:8080 (self-hosted)")
    geocoder_user_agent: str = _setting("PAICHA_GEOCODER_USER_AGENT", "paicha", text, "sent to the geocoder")
    geocoder_min_delay_s: float = _setting("PAICHA_GEOCODER_MIN_DELAY_S", 1.0, number(0),
                                           "at most one geocoder request per this many seconds")
    geocoder_timeout_s: float = _setting("PAICHA_GEOCODER_TIMEOUT_S", 10.0, number(0.001),
                                         "seconds one geocoder request may take")
    geocoder_country: str = _setting("PAICHA_GEOCODER_COUNTRY", "cn", text,
                                     "restrict geocoder results to these country codes")
    geocoder_crs: str = _setting("PAICHA_GEOCODER_CRS", "WGS-84", text,
                                 "the system the geocoder answers in (OpenStreetMap data: WGS-84)")

    # The CouchDB bridge (`flask couch push|pull|sync`).
    couch_url: str | None = _setting("PAICHA_COUCH_URL", None, secret,
                                     "the remote database the bridge replicates with")
    couch_user: str | None = _setting("PAICHA_COUCH_USER", None, secret, "the bridge's account on the remote")
    couch_password: str | None = _setting("PAICHA_COUCH_PASSWORD", None, secret,
                                          "its password (never logged)")

    @classmethod
    def from_env(cls, environ: Mapping[str, Any] | None = None,
                 overrides: Mapping[str, Any] | None = None) -> "Settings":
        """The settings from `environ` (default: the process environment), where `overrides` (app
        config keys, as `create_app(test_config)` gets them) does not set a value. A TESTING app's
        scheduler is off unless a value says otherwise."""
        environ = os.environ if environ is None else environ
        overrides = overrides or {}
        values = {}
        for f in fields(cls):
            meta = f.metadata
            raw, source = overrides.get(meta["key"]), meta["key"]
            if _unset(raw):
                raw, source = environ.get(meta["variable"]), meta["variable"]
            if _unset(raw):
                if f.name == "scheduler" and overrides.get("TESTING"):
                    values[f.name] = "off"
                continue
            try:
                values[f.name] = meta["read"](raw)
            except _Invalid as wanted:
                raise SettingError(f"{source} must be {wanted}, not {raw!r}") from None
        return cls(**values)

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> "Settings":
        """The settings an app config holds, read by the same rules (defaults for what it lacks)."""
        return cls.from_env({}, overrides=config)

    def config(self) -> dict:
        """The app config: every setting under its key, and FIXED_CONFIG."""
        return {**FIXED_CONFIG, **{f.metadata["key"]: getattr(self, f.name) for f in fields(self)}}

    def with_metrics_dir(self, directory: str) -> "Settings":
        """These settings with PROMETHEUS_MULTIPROC_DIR set to `directory`, in the process
        environment too: prometheus_client reads it there, and so do the processes started from
        this one (gunicorn's workers, the scheduler)."""
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        return replace(self, metrics_dir=directory)


def _unset(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def variables() -> dict[str, Any]:
    """Every setting's environment variable and its default (what the README lists)."""
    return {f.metadata["variable"]: f.default for f in fields(Settings)}


def default(key: str) -> Any:
    """The default of the setting under app config `key` (for an app not made by create_app)."""
    for f in fields(Settings):
        if f.metadata["key"] == key:
            return f.default
    raise KeyError(key)
