"""Geotagged household visits (issue 5).

Where a visit happened, in a named coordinate system; how far from the household's registered
location (geopy geodesic); whether the fix was accurate enough; which village the point is in; and
flags a supervisor can act on. Everything is derived server-side into this package's own tables,
inside the transaction of the write that caused it, and never written back into a device's document.

    crs.py        WGS-84 <-> GCJ-02 <-> BD-09
    checks.py     pure: validate_fix, distances, the flag rules (FLAGS)
    settings.py   config keys, defaults, Thresholds
    geometry.py   point-in-polygon and distance to a boundary, pure Python
    locate.py     which village a point is in; boundary import
    geocode.py    optional self-hosted geocoder (rate-limited, cached)
    households.py household registry import (documents through the store)
    visits.py     the write hook: visit_checks and the household index
    ledger.py     queries and GET /_geo/visits, /_geo/coverage
    cli.py        flask areas boundaries / households import|geocode / visits recheck|list

`init_app(app)` fills in the config defaults (settings.DEFAULTS, overridable by environment variables
of the same names or test_config), registers the write hook, the CLI commands and the blueprint.
"""
from __future__ import annotations

from flask import Flask

from server.services.geo.checks import FLAGS, validate_fix, validate_location

__all__ = ["FLAGS", "init_app", "validate_fix", "validate_location"]


def init_app(app: Flask) -> None:
    if app.extensions.get("paicha_geo"):
        return  # idempotent
    from server.core.hooks import register_write_hook
    from server.interfaces.cli import geo as cli
    from server.interfaces import geo_api as ledger
    from server.services.geo import settings, visits

    settings.apply_defaults(app.config)
    register_write_hook(app, visits.make_hook(app))
    cli.init_app(app)
    app.register_blueprint(ledger.blueprint())
    app.extensions["paicha_geo"] = True
