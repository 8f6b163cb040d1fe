"""Geotagged household visits.

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
    visits.py     the read model: visit_checks and the household index
    queries.py    reads for supervisors: visits, coverage, flagged visits, the map's points
    tables.py     this package's tables

Its interfaces live with the others: GET /_geo/visits, /_geo/coverage in server/interfaces/geo_api.py,
`flask areas boundaries / households import|geocode / visits recheck|list` in
server/interfaces/cli/geo.py.

`init_app(app)` fills in the config defaults an app lacks (settings.DEFAULTS; create_app sets them
all from server/core/settings.py) and registers the coordinates check; the visit checks are a read
model, registered with the others by `server.services.read_models`.
"""
from __future__ import annotations

from flask import Flask

from server.core.hooks import register_document_check
from server.services.geo import settings
from server.services.geo.checks import FLAGS, coordinates_refusal, validate_fix, validate_location

__all__ = ["FLAGS", "init_app", "validate_fix", "validate_location"]


def init_app(app: Flask) -> None:
    if app.extensions.get("paicha_geo"):
        return  # idempotent
    settings.apply_defaults(app.config)
    register_document_check(app, coordinates_refusal)
    app.extensions["paicha_geo"] = True
