"""Visit checks as pure functions: fix validation, geodesic distance, and each flag rule with known
points (0.001 degree of latitude near 34.3 N is 110.9 m; one of longitude there is 92.0 m)."""
from __future__ import annotations

import datetime as dt
import math

import pytest

from server.services.geo import checks, crs
from server.services.geo.checks import (
    HOUSEHOLD_UNLOCATED,
    MISSING_FIX,
    OFF_SITE,
    POOR_ACCURACY,
    Place,
    Position,
    validate_fix,
)
from server.core.settings import Settings
from server.services.geo.settings import DEFAULTS, Thresholds, apply_defaults

T = Thresholds()
HOME = Place(34.31, 108.71)
UTC = dt.timezone.utc
T0 = dt.datetime(2024, 5, 21, 2, 0, tzinfo=UTC)


def fix(lat=34.31, lon=108.71, system="WGS-84", accuracy=10.0, time="2024-05-21T10:04:51+08:00"):
    raw = {"lat": lat, "lon": lon, "crs": system, "fix_time": time}
    if accuracy is not None:
        raw["accuracy_m"] = accuracy
    return checks.parse_fix(raw)


# -- validate_fix -------------------------------------------------------------------------------------

GOOD = {"lat": 34.34118, "lon": 108.72049, "accuracy_m": 12.5, "fix_time": "2024-05-21T10:04:51+08:00",
        "crs": "WGS-84"}


@pytest.mark.parametrize("changes,reason", [
    ({}, None),
    ({"crs": "GCJ-02"}, None),
    ({"crs": "BD-09", "accuracy_m": 0}, None),
    ({"fix_time": "2024-05-21T02:04:51Z"}, None),
    ({"lat": -90, "lon": 180}, None),
    ({"lat": 91}, "fix.lat 91 is out of range"),
    ({"lat": -90.0001}, "out of range"),
    ({"lon": 180.5}, "fix.lon 180.5 is out of range"),
    ({"lat": 0, "lon": 0}, "0, 0"),
    ({"lat": 0.0, "lon": -0.0}, "0, 0"),
    ({"lat": float("nan")}, "fix.lat is not a finite number"),
    ({"lon": float("inf")}, "fix.lon is not a finite number"),
    ({"lat": "34.3"}, "fix.lat must be a number"),
    ({"lon": "东经108度"}, "fix.lon must be a number"),
    ({"lat": True}, "fix.lat must be a number"),
    ({"lat": None}, "fix.lat is missing"),
    ({"crs": "WGS84"}, "fix.crs 'WGS84' is not one of WGS-84, GCJ-02, BD-09"),
    ({"crs": None}, "fix.crs"),
    ({"accuracy_m": -1}, "fix.accuracy_m"),
    ({"accuracy_m": float("nan")}, "fix.accuracy_m"),
    ({"accuracy_m": "10"}, "fix.accuracy_m"),
    ({"fix_time": "2024-05-21 10:04"}, "fix.fix_time"),
    ({"fix_time": "2024-05-21T10:04:51"}, "with a UTC offset"),
    # datetime overflows turning these into UTC: refused with a reason, never an exception
    ({"fix_time": "0001-01-01T00:00:00+14:00"},
     "fix.fix_time '0001-01-01T00:00:00+14:00' is outside the years 1900 to 2100"),
    ({"fix_time": "9999-12-31T23:59:59-23:59"},
     "fix.fix_time '9999-12-31T23:59:59-23:59' is outside the years 1900 to 2100"),
    ({"fix_time": "1899-12-31T23:59:59Z"}, "is outside the years 1900 to 2100"),
    ({"fix_time": "2100-12-31T23:59:59-12:00"}, None),
])
def test_validate_fix(changes, reason):
    got = validate_fix({**GOOD, **changes})
    if reason is None:
        assert got is None
    else:
        assert got is not None and reason in got


def test_no_fix_is_accepted_but_a_missing_lat_or_a_non_object_is_not():
    assert validate_fix(None) is None
    assert "fix.lat is missing" in validate_fix({"lon": 108.7, "crs": "WGS-84"})
    assert "must be an object" in validate_fix("34.3,108.7")
    assert "must be an object" in validate_fix([34.3, 108.7])


def test_parse_fix_converts_to_wgs84_and_keeps_the_original():
    wgs = (34.31, 108.71)
    gcj = crs.wgs84_to_gcj02(*wgs)
    f = fix(*gcj, system="GCJ-02")
    assert (f.lat, f.lon, f.crs) == (gcj[0], gcj[1], "GCJ-02")
    assert checks.distance_m(f.point, wgs) < 0.01
    assert f.time == dt.datetime(2024, 5, 21, 2, 4, 51, tzinfo=UTC)
    with pytest.raises(ValueError):
        checks.parse_fix({**GOOD, "lat": 0, "lon": 0})
    assert checks.parse_fix(None) is None


# -- distance -----------------------------------------------------------------------------------------

def test_distance_is_geodesic_not_great_circle():
    # geopy's documentation: Newport, RI to Cleveland, OH is 538.39044536 miles on the WGS-84
    # ellipsoid (the great-circle figure is 536.997990696 miles).
    newport_ri, cleveland_oh = (41.49008, -71.312796), (41.499498, -81.695391)
    assert checks.distance_m(newport_ri, cleveland_oh) == pytest.approx(538.39044536 * 1609.344, abs=0.01)


def test_distance_of_known_small_offsets():
    assert checks.distance_m((34.31, 108.71), (34.311, 108.71)) == pytest.approx(110.9, abs=0.2)
    assert checks.distance_m((34.31, 108.71), (34.31, 108.711)) == pytest.approx(92.0, abs=0.2)


# -- site flags ----------------------------------------------------------------------------------------

def test_a_visit_at_the_household_has_no_flags():
    result = checks.check_site(fix(34.3105, 108.71), HOME, T)
    assert result.flags == []
    assert result.distance_m == pytest.approx(55.5, abs=0.2)
    assert result.radius_m == 110.0


def test_off_site_beyond_the_radius():
    result = checks.check_site(fix(34.312, 108.71), HOME, T)  # 222 m, radius 100 + 10
    assert result.flags == [OFF_SITE]
    assert result.distance_m == pytest.approx(221.8, abs=0.3)


def test_the_radius_grows_with_the_reported_accuracy():
    result = checks.check_site(fix(34.312, 108.71, accuracy=150.0), HOME, T)  # radius 250
    assert result.radius_m == 250.0
    assert result.flags == [POOR_ACCURACY]
    custom = Thresholds(site_radius_m=50, accuracy_factor=2.0)
    assert checks.site_radius_m(30.0, custom) == 110.0


def test_no_accuracy_is_poor_accuracy_and_counts_as_the_threshold():
    result = checks.check_site(fix(34.3105, 108.71, accuracy=None), HOME, T)
    assert result.flags == [POOR_ACCURACY]
    assert result.radius_m == 200.0


def test_accuracy_at_the_threshold_is_not_poor():
    assert checks.check_site(fix(accuracy=100.0), HOME, T).flags == []
    assert checks.check_site(fix(accuracy=100.5), HOME, T).flags == [POOR_ACCURACY]


def test_a_geocoded_household_location_gets_extra_room():
    geocoded = Place(HOME.lat, HOME.lon, "geocoder")
    result = checks.check_site(fix(34.314, 108.71), geocoded, T)  # 444 m
    assert result.radius_m == 610.0 and result.flags == []
    assert checks.check_site(fix(34.314, 108.71), HOME, T).flags == [OFF_SITE]


def test_missing_fix_and_unlocated_household():
    assert checks.check_site(None, HOME, T).flags == [MISSING_FIX]
    result = checks.check_site(fix(), None, T)
    assert result.flags == [HOUSEHOLD_UNLOCATED] and result.distance_m is None


@pytest.mark.parametrize("system", ["GCJ-02", "BD-09"])
def test_a_map_sdk_fix_of_the_households_own_spot_is_not_off_site(system):
    there = crs.from_wgs84(HOME.lat, HOME.lon, system)
    assert checks.distance_m(there, HOME.point) > 300  # read as WGS-84 it would be off site
    result = checks.check_site(fix(*there, system=system), HOME, T)
    assert result.flags == [] and result.distance_m < 0.01


# -- impossible speed -----------------------------------------------------------------------------------

def pos(lat, lon, minutes, accuracy=10.0):
    return Position(lat, lon, accuracy, T0 + dt.timedelta(minutes=minutes))


def test_ten_km_in_four_minutes_is_impossible():
    kmh, impossible = checks.travel(pos(34.30, 108.71, 0), pos(34.39, 108.71, 4), T)
    assert impossible and kmh == pytest.approx((9981 - 20) / 240 * 3.6, rel=0.01)


def test_ten_km_in_an_hour_is_fine_and_order_does_not_matter():
    a, b = pos(34.30, 108.71, 0), pos(34.39, 108.71, 60)
    assert checks.travel(a, b, T) == checks.travel(b, a, T)
    assert checks.travel(a, b, T)[1] is False


def test_short_hops_and_accuracy_are_forgiven():
    # 300 m apart at the same second: 300 - 2 * 50 (accuracy) = 200 m, not more than the minimum.
    a, b = pos(34.3100, 108.71, 0, 50.0), pos(34.3127, 108.71, 0, 50.0)
    assert checks.travel(a, b, T)[1] is False
    # the same with good accuracy is a jump no one makes
    a, b = pos(34.3100, 108.71, 0, 5.0), pos(34.3127, 108.71, 0, 5.0)
    assert checks.travel(a, b, T)[1] is True


def test_speed_threshold_is_configurable():
    a, b = pos(34.30, 108.71, 0), pos(34.39, 108.71, 10)  # about 60 km/h
    assert checks.travel(a, b, T)[1] is False
    assert checks.travel(a, b, Thresholds(max_speed_kmh=40))[1] is True


# -- outside area ---------------------------------------------------------------------------------------

def outside(**kw):
    args = dict(distance_outside_m=None, located_code=None, district_has_geography=False, accuracy_m=10.0, t=T)
    args.update(kw)
    return checks.outside_area("990201001001", **args)


def test_outside_area_with_a_boundary_uses_the_tolerance():
    assert outside(distance_outside_m=0.0) is False
    assert outside(distance_outside_m=49.0) is False
    assert outside(distance_outside_m=51.0) is True
    assert outside(distance_outside_m=120.0, accuracy_m=150.0) is False  # within the accuracy radius


def test_outside_area_without_a_boundary_uses_the_village_found():
    assert outside(located_code="990201001001") is False
    assert outside(located_code="990201001002") is True


def test_outside_area_when_no_village_is_found():
    assert outside(district_has_geography=True) is True  # the district is mapped, the point is off it
    assert outside(district_has_geography=False) is False  # nothing known: no judgement
    assert checks.outside_area("", distance_outside_m=500.0, located_code=None, district_has_geography=True,
                               accuracy_m=None, t=T) is False


def test_ordered_flags():
    assert checks.ordered_flags(["outside_area", "off_site", "zzz", "off_site"]) == ["off_site", "outside_area", "zzz"]
    assert checks.FLAGS == ("missing_fix", "poor_accuracy", "off_site", "impossible_speed", "outside_area",
                            "household_unlocated")


# -- settings --------------------------------------------------------------------------------------------

def test_defaults_from_environment_and_config():
    config = Settings.from_env({"PAICHA_GEO_MAX_SPEED_KMH": "90", "PAICHA_GEOCODER": "nominatim"},
                               overrides={"PAICHA_GEO_SITE_RADIUS_M": 80.0}).config()
    assert config["PAICHA_GEO_SITE_RADIUS_M"] == 80.0  # set by the deployment: kept
    assert config["PAICHA_GEO_MAX_SPEED_KMH"] == 90.0
    assert config["PAICHA_GEOCODER"] == "nominatim"
    assert config["PAICHA_GEO_POOR_ACCURACY_M"] == DEFAULTS["PAICHA_GEO_POOR_ACCURACY_M"]
    t = Thresholds.from_config(config)
    assert (t.site_radius_m, t.max_speed_kmh, t.poor_accuracy_m) == (80.0, 90.0, 100.0)
    assert Thresholds.from_config({}) == Thresholds()
    with pytest.raises(ValueError, match="PAICHA_GEO_CENTRE_MAX_M"):
        Settings.from_env({"PAICHA_GEO_CENTRE_MAX_M": "far"})
    bare = {"PAICHA_GEO_SITE_RADIUS_M": 80.0}
    apply_defaults(bare)  # an app config not made by create_app
    assert bare == {**DEFAULTS, "PAICHA_GEO_SITE_RADIUS_M": 80.0}


def test_thresholds_defaults_match_the_documented_defaults():
    t = Thresholds()
    assert Thresholds.from_config(DEFAULTS) == t
    assert all(math.isfinite(v) for v in vars(t).values())
