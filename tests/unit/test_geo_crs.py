"""WGS-84 <-> GCJ-02 <-> BD-09 against published reference points.

Sources (public, MIT-licensed reference implementations of the same algorithm):
- eviltransform, python/test.py, `TESTS` (wgsLat, wgsLng, gcjLat, gcjLng) for Shanghai, Shenzhen and
  Beijing: https://github.com/googollee/eviltransform/blob/master/python/test.py
  (its own gcj2wgs_exact is held to < 0.5 m; ours is held to < 1 cm).
- coordtransform README, "result" of the Node example for (lng 116.404, lat 39.915):
  https://github.com/wandergis/coordtransform#示例用法example&usage
  bd09togcj02, gcj02tobd09 and wgs84togcj02 are the forward formulas (compared to 1e-9 degree);
  gcj02towgs84 and bd09togcj02 there are one-step approximations, so ours (iterated) may differ by a
  few centimetres, and must invert the forward formula exactly.
"""
from __future__ import annotations

import math

import pytest
from geopy.distance import geodesic

from server.services.geo import crs

EVILTRANSFORM_TESTS = [
    # wgsLat, wgsLng, gcjLat, gcjLng
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # beijing
]

# coordtransform README: input (lat 39.915, lng 116.404); results given as [lng, lat].
CT_INPUT = (39.915, 116.404)
CT_BD09_TO_GCJ02 = (39.90865673957631, 116.39762729119315)
CT_GCJ02_TO_BD09 = (39.92133699351021, 116.41036949371029)
CT_WGS84_TO_GCJ02 = (39.91640428150164, 116.41024449916938)
CT_GCJ02_TO_WGS84 = (39.91359571849836, 116.39775550083061)

DEG = 1e-9  # about 0.1 mm


def metres(a, b) -> float:
    return geodesic(a, b).meters


@pytest.mark.parametrize("wgs_lat,wgs_lon,gcj_lat,gcj_lon", EVILTRANSFORM_TESTS)
def test_wgs84_to_gcj02_matches_eviltransform(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    lat, lon = crs.wgs84_to_gcj02(wgs_lat, wgs_lon)
    assert lat == pytest.approx(gcj_lat, abs=DEG)
    assert lon == pytest.approx(gcj_lon, abs=DEG)


@pytest.mark.parametrize("wgs_lat,wgs_lon,gcj_lat,gcj_lon", EVILTRANSFORM_TESTS)
def test_gcj02_to_wgs84_is_exact_to_a_centimetre(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    back = crs.gcj02_to_wgs84(gcj_lat, gcj_lon)
    assert metres(back, (wgs_lat, wgs_lon)) < 0.01


def test_the_gcj02_offset_is_hundreds_of_metres_so_it_matters():
    wgs_lat, wgs_lon, gcj_lat, gcj_lon = EVILTRANSFORM_TESTS[2]
    assert 300 < metres((wgs_lat, wgs_lon), (gcj_lat, gcj_lon)) < 1000


def test_forward_formulas_match_coordtransform_readme():
    assert crs.wgs84_to_gcj02(*CT_INPUT) == pytest.approx(CT_WGS84_TO_GCJ02, abs=DEG)
    assert crs.gcj02_to_bd09(*CT_INPUT) == pytest.approx(CT_GCJ02_TO_BD09, abs=DEG)


def test_inverse_formulas_agree_with_coordtransform_readme_and_invert_exactly():
    gcj = crs.bd09_to_gcj02(*CT_INPUT)
    assert metres(gcj, CT_BD09_TO_GCJ02) < 0.1  # their one-step inverse is within centimetres
    assert crs.gcj02_to_bd09(*gcj) == pytest.approx(CT_INPUT, abs=DEG)
    wgs = crs.gcj02_to_wgs84(*CT_INPUT)
    assert metres(wgs, CT_GCJ02_TO_WGS84) < 0.5
    assert crs.wgs84_to_gcj02(*wgs) == pytest.approx(CT_INPUT, abs=DEG)


@pytest.mark.parametrize("lat,lon", [
    (34.3412, 108.7205),  # Xi'an region
    (45.75, 126.65),  # Harbin
    (18.25, 109.5),  # Sanya
    (43.8, 87.6),  # Urumqi
    (29.65, 91.1),  # Lhasa
])
@pytest.mark.parametrize("system", [crs.GCJ02, crs.BD09])
def test_round_trips_within_a_centimetre(lat, lon, system):
    there = crs.from_wgs84(lat, lon, system)
    assert metres(there, (lat, lon)) > 50  # really shifted
    back = crs.to_wgs84(*there, system)
    assert metres(back, (lat, lon)) < 0.01


def test_convert_between_any_two_systems():
    point = (34.3412, 108.7205)
    bd = crs.convert(*point, crs.WGS84, crs.BD09)
    gcj = crs.convert(*bd, crs.BD09, crs.GCJ02)
    assert gcj == pytest.approx(crs.wgs84_to_gcj02(*point), abs=1e-8)
    assert crs.convert(*point, crs.WGS84, crs.WGS84) == point


@pytest.mark.parametrize("lat,lon", [(48.8566, 2.3522), (-33.87, 151.21), (51.5, -0.12), (0.5, 100.0)])
def test_outside_china_gcj02_is_wgs84(lat, lon):
    assert crs.out_of_china(lat, lon)
    assert crs.wgs84_to_gcj02(lat, lon) == (lat, lon)
    assert crs.gcj02_to_wgs84(lat, lon) == (lat, lon)


def test_unknown_system_is_an_error():
    with pytest.raises(ValueError, match="unknown coordinate system"):
        crs.to_wgs84(34.0, 108.0, "EPSG:4490")
    with pytest.raises(ValueError):
        crs.from_wgs84(34.0, 108.0, "wgs84")


def test_results_are_finite_near_the_china_rectangle_edges():
    for lat, lon in [(0.83, 72.01), (55.82, 137.83), (0.83, 137.83), (55.82, 72.01)]:
        for system in (crs.GCJ02, crs.BD09):
            out = crs.to_wgs84(lat, lon, system)
            assert all(math.isfinite(v) for v in out)
