"""Visit checks as pure functions: coordinate validation, distances (geopy) and the flags.

Flags of a household visit (settings.py has the thresholds and their defaults):

    missing_fix          the visit has no GPS fix (accepted, but nothing can be checked)
    poor_accuracy        the fix's accuracy radius is above POOR_ACCURACY_M, or was not reported
    off_site             farther from the household's registered location than
                         SITE_RADIUS_M + ACCURACY_FACTOR * accuracy (+ GEOCODED_EXTRA_M when the
                         household's location is a geocoded address, not a surveyed point)
    impossible_speed     the visitor would have had to travel faster than MAX_SPEED_KMH between this
                         fix and the previous or next one of theirs (by fix time); both accuracy radii
                         are taken off the distance first, and short hops are ignored
    outside_area         the point is not in the visit's village: farther outside its boundary than
                         max(BOUNDARY_TOLERANCE_M, accuracy), or (no boundary) nearest to another
                         village's centre, or near no known village of that district at all
    household_unlocated  the household is unknown or has no location, so off_site cannot be judged
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from schemas._formats import FIRST_YEAR, LAST_YEAR, OUT_OF_RANGE
from schemas.rules import Refusal

from server.services.geo import crs as crs_mod
from server.services.geo.settings import Thresholds

MISSING_FIX = "missing_fix"
POOR_ACCURACY = "poor_accuracy"
OFF_SITE = "off_site"
IMPOSSIBLE_SPEED = "impossible_speed"
OUTSIDE_AREA = "outside_area"
HOUSEHOLD_UNLOCATED = "household_unlocated"
FLAGS = (MISSING_FIX, POOR_ACCURACY, OFF_SITE, IMPOSSIBLE_SPEED, OUTSIDE_AREA, HOUSEHOLD_UNLOCATED)

# A fix this close to 0,0 (about a centimetre) is a phone reporting "no position" as zeros.
_NULL_ISLAND_DEG = 1e-7


def ordered_flags(flags) -> list[str]:
    """Flags without duplicates, in the order of FLAGS (unknown ones last, sorted)."""
    flags = set(flags)
    return [f for f in FLAGS if f in flags] + sorted(flags - set(FLAGS))


# -- validation ---------------------------------------------------------------------------------

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_point(lat: Any, lon: Any, where: str = "") -> str | None:
    """Why (lat, lon) is not a usable position, or None. `where` prefixes field names ("fix.")."""
    for name, value, limit in (("lat", lat, 90), ("lon", lon, 180)):
        if value is None:
            return f"{where}{name} is missing"
        if not _is_number(value):
            return f"{where}{name} must be a number of decimal degrees, not {type(value).__name__} {value!r}"
        if not math.isfinite(value):
            return f"{where}{name} is not a finite number ({value!r})"
        if not -limit <= value <= limit:
            return f"{where}{name} {value!r} is out of range (-{limit} to {limit})"
    if abs(lat) < _NULL_ISLAND_DEG and abs(lon) < _NULL_ISLAND_DEG:
        return f"{where}lat, {where}lon are 0, 0: that is the device reporting no position, not a place"
    return None


def _local_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 timestamp with a UTC offset, as an aware datetime in UTC; None if it is not one,
    or if its year is outside 1900 to 2100 (year 1 with a positive offset, or 9999 with a negative
    one, would overflow datetime on the way to UTC)."""
    moment = _local_time(value)
    if moment is None or not FIRST_YEAR <= moment.year <= LAST_YEAR:
        return None
    return moment.astimezone(dt.timezone.utc)


def time_problem(value: Any, name: str) -> str | None:
    """Why `value` (the field `name`) is not a timestamp `parse_time` can use, or None."""
    moment = _local_time(value)
    if moment is None:
        return f"{name} {value!r} is not an ISO 8601 timestamp with a UTC offset"
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        return f"{name} {value!r} is {OUT_OF_RANGE}"
    return None


def validate_location(location: Any, where: str = "location.") -> str | None:
    """Why a {lat, lon, crs} location is unusable, or None (also None for no location at all)."""
    if location is None:
        return None
    if not isinstance(location, dict):
        return f"{where.rstrip('.')} must be an object with lat, lon and crs"
    reason = validate_point(location.get("lat"), location.get("lon"), where)
    if reason:
        return reason
    system = location.get("crs")
    if system not in crs_mod.SYSTEMS:
        return f"{where}crs {system!r} is not one of {', '.join(crs_mod.SYSTEMS)}"
    return None


def validate_fix(fix: Any) -> str | None:
    """Why a visit's `fix` must be refused, or None. No fix at all (None) is accepted: the visit is
    then flagged missing_fix. Refused: not an object; lat/lon missing, text, booleans, NaN or
    infinite, out of range, or 0,0; an unknown crs; a negative or non-finite accuracy_m; a fix_time
    that is not an ISO 8601 timestamp with an offset, or not in the years 1900 to 2100."""
    if fix is None:
        return None
    reason = validate_location(fix, "fix.")
    if reason:
        return reason
    accuracy = fix.get("accuracy_m")
    if accuracy is not None and not (_is_number(accuracy) and math.isfinite(accuracy) and accuracy >= 0):
        return f"fix.accuracy_m must be a number of metres, 0 or more, not {accuracy!r}"
    if "fix_time" in fix:
        return time_problem(fix["fix_time"], "fix.fix_time")
    return None


def coordinates_refusal(doc: dict) -> Refusal | None:
    """The write rule (a document check, `server.core.hooks`): coordinates a JSON Schema cannot
    judge (0,0, a fix time without offset, ...) refuse a visit or a household."""
    if doc.get("type") == "household_visit":
        reason = validate_fix(doc.get("fix"))
    elif doc.get("type") == "household":
        reason = validate_location(doc.get("location"))
    else:
        return None
    return Refusal("bad_coordinates", reason) if reason else None


# -- positions -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fix:
    """A visit's fix: as sent (lat, lon, crs) and in WGS-84 (wgs_lat, wgs_lon)."""
    lat: float
    lon: float
    crs: str
    wgs_lat: float
    wgs_lon: float
    accuracy_m: float | None = None
    time: dt.datetime | None = None  # UTC

    @property
    def point(self) -> tuple[float, float]:
        return self.wgs_lat, self.wgs_lon


def parse_fix(fix: Any) -> Fix | None:
    """A valid fix (see validate_fix) as a Fix; None for no fix; ValueError for an invalid one."""
    if fix is None:
        return None
    reason = validate_fix(fix)
    if reason:
        raise ValueError(reason)
    lat, lon, system = float(fix["lat"]), float(fix["lon"]), fix["crs"]
    wgs_lat, wgs_lon = crs_mod.to_wgs84(lat, lon, system)
    accuracy = fix.get("accuracy_m")
    return Fix(lat, lon, system, wgs_lat, wgs_lon,
               float(accuracy) if accuracy is not None else None, parse_time(fix.get("fix_time")))


@dataclass(frozen=True)
class Place:
    """A registered household location in WGS-84 and where it came from ("registry": the household
    document; "geocoder": its address looked up by the deployment's geocoder)."""
    lat: float
    lon: float
    source: str = "registry"

    @property
    def point(self) -> tuple[float, float]:
        return self.lat, self.lon


@dataclass(frozen=True)
class Position:
    """One fix of a visitor's track: WGS-84 point, accuracy and time (for the speed check)."""
    lat: float
    lon: float
    accuracy_m: float | None
    time: dt.datetime


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance on the WGS-84 ellipsoid (geopy, Karney's algorithm), in metres."""
    # geopy brings its geocoders and an HTTP client with it (~0.1 s of every start): a process loads
    # it at its first distance, and most (a `flask` command, a server that sees no visit) never do.
    from geopy.distance import geodesic

    return geodesic(a, b).meters


# -- the checks -------------------------------------------------------------------------------------

def assumed_accuracy_m(accuracy_m: float | None, t: Thresholds) -> float:
    """A reported accuracy, or for a fix without one, the poor-accuracy threshold."""
    return t.poor_accuracy_m if accuracy_m is None else accuracy_m


def site_radius_m(accuracy_m: float | None, t: Thresholds, geocoded: bool = False) -> float:
    radius = t.site_radius_m + t.accuracy_factor * assumed_accuracy_m(accuracy_m, t)
    return radius + (t.geocoded_extra_m if geocoded else 0.0)


@dataclass
class SiteCheck:
    distance_m: float | None = None
    radius_m: float | None = None
    flags: list[str] = field(default_factory=list)


def check_site(fix: Fix | None, household: Place | None, t: Thresholds) -> SiteCheck:
    """missing_fix, poor_accuracy, off_site and household_unlocated for one visit."""
    if fix is None:
        return SiteCheck(flags=[MISSING_FIX])
    result = SiteCheck()
    if fix.accuracy_m is None or fix.accuracy_m > t.poor_accuracy_m:
        result.flags.append(POOR_ACCURACY)
    if household is None:
        result.flags.append(HOUSEHOLD_UNLOCATED)
        return result
    result.distance_m = distance_m(fix.point, household.point)
    result.radius_m = site_radius_m(fix.accuracy_m, t, geocoded=household.source == "geocoder")
    if result.distance_m > result.radius_m:
        result.flags.append(OFF_SITE)
    return result


def travel(a: Position, b: Position, t: Thresholds) -> tuple[float, bool]:
    """(speed in km/h, impossible?) between two fixes of one visitor. The distance counted is what
    is left after both accuracy radii; two fixes at the same second count as one second apart."""
    gap_m = distance_m((a.lat, a.lon), (b.lat, b.lon))
    gap_m -= assumed_accuracy_m(a.accuracy_m, t) + assumed_accuracy_m(b.accuracy_m, t)
    gap_m = max(0.0, gap_m)
    seconds = max(1.0, abs((b.time - a.time).total_seconds()))
    speed_kmh = gap_m / seconds * 3.6
    return speed_kmh, gap_m > t.speed_min_distance_m and speed_kmh > t.max_speed_kmh


def outside_area(
    expected_area: str | None,
    *,
    distance_outside_m: float | None,
    located_code: str | None,
    district_has_geography: bool,
    accuracy_m: float | None,
    t: Thresholds,
) -> bool:
    """Is the point outside the visit's area?

    distance_outside_m: metres outside the boundary of the expected area (0 inside), None when the
    area has no boundary; located_code: the village the point was found in (boundary or nearest
    centre), None if none; district_has_geography: whether any boundary or centre is known in the
    expected area's district (without any, nothing can be said and the flag is not raised)."""
    if not expected_area:
        return False
    if distance_outside_m is not None:
        tolerance = max(t.boundary_tolerance_m, accuracy_m or 0.0)
        return distance_outside_m > tolerance
    if located_code is not None:
        return not located_code.startswith(expected_area)
    return district_has_geography
