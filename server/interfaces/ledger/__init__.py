"""District supervisors' ledger pages (issue 6): server-rendered Flask + Jinja under /ledger/.

Log in, a dashboard of the current period (rounds on time / late / missing per township and village,
open disputes by category and risk, accounts not synced, visit coverage and flagged visits), the
screening ledger (台账) per area round by round with XLSX / CSV export, report reviews and
supervision notices written as synced documents, one dispute's whole file (一案一档), the quarterly
key-dispute round-up, figures with charts, and an offline SVG map of visits. Chinese by default,
English with ?lang=en. Every asset is served from this package (no CDN).

    views.py     routes          queries.py   reads (calendar, geo, devices, SQL over the store)
    security.py  login/scope/CSRF writes.py   reviews and notices through server.services.records
    exports.py   XLSX / CSV      charts.py    inline SVG charts and map     i18n.py  messages

Configuration (app config, defaulting to the environment variable of the same name):
    PAICHA_LEDGER_STALE_DAYS      an account is "not synced" after this many days            (7)
    PAICHA_LEDGER_DASHBOARD_DAYS  the dashboard's period: rounds due in the last N days      (30)
    PAICHA_LEDGER_DAYS            default window of the ledger, figures and map              (90)
    PAICHA_LEDGER_PAGE_SIZE       rows per page                                              (50)
    PAICHA_LEDGER_ACCEPT_DAYS     accepted within N days of registration = timely           (1)
    PAICHA_LEDGER_RESOLVE_DAYS    resolved within N days of acceptance = on time             (30)
    PAICHA_LEDGER_EXPORT_ROWS     most rows one export streams                               (200000)
    PAICHA_MAP_TILES              tile URL template for the visit map, e.g.
                                  https://tiles.example/{z}/{x}/{y}.png; empty: the SVG map only  ("")
    PAICHA_MAP_TILES_CRS          WGS-84 (OpenStreetMap-style tiles) | GCJ-02 (AMap, Tencent,
                                  Tianditu-in-GCJ mirrors): the system the tiles are drawn in   (WGS-84)
    PAICHA_MAP_TILES_ATTRIBUTION  attribution text shown on the tile map                     ("")
"""
from __future__ import annotations

import os

from flask import Flask

SETTINGS = {
    "PAICHA_LEDGER_STALE_DAYS": 7,
    "PAICHA_LEDGER_DASHBOARD_DAYS": 30,
    "PAICHA_LEDGER_DAYS": 90,
    "PAICHA_LEDGER_PAGE_SIZE": 50,
    "PAICHA_LEDGER_ACCEPT_DAYS": 1,
    "PAICHA_LEDGER_RESOLVE_DAYS": 30,
    "PAICHA_LEDGER_EXPORT_ROWS": 200000,
    "PAICHA_MAP_TILES": "",
    "PAICHA_MAP_TILES_CRS": "WGS-84",
    "PAICHA_MAP_TILES_ATTRIBUTION": "",
}

MAP_TILE_SYSTEMS = ("WGS-84", "GCJ-02")


def init_app(app: Flask) -> None:
    if app.extensions.get("paicha_ledger"):
        return
    app.extensions["paicha_ledger"] = True
    for key, default in SETTINGS.items():
        if app.config.get(key) in (None, ""):
            value = os.environ.get(key)
            app.config[key] = (int(value) if isinstance(default, int) else value) if value else default
    if app.config["PAICHA_MAP_TILES_CRS"] not in MAP_TILE_SYSTEMS:
        raise ValueError(f"PAICHA_MAP_TILES_CRS must be one of {', '.join(MAP_TILE_SYSTEMS)} "
                         f"(Baidu's BD-09 tiles use their own projection and are not supported)")
    from server.core.hooks import register_write_hook
    from server.services.ledger import index
    from server.interfaces.ledger import quarantine_views  # noqa: F401  (its routes are on the ledger's blueprint)
    from server.interfaces.ledger.views import bp

    register_write_hook(app, index.make_hook(app))
    app.register_blueprint(bp)
