"""Geotagging settings: app config keys, their environment variables (same names) and defaults.

    key                               default  meaning
    PAICHA_GEO_SITE_RADIUS_M          100      off_site if the visit is farther than
    PAICHA_GEO_ACCURACY_FACTOR        1.0        radius = SITE_RADIUS_M + ACCURACY_FACTOR * accuracy_m
                                                 (+ GEOCODED_EXTRA_M if the household's location
                                                 came from the geocoder, not from the registry)
    PAICHA_GEO_GEOCODED_EXTRA_M       500      address geocoding in the countryside is coarse
    PAICHA_GEO_POOR_ACCURACY_M        100      poor_accuracy if accuracy_m is above this or missing;
                                               a missing accuracy counts as this value elsewhere
    PAICHA_GEO_MAX_SPEED_KMH          120      impossible_speed between one visitor's consecutive
                                               fixes (by fix time) faster than this...
    PAICHA_GEO_SPEED_MIN_DISTANCE_M   200      ...once the two accuracy radii are taken off the
                                               distance, and only if what is left exceeds this
    PAICHA_GEO_BOUNDARY_TOLERANCE_M   50       outside_area only if the point is farther outside
                                               the village boundary than max(this, accuracy_m)
    PAICHA_GEO_CENTRE_MAX_M           3000     without boundaries, the nearest village centre
                                               counts only within this distance
    PAICHA_GEOCODER                   ""       "" (none, the default) or "nominatim"
    PAICHA_GEOCODER_URL               ""       e.g. http://nominatim.internal:8080 (self-hosted)
    PAICHA_GEOCODER_USER_AGENT        paicha   sent to the geocoder
    PAICHA_GEOCODER_MIN_DELAY_S       1.0      at most one request per this many seconds
    PAICHA_GEOCODER_TIMEOUT_S         10       per request
    PAICHA_GEOCODER_COUNTRY           cn       restrict results to these country codes ("" = any)
    PAICHA_GEOCODER_CRS               WGS-84   what the geocoder answers in (OSM data: WGS-84)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

DEFAULTS: dict[str, object] = {
    "PAICHA_GEO_SITE_RADIUS_M": 100.0,
    "PAICHA_GEO_ACCURACY_FACTOR": 1.0,
    "PAICHA_GEO_GEOCODED_EXTRA_M": 500.0,
    "PAICHA_GEO_POOR_ACCURACY_M": 100.0,
    "PAICHA_GEO_MAX_SPEED_KMH": 120.0,
    "PAICHA_GEO_SPEED_MIN_DISTANCE_M": 200.0,
    "PAICHA_GEO_BOUNDARY_TOLERANCE_M": 50.0,
    "PAICHA_GEO_CENTRE_MAX_M": 3000.0,
    "PAICHA_GEOCODER": "",
    "PAICHA_GEOCODER_URL": "",
    "PAICHA_GEOCODER_USER_AGENT": "paicha",
    "PAICHA_GEOCODER_MIN_DELAY_S": 1.0,
    "PAICHA_GEOCODER_TIMEOUT_S": 10.0,
    "PAICHA_GEOCODER_COUNTRY": "cn",
    "PAICHA_GEOCODER_CRS": "WGS-84",
}


def apply_defaults(config: dict, environ: Mapping[str, str] | None = None) -> None:
    """Fill in every key not already set (by test_config or the deployment) from the environment,
    else from DEFAULTS; numbers from the environment are parsed as the default's type."""
    environ = os.environ if environ is None else environ
    for key, default in DEFAULTS.items():
        if key in config:
            continue
        raw = environ.get(key)
        if raw is None or raw == "":
            config[key] = default
        elif isinstance(default, float):
            try:
                config[key] = float(raw)
            except ValueError:
                raise ValueError(f"{key} must be a number, got {raw!r}") from None
        else:
            config[key] = raw


@dataclass(frozen=True)
class Thresholds:
    site_radius_m: float = 100.0
    accuracy_factor: float = 1.0
    geocoded_extra_m: float = 500.0
    poor_accuracy_m: float = 100.0
    max_speed_kmh: float = 120.0
    speed_min_distance_m: float = 200.0
    boundary_tolerance_m: float = 50.0
    centre_max_m: float = 3000.0

    @classmethod
    def from_config(cls, config: Mapping) -> "Thresholds":
        def get(key: str) -> float:
            return float(config.get(key, DEFAULTS[key]))

        return cls(
            site_radius_m=get("PAICHA_GEO_SITE_RADIUS_M"),
            accuracy_factor=get("PAICHA_GEO_ACCURACY_FACTOR"),
            geocoded_extra_m=get("PAICHA_GEO_GEOCODED_EXTRA_M"),
            poor_accuracy_m=get("PAICHA_GEO_POOR_ACCURACY_M"),
            max_speed_kmh=get("PAICHA_GEO_MAX_SPEED_KMH"),
            speed_min_distance_m=get("PAICHA_GEO_SPEED_MIN_DISTANCE_M"),
            boundary_tolerance_m=get("PAICHA_GEO_BOUNDARY_TOLERANCE_M"),
            centre_max_m=get("PAICHA_GEO_CENTRE_MAX_M"),
        )
