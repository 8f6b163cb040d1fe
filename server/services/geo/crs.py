"""Conversions between the three coordinate systems phones in China report.

- WGS-84: raw GPS (Android `LocationManager`, iOS Core Location, most PouchDB web apps).
- GCJ-02: the state-mandated offset ("Mars coordinates") used by AMap and Tencent maps.
- BD-09: Baidu's further offset of GCJ-02.

The GCJ-02 forward transform is the well-known public one (as in eviltransform and
coordtransform: Krasovsky semi-major axis 6378245 m and its eccentricity); outside a rectangle
around China the offset is not applied, so there GCJ-02 equals WGS-84. The inverses have no closed
form: we invert by fixed-point iteration to 1e-10 degree (about a centimetre), instead of the
one-step approximation (error up to a few metres) many libraries return.

Every function takes and returns (lat, lon) in decimal degrees: latitude first, like geopy.
"""
from __future__ import annotations

import math

WGS84 = "WGS-84"
GCJ02 = "GCJ-02"
BD09 = "BD-09"
SYSTEMS = (WGS84, GCJ02, BD09)

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as in the published GCJ-02 algorithm
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0
_TOLERANCE_DEG = 1e-10
_MAX_ITERATIONS = 30


def out_of_china(lat: float, lon: float) -> bool:
    """The rectangle outside which the GCJ-02 offset is not applied (as eviltransform)."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _offset(x: float, y: float) -> tuple[float, float]:
    """The raw offset polynomials in metres-ish units, of x = lon - 105, y = lat - 35."""
    common = 20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    d_lat += common * 2.0 / 3.0
    d_lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    d_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    d_lon += common * 2.0 / 3.0
    d_lon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    d_lon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return d_lat, d_lon


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    if out_of_china(lat, lon):
        return lat, lon
    d_lat, d_lon = _offset(lon - 105.0, lat - 35.0)
    rad_lat = lat / 180.0 * math.pi
    magic = 1.0 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return lat + d_lat, lon + d_lon


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    z = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def _invert(forward, lat: float, lon: float) -> tuple[float, float]:
    """The point p with forward(p) == (lat, lon): start at the target and move by the residual.
    The offsets vary slowly (their derivative is far below 1), so this converges in a few steps."""
    g_lat, g_lon = lat, lon
    for _ in range(_MAX_ITERATIONS):
        f_lat, f_lon = forward(g_lat, g_lon)
        e_lat, e_lon = f_lat - lat, f_lon - lon
        if abs(e_lat) < _TOLERANCE_DEG and abs(e_lon) < _TOLERANCE_DEG:
            break
        g_lat, g_lon = g_lat - e_lat, g_lon - e_lon
    return g_lat, g_lon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    if out_of_china(lat, lon):
        return lat, lon
    return _invert(wgs84_to_gcj02, lat, lon)


def bd09_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    return _invert(gcj02_to_bd09, lat, lon)


def wgs84_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lon))


def bd09_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))


_TO_WGS84 = {WGS84: lambda lat, lon: (lat, lon), GCJ02: gcj02_to_wgs84, BD09: bd09_to_wgs84}
_FROM_WGS84 = {WGS84: lambda lat, lon: (lat, lon), GCJ02: wgs84_to_gcj02, BD09: wgs84_to_bd09}


def to_wgs84(lat: float, lon: float, crs: str) -> tuple[float, float]:
    """(lat, lon) in `crs` ("WGS-84", "GCJ-02" or "BD-09") as WGS-84."""
    try:
        return _TO_WGS84[crs](lat, lon)
    except KeyError:
        raise ValueError(f"unknown coordinate system {crs!r}; expected one of {', '.join(SYSTEMS)}") from None


def from_wgs84(lat: float, lon: float, crs: str) -> tuple[float, float]:
    """A WGS-84 (lat, lon) expressed in `crs`."""
    try:
        return _FROM_WGS84[crs](lat, lon)
    except KeyError:
        raise ValueError(f"unknown coordinate system {crs!r}; expected one of {', '.join(SYSTEMS)}") from None


def convert(lat: float, lon: float, source: str, target: str) -> tuple[float, float]:
    return from_wgs84(*to_wgs84(lat, lon, source), target)
