"""Point-in-polygon, distance to a boundary, and parsing the boundary GeoJSON fixture."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.services.geo import crs, geometry
from server.services.geo.checks import distance_m
from server.services.geo.locate import BoundaryImportError, parse_boundaries

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "geo" / "villages.geojson"
SQUARE = geometry.shape_from_geojson({"type": "Polygon", "coordinates": [
    [[108.70, 34.30], [108.72, 34.30], [108.72, 34.32], [108.70, 34.32], [108.70, 34.30]]]})
WITH_HOLE = geometry.shape_from_geojson({"type": "Polygon", "coordinates": [
    [[108.72, 34.30], [108.74, 34.30], [108.74, 34.32], [108.72, 34.32]],  # ring left open: closed for us
    [[108.725, 34.305], [108.730, 34.305], [108.730, 34.310], [108.725, 34.310], [108.725, 34.305]]]})
# A U opening to the north: the notch (108.705..108.715, 34.305..34.32) is outside.
U_SHAPE = geometry.shape_from_geojson({"type": "Polygon", "coordinates": [[
    [108.70, 34.30], [108.72, 34.30], [108.72, 34.32], [108.715, 34.32], [108.715, 34.305],
    [108.705, 34.305], [108.705, 34.32], [108.70, 34.32], [108.70, 34.30]]]})


def test_contains():
    assert geometry.contains(SQUARE, 34.31, 108.71)
    assert not geometry.contains(SQUARE, 34.33, 108.71)
    assert not geometry.contains(SQUARE, 34.31, 108.6999)


def test_holes_are_outside():
    assert geometry.contains(WITH_HOLE, 34.302, 108.735)
    assert not geometry.contains(WITH_HOLE, 34.307, 108.727)  # in the hole


def test_concave():
    assert geometry.contains(U_SHAPE, 34.302, 108.71)  # the bottom of the U
    assert not geometry.contains(U_SHAPE, 34.31, 108.71)  # the notch
    assert geometry.contains(U_SHAPE, 34.31, 108.702)  # the left arm


def test_distance_to_boundary_matches_geodesic():
    # 0.001 degree east of the east edge, at 34.31 N
    outside = (34.31, 108.721)
    expected = distance_m(outside, (34.31, 108.72))
    got = geometry.distance_outside_m(SQUARE, *outside)
    assert got == pytest.approx(expected, rel=0.005)
    assert geometry.distance_outside_m(SQUARE, 34.31, 108.71) == 0.0
    # from inside, the distance to the nearest edge (the south edge, 0.001 degree away)
    assert geometry.distance_to_boundary_m(SQUARE, 34.301, 108.71) == pytest.approx(110.9, abs=0.5)


def test_distance_from_a_hole_is_to_the_hole_edge():
    centre = (34.3075, 108.7275)  # of the 0.005-degree hole: nearest are its east and west edges
    got = geometry.distance_outside_m(WITH_HOLE, *centre)
    assert got == pytest.approx(distance_m(centre, (34.3075, 108.730)), rel=0.005)


def test_centroid_and_bbox():
    assert geometry.centroid(SQUARE) == pytest.approx((34.31, 108.71))
    assert geometry.bbox(SQUARE) == (34.30, 108.70, 34.32, 108.72)
    clockwise = geometry.shape_from_geojson({"type": "Polygon", "coordinates": [
        [[108.70, 34.30], [108.70, 34.32], [108.72, 34.32], [108.72, 34.30], [108.70, 34.30]]]})
    assert geometry.centroid(clockwise) == pytest.approx((34.31, 108.71))
    two = geometry.shape_from_geojson({"type": "MultiPolygon", "coordinates": [
        SQUARE[0], [[[108.80, 34.30], [108.82, 34.30], [108.82, 34.32], [108.80, 34.32], [108.80, 34.30]]]]})
    assert geometry.centroid(two) == pytest.approx((34.31, 108.76))


@pytest.mark.parametrize("geom,message", [
    ({"type": "Point", "coordinates": [108.7, 34.3]}, "Polygon or MultiPolygon"),
    ({"type": "Polygon", "coordinates": []}, "outer ring"),
    ({"type": "MultiPolygon", "coordinates": []}, "needs coordinates"),
    ({"type": "Polygon", "coordinates": [[[108.7, 34.3], [108.8, 34.3], [108.7, 34.3]]]}, "three distinct"),
    ({"type": "Polygon", "coordinates": [[[108.7, 34.3], [108.8, "34.3"], [108.8, 34.4], [108.7, 34.3]]]}, "bad position"),
    ({"type": "Polygon", "coordinates": [[[34.3, 208.7], [34.3, 208.8], [34.4, 208.8], [34.3, 208.7]]]}, "not a longitude"),
    ("POLYGON((...))", "must be an object"),
])
def test_bad_geometry(geom, message):
    with pytest.raises(geometry.GeometryError, match=message):
        geometry.shape_from_geojson(geom)


def test_parse_the_fixture():
    rows = {r["code"]: r for r in parse_boundaries(json.loads(FIXTURE.read_text(encoding="utf-8")))}
    assert sorted(c for c, r in rows.items() if "boundary" in r) == ["990201001001", "990201001002", "990201001003"]
    assert sorted(c for c, r in rows.items() if "boundary" not in r) == ["990201001004", "990202001001", "990202001002"]
    jia = rows["990201001001"]
    assert (jia["min_lat"], jia["min_lon"], jia["max_lat"], jia["max_lon"]) == (34.30, 108.70, 34.32, 108.72)
    assert (jia["centre_lat"], jia["centre_lon"]) == pytest.approx((34.31, 108.71))
    assert jia["district"] == "990201" and jia["name"] == "甲村（测试）"
    assert rows["990201001004"]["centre_lat"] == 34.35
    yi = json.loads(rows["990201001002"]["boundary"])
    assert len(yi) == 2 and len(yi[0]) == 2  # two polygons, the first with a hole
    assert not geometry.contains(yi, 34.307, 108.727) and geometry.contains(yi, 34.305, 108.765)


def test_parse_converts_from_gcj02():
    data = {"type": "Feature", "properties": {"code": "990201001001"},
            "geometry": {"type": "Point", "coordinates": list(reversed(crs.wgs84_to_gcj02(34.31, 108.71)))}}
    (row,) = parse_boundaries(data, "GCJ-02")
    assert distance_m((row["centre_lat"], row["centre_lon"]), (34.31, 108.71)) < 0.01


@pytest.mark.parametrize("data,message", [
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": "9902"},
                                                 "geometry": {"type": "Point", "coordinates": [108.7, 34.3]}}]},
     "12-digit village code"),
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": "990201001001"},
                                                 "geometry": None}]}, "feature 1 \\(990201001001\\)"),
    ({"type": "Topology"}, "FeatureCollection"),
    ({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "990201001001"}, "geometry": SQUARE and
         {"type": "Polygon", "coordinates": [[[108.70, 34.30], [108.72, 34.30], [108.72, 34.32], [108.70, 34.30]]]}}] * 2},
     "more than one boundary"),
])
def test_bad_boundary_files_are_refused_whole(data, message):
    with pytest.raises(BoundaryImportError, match=message):
        parse_boundaries(data)
