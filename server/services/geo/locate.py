"""Which village a point falls in, offline.

From village boundaries (GeoJSON polygons imported with `flask areas boundaries`): a bounding-box
query narrows the candidates, then point-in-polygon (geometry.py). Where a village has no boundary
(a district that has only a list of village centres), the nearest village centre within
PAICHA_GEO_CENTRE_MAX_M counts instead. A point in no boundary and near no centre is in no known
village.

The optional address geocoder (geocode.py) is separate: it only places households, never visits.
"""
from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field

import sqlalchemy as sa

from schemas.areas import DISTRICT, VILLAGE, AreaCode, is_area_code

from server.core import clock
from server.core.models import Area
from server.services.geo import crs as crs_mod
from server.services.geo import geometry
from server.services.geo.checks import distance_m
from server.services.geo.tables import geo_villages

_M_PER_DEG_LAT = 111_320.0


@dataclass(frozen=True)
class Located:
    code: str | None = None
    method: str | None = None  # "boundary" | "centre" | None (in no known village)
    distance_m: float | None = None  # to the centre, for method "centre"


class _ShapeCache:
    """Parsed boundaries by (code, imported_at): parsing JSON for every visit would dominate."""

    def __init__(self, size: int = 2048):
        self.size = size
        self._items: dict[tuple, list] = {}
        self._lock = threading.Lock()

    def get(self, code: str, stamp, text: str):
        key = (code, str(stamp))
        with self._lock:
            shape = self._items.get(key)
        if shape is None:
            shape = json.loads(text)
            with self._lock:
                if len(self._items) >= self.size:
                    self._items.clear()
                self._items[key] = shape
        return shape


_shapes = _ShapeCache()


def _boundary_rows(conn: sa.Connection, where) -> list:
    return conn.execute(sa.select(geo_villages.c.code, geo_villages.c.boundary, geo_villages.c.imported_at)
                        .where(geo_villages.c.boundary.is_not(None), where)
                        .order_by(geo_villages.c.code)).all()


def locate(conn: sa.Connection, lat: float, lon: float, centre_max_m: float = 3000.0) -> Located:
    """The village (code) a WGS-84 point is in."""
    candidates = _boundary_rows(conn, sa.and_(
        geo_villages.c.min_lat <= lat, geo_villages.c.max_lat >= lat,
        geo_villages.c.min_lon <= lon, geo_villages.c.max_lon >= lon))
    for row in candidates:
        if geometry.contains(_shapes.get(row.code, row.imported_at, row.boundary), lat, lon):
            return Located(row.code, "boundary")
    return nearest_centre(conn, lat, lon, centre_max_m)


def nearest_centre(conn: sa.Connection, lat: float, lon: float, max_m: float) -> Located:
    """The nearest centre of a village that has no boundary, within max_m."""
    d_lat = max_m / _M_PER_DEG_LAT
    d_lon = max_m / (_M_PER_DEG_LAT * max(0.01, math.cos(math.radians(lat))))
    rows = conn.execute(sa.select(geo_villages.c.code, geo_villages.c.centre_lat, geo_villages.c.centre_lon)
                        .where(geo_villages.c.boundary.is_(None),
                               geo_villages.c.centre_lat.between(lat - d_lat, lat + d_lat),
                               geo_villages.c.centre_lon.between(lon - d_lon, lon + d_lon))).all()
    best = None
    for row in rows:
        d = distance_m((lat, lon), (row.centre_lat, row.centre_lon))
        if d <= max_m and (best is None or (d, row.code) < best):
            best = (d, row.code)
    return Located(best[1], "centre", best[0]) if best else Located()


def distance_outside_area_m(conn: sa.Connection, area: str, lat: float, lon: float) -> float | None:
    """Metres outside the nearest boundary of the villages under `area` (0 inside one); None if
    none of them has a boundary."""
    rows = _boundary_rows(conn, geo_villages.c.code.startswith(area))
    if not rows:
        return None
    return min(geometry.distance_outside_m(_shapes.get(r.code, r.imported_at, r.boundary), lat, lon)
               for r in rows)


def district_has_geography(conn: sa.Connection, area: str) -> bool:
    """Whether any village of the district `area` is in has a boundary or a centre."""
    if not is_area_code(area):
        return False
    district = AreaCode(area).at(DISTRICT)
    return conn.execute(sa.select(geo_villages.c.code).where(geo_villages.c.district == district)
                        .limit(1)).first() is not None


# -- import -------------------------------------------------------------------------------------------

class BoundaryImportError(ValueError):
    pass


@dataclass
class BoundaryImport:
    boundaries: int = 0
    centres: int = 0
    unknown_areas: list[str] = field(default_factory=list)  # codes not (yet) in the areas table


def _features(data) -> list[dict]:
    if not isinstance(data, dict):
        raise BoundaryImportError("expected a GeoJSON FeatureCollection or Feature")
    if data.get("type") == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list):
            raise BoundaryImportError("a FeatureCollection needs a list of features")
        return features
    if data.get("type") == "Feature":
        return [data]
    raise BoundaryImportError(f"expected a GeoJSON FeatureCollection or Feature, got type {data.get('type')!r}")


def parse_boundaries(data, source_crs: str = crs_mod.WGS84) -> list[dict]:
    """Rows for geo_villages from GeoJSON features with properties {code (12-digit village code),
    name} and a Polygon / MultiPolygon (boundary; centre = its centroid unless a "centre" [lon, lat]
    property says otherwise) or a Point (centre only). Coordinates are converted from source_crs."""
    if source_crs not in crs_mod.SYSTEMS:
        raise BoundaryImportError(f"unknown coordinate system {source_crs!r}")
    problems, rows = [], []

    def to_wgs(lon: float, lat: float) -> tuple[float, float]:
        w_lat, w_lon = crs_mod.to_wgs84(lat, lon, source_crs)
        return w_lon, w_lat

    for n, feature in enumerate(_features(data), start=1):
        props = (feature.get("properties") or {}) if isinstance(feature, dict) else {}
        code = props.get("code")
        code = str(code) if isinstance(code, int) else code
        label = f"feature {n}" + (f" ({code})" if code else "")
        if not is_area_code(code, VILLAGE):
            problems.append(f"{label}: properties.code must be a 12-digit village code")
            continue
        name = props.get("name") if isinstance(props.get("name"), str) else None
        geom = feature.get("geometry") if isinstance(feature, dict) else None
        try:
            if isinstance(geom, dict) and geom.get("type") == "Point":
                shape = None
                c_lon, c_lat = geometry.position(geom.get("coordinates"))
                c_lon, c_lat = to_wgs(c_lon, c_lat)
            else:
                shape = geometry.map_points(geometry.shape_from_geojson(geom), to_wgs)
                if isinstance(props.get("centre"), list):
                    c_lon, c_lat = to_wgs(*geometry.position(props["centre"]))
                else:
                    c_lat, c_lon = geometry.centroid(shape)
        except geometry.GeometryError as exc:
            problems.append(f"{label}: {exc}")
            continue
        row = {"code": code, "name": name, "district": AreaCode(code).at(DISTRICT).code, "centre_lat": c_lat,
               "centre_lon": c_lon}
        if shape is not None:
            min_lat, min_lon, max_lat, max_lon = geometry.bbox(shape)
            row.update(boundary=json.dumps(shape, separators=(",", ":")), min_lat=min_lat, min_lon=min_lon,
                       max_lat=max_lat, max_lon=max_lon)
        rows.append(row)
    codes = [r["code"] for r in rows if "boundary" in r]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        problems.append(f"more than one boundary for {', '.join(duplicates)} (use a MultiPolygon)")
    if problems:
        raise BoundaryImportError("; ".join(problems[:20]) + (f"; and {len(problems) - 20} more" if len(problems) > 20 else ""))
    return rows


def import_boundaries(conn: sa.Connection, data, source_crs: str = crs_mod.WGS84,
                      source: str | None = None) -> BoundaryImport:
    """Insert or replace village boundaries / centres (all or nothing: bad features refuse the file).
    A Point feature for a village that already has a boundary moves only its centre."""
    rows = parse_boundaries(data, source_crs)
    report = BoundaryImport()
    now = clock.now()
    known_areas = set(conn.execute(sa.select(Area.__table__.c.code).where(
        Area.__table__.c.code.in_([r["code"] for r in rows]))).scalars()) if rows else set()
    existing = set(conn.execute(sa.select(geo_villages.c.code).where(
        geo_villages.c.code.in_([r["code"] for r in rows]))).scalars()) if rows else set()
    for row in rows:
        values = {**row, "source": (source or "")[:255] or None, "imported_at": now}
        if row["name"] is None:
            values.pop("name")
        if row["code"] in existing:
            conn.execute(geo_villages.update().where(geo_villages.c.code == row["code"]).values(**values))
        else:
            conn.execute(geo_villages.insert().values(**values))
            existing.add(row["code"])
        if "boundary" in row:
            report.boundaries += 1
        else:
            report.centres += 1
        if row["code"] not in known_areas and row["code"] not in report.unknown_areas:
            report.unknown_areas.append(row["code"])
    return report
