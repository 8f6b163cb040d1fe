"""Geotagging settings: the thresholds the visit checks use, read from the app config.

The settings themselves (PAICHA_GEO_*, PAICHA_GEOCODER*), their environment variables and their
defaults are in server/core/settings.py; `create_app` puts them in the app config. How the
thresholds combine:

    off_site        the visit is farther from the household than
                    SITE_RADIUS_M + ACCURACY_FACTOR * accuracy_m (+ GEOCODED_EXTRA_M if the
                    household's location came from the geocoder, not from the registry)
    poor_accuracy   accuracy_m above POOR_ACCURACY_M, or missing (a missing accuracy counts as
                    POOR_ACCURACY_M elsewhere)
    impossible_speed  between one visitor's consecutive fixes (by fix time) faster than
                    MAX_SPEED_KMH, once the two accuracy radii are taken off the distance, and only
                    if what is left exceeds SPEED_MIN_DISTANCE_M
    outside_area    farther outside the village boundary than max(BOUNDARY_TOLERANCE_M, accuracy_m)
    without boundaries, the nearest village centre counts only within CENTRE_MAX_M
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from server.core import settings

KEYS = ("PAICHA_GEO_SITE_RADIUS_M", "PAICHA_GEO_ACCURACY_FACTOR", "PAICHA_GEO_GEOCODED_EXTRA_M",
        "PAICHA_GEO_POOR_ACCURACY_M", "PAICHA_GEO_MAX_SPEED_KMH", "PAICHA_GEO_SPEED_MIN_DISTANCE_M",
        "PAICHA_GEO_BOUNDARY_TOLERANCE_M", "PAICHA_GEO_CENTRE_MAX_M", "PAICHA_GEOCODER", "PAICHA_GEOCODER_URL",
        "PAICHA_GEOCODER_USER_AGENT", "PAICHA_GEOCODER_MIN_DELAY_S", "PAICHA_GEOCODER_TIMEOUT_S",
        "PAICHA_GEOCODER_COUNTRY", "PAICHA_GEOCODER_CRS")
DEFAULTS: dict[str, object] = {key: settings.default(key) for key in KEYS}


def apply_defaults(config: dict) -> None:
    """The defaults of the keys an app config lacks (create_app sets them all)."""
    for key, default in DEFAULTS.items():
        config.setdefault(key, default)


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
