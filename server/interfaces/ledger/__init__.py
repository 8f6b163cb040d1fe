"""District supervisors' ledger pages: server-rendered Flask + Jinja under /ledger/.

Log in, a dashboard of the current period (rounds on time / late / missing per township and village,
open disputes by category and risk, accounts not synced, visit coverage and flagged visits), the
screening ledger (台账) per area round by round with XLSX / CSV export, report reviews and
supervision notices written as synced documents, one dispute's whole file (一案一档), the quarterly
key-dispute round-up, figures with charts, and an offline SVG map of visits. Chinese by default,
English with ?lang=en. Every asset is served from this package (no CDN).

    views.py     routes          (reads: server.services.ledger, over the read models)
    security.py  login/scope/CSRF writes.py   reviews and notices through server.services.records
    supervision.py  the supervision loop (督办): issue, the notices of an area, one notice, its forms
    matters.py   a matter's step forms (事项办理)   matter_file.py  the dispute file's number, stage, trail
    search_page.py  search across matters, reports, visits and households
    privacy_views.py  the disputes' export (parties masked for who does not handle them), the file access log
    exports.py   XLSX / CSV      charts.py    inline SVG charts and map     i18n.py  messages

Configuration (app config; server/core/settings.py says what each means, and its default):
PAICHA_LEDGER_STALE_DAYS, PAICHA_LEDGER_DASHBOARD_DAYS, PAICHA_LEDGER_DAYS, PAICHA_LEDGER_PAGE_SIZE,
PAICHA_LEDGER_ACCEPT_DAYS, PAICHA_LEDGER_RESOLVE_DAYS, PAICHA_LEDGER_EXPORT_ROWS, PAICHA_MAP_TILES,
PAICHA_MAP_TILES_CRS, PAICHA_MAP_TILES_ATTRIBUTION, PAICHA_ROOM_ALERTS.

    room.py      the online supervision room (网上督查室) and its live stream
    bulletin.py  the monthly bulletin, quarterly review and annual assessment (月通报, 季讲评, 年考核)
"""
from __future__ import annotations

from flask import Flask, redirect, url_for

from server.core import settings
from server.services.ledger import room as room_figures

SETTINGS = ("PAICHA_LEDGER_STALE_DAYS", "PAICHA_LEDGER_DASHBOARD_DAYS", "PAICHA_LEDGER_DAYS",
            "PAICHA_LEDGER_PAGE_SIZE", "PAICHA_LEDGER_ACCEPT_DAYS", "PAICHA_LEDGER_RESOLVE_DAYS",
            "PAICHA_LEDGER_EXPORT_ROWS", "PAICHA_MAP_TILES", "PAICHA_MAP_TILES_CRS", "PAICHA_MAP_TILES_ATTRIBUTION",
            "PAICHA_ROOM_ALERTS")

MAP_TILE_SYSTEMS = ("WGS-84", "GCJ-02")


def init_app(app: Flask) -> None:
    if app.extensions.get("paicha_ledger"):
        return
    app.extensions["paicha_ledger"] = True
    for key in SETTINGS:  # defaults where the app config lacks them (create_app sets them all)
        if app.config.get(key) in (None, ""):
            app.config[key] = settings.default(key)
    if app.config["PAICHA_MAP_TILES_CRS"] not in MAP_TILE_SYSTEMS:
        raise ValueError(f"PAICHA_MAP_TILES_CRS must be one of {', '.join(MAP_TILE_SYSTEMS)} "
                         f"(Baidu's BD-09 tiles use their own projection and are not supported)")
    room_figures.parse_thresholds(app.config["PAICHA_ROOM_ALERTS"])  # a threshold it cannot read stops the start
    # The pages import this package's modules: loaded once the app is being built, not with it.
    from server.interfaces.ledger import quarantine_views  # noqa: F401  (its routes are on the ledger's blueprint)
    from server.interfaces.ledger import filing  # noqa: F401  (as above)
    from server.interfaces.ledger import supervision  # noqa: F401  (as above)
    from server.interfaces.ledger import matters  # noqa: F401  (as above)
    from server.interfaces.ledger import registration  # noqa: F401  (as above)
    from server.interfaces.ledger import privacy_views  # noqa: F401  (as above)
    from server.interfaces.ledger import room  # noqa: F401  (as above)
    from server.interfaces.ledger import bulletin  # noqa: F401  (as above)
    from server.interfaces.ledger import search_page  # noqa: F401  (as above)
    from server.interfaces.ledger.views import bp  # (as above)

    app.register_blueprint(bp)
    # Browsers ask for /favicon.ico on their own: the ledger's icon, not the CouchDB API's 401.
    app.add_url_rule("/favicon.ico", "favicon", lambda: redirect(url_for("ledger.static", filename="favicon.svg"), 301))
