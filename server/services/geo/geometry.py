"""Plane geometry on village boundaries, in pure Python.

A village boundary is a GeoJSON Polygon or MultiPolygon in WGS-84. Villages are a few kilometres
across, so within one village a local equirectangular projection around the point of interest is
accurate to well under a metre, which is all point-in-polygon and "how far outside the boundary"
need. A dependency (shapely/GEOS) would buy speed we do not need: the candidates are narrowed by a
bounding-box query first, and a boundary has hundreds, not millions, of vertices.

Shapes are lists of polygons; a polygon is a list of rings (the first the outer boundary, the rest
holes); a ring is a list of (lon, lat) pairs, as in GeoJSON.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

EARTH_RADIUS_M = 6371008.8  # mean radius: only used for the local projection

Ring = Sequence[Sequence[float]]
Polygon = Sequence[Ring]
Shape = Sequence[Polygon]


class GeometryError(ValueError):
    pass


def shape_from_geojson(geometry: dict) -> list[list[list[tuple[float, float]]]]:
    """A GeoJSON Polygon / MultiPolygon as a shape with closed rings of (lon, lat) floats."""
    if not isinstance(geometry, dict):
        raise GeometryError("geometry must be an object")
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon":
        polygons = coords
    else:
        raise GeometryError(f"expected a Polygon or MultiPolygon, got {kind!r}")
    if not isinstance(polygons, list) or not polygons:
        raise GeometryError("a polygon needs coordinates")
    shape = []
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise GeometryError("a polygon needs at least its outer ring")
        shape.append([_ring(ring) for ring in polygon])
    return shape


def position(value) -> tuple[float, float]:
    """A GeoJSON position [lon, lat] as floats; GeometryError if it is not one."""
    if (not isinstance(value, (list, tuple)) or len(value) < 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value[:2])):
        raise GeometryError(f"bad position {value!r}: expected [lon, lat]")
    lon, lat = float(value[0]), float(value[1])
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise GeometryError(f"position {value!r} is not a longitude, latitude pair")
    return lon, lat


def _ring(ring) -> list[tuple[float, float]]:
    if not isinstance(ring, list):
        raise GeometryError("a ring must be a list of positions")
    points = [position(p) for p in ring]
    if points and points[0] != points[-1]:
        points.append(points[0])
    if len(points) < 4:
        raise GeometryError("a ring needs at least three distinct positions")
    return points


def map_points(shape: Shape, fn) -> list:
    """The shape with fn(lon, lat) -> (lon, lat) applied to every position."""
    return [[[fn(lon, lat) for lon, lat in ring] for ring in polygon] for polygon in shape]


def bbox(shape: Shape) -> tuple[float, float, float, float]:
    """(min_lat, min_lon, max_lat, max_lon)."""
    lons = [lon for polygon in shape for lon, _ in polygon[0]]
    lats = [lat for polygon in shape for _, lat in polygon[0]]
    return min(lats), min(lons), max(lats), max(lons)


def _in_ring(lon: float, lat: float, ring: Ring) -> bool:
    """Ray casting (even-odd rule)."""
    inside = False
    n = len(ring)
    j = n - 1
    for i in range(n):
        xi, yi = ring[i][0], ring[i][1]
        xj, yj = ring[j][0], ring[j][1]
        if (yi > lat) != (yj > lat):
            x_cross = xi + (lat - yi) * (xj - xi) / (yj - yi)
            if lon < x_cross:
                inside = not inside
        j = i
    return inside


def contains(shape: Shape, lat: float, lon: float) -> bool:
    """Is the point inside the shape (inside an outer ring and in none of its holes)?"""
    for polygon in shape:
        if _in_ring(lon, lat, polygon[0]) and not any(_in_ring(lon, lat, hole) for hole in polygon[1:]):
            return True
    return False


def _segment_distance(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def distance_to_boundary_m(shape: Shape, lat: float, lon: float) -> float:
    """Metres from the point to the nearest edge of the shape (outer rings and holes)."""
    k_lat = math.radians(1.0) * EARTH_RADIUS_M
    k_lon = k_lat * math.cos(math.radians(lat))
    best = math.inf
    for polygon in shape:
        for ring in polygon:
            previous = None
            for r_lon, r_lat in ring:
                point = ((r_lon - lon) * k_lon, (r_lat - lat) * k_lat)
                if previous is not None:
                    best = min(best, _segment_distance(0.0, 0.0, *previous, *point))
                previous = point
    return best


def distance_outside_m(shape: Shape, lat: float, lon: float) -> float:
    """0 if the point is inside the shape, else metres to its boundary."""
    return 0.0 if contains(shape, lat, lon) else distance_to_boundary_m(shape, lat, lon)


def centroid(shape: Shape) -> tuple[float, float]:
    """(lat, lon) of the area centroid of the outer rings (planar; fine at village scale). Falls back
    to the mean of the vertices for degenerate rings."""
    weight = wx = wy = 0.0
    for polygon in shape:
        ring = polygon[0]
        x_ref, y_ref = ring[0]  # relative coordinates keep the products small and exact enough
        area2 = cx = cy = 0.0
        for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
            x0, y0, x1, y1 = x0 - x_ref, y0 - y_ref, x1 - x_ref, y1 - y_ref
            cross = x0 * y1 - x1 * y0
            area2 += cross
            cx += (x0 + x1) * cross
            cy += (y0 + y1) * cross
        if area2 != 0.0:  # each ring weighs by its own area, whatever its orientation
            weight += abs(area2)
            wx += abs(area2) * (x_ref + cx / (3.0 * area2))
            wy += abs(area2) * (y_ref + cy / (3.0 * area2))
    if weight < 1e-18:
        points: Iterable = [p for polygon in shape for p in polygon[0]]
        points = list(points)
        return sum(p[1] for p in points) / len(points), sum(p[0] for p in points) / len(points)
    return wy / weight, wx / weight
