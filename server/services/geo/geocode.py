"""The optional address geocoder: households registered without a location can be placed from their
address by a geocoder the deployment runs (e.g. a self-hosted Nominatim with the OSM extract for
China: PAICHA_GEOCODER=nominatim, PAICHA_GEOCODER_URL=http://nominatim.internal:8080).

Never required and never called inside a write: only `flask households geocode` (and `import
--geocode`) use it. Requests go through geopy's RateLimiter (at most one per
PAICHA_GEOCODER_MIN_DELAY_S) and every answer, found or not, is cached in geo_geocode_cache, so an
address is asked once. Failures (timeouts, 5xx) are not cached and are retried on the next run.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urlsplit

import sqlalchemy as sa

from server.services.geo import crs as crs_mod
from server.services.geo.tables import geo_geocode_cache

log = logging.getLogger(__name__)


class GeocoderNotConfigured(RuntimeError):
    pass


@dataclass(frozen=True)
class Geocoded:
    lat: float  # WGS-84
    lon: float
    display: str | None = None


def _nominatim(config: Mapping):
    # geopy loads with the first geocoder made, not with every process (see checks.distance_m).
    from geopy.geocoders import Nominatim

    url = config.get("PAICHA_GEOCODER_URL") or ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise GeocoderNotConfigured(f"PAICHA_GEOCODER_URL must be an http(s) URL, got {url!r}")
    return Nominatim(domain=parts.netloc + parts.path.rstrip("/"), scheme=parts.scheme,
                     user_agent=config.get("PAICHA_GEOCODER_USER_AGENT") or "paicha",
                     timeout=float(config.get("PAICHA_GEOCODER_TIMEOUT_S") or 10))


PROVIDERS: dict[str, Callable] = {"nominatim": _nominatim}


class Geocoder:
    """geocoder.lookup(conn, query) -> Geocoded | None, cached and rate-limited."""

    def __init__(self, config: Mapping):
        provider = (config.get("PAICHA_GEOCODER") or "").strip().lower()
        if not provider:
            raise GeocoderNotConfigured("no geocoder is configured (set PAICHA_GEOCODER and PAICHA_GEOCODER_URL)")
        if provider not in PROVIDERS:
            raise GeocoderNotConfigured(f"unknown geocoder {provider!r}; known: {', '.join(PROVIDERS)}")
        self.geopy = PROVIDERS[provider](config)
        from geopy.extra.rate_limiter import RateLimiter  # with the provider, not at import (checks.distance_m)

        self.name = f"{provider}:{config.get('PAICHA_GEOCODER_URL') or ''}"[:100]
        self.country = (config.get("PAICHA_GEOCODER_COUNTRY") or "").strip() or None
        self.crs = config.get("PAICHA_GEOCODER_CRS") or crs_mod.WGS84
        if self.crs not in crs_mod.SYSTEMS:
            raise GeocoderNotConfigured(f"PAICHA_GEOCODER_CRS {self.crs!r} is not one of {', '.join(crs_mod.SYSTEMS)}")
        delay = float(config.get("PAICHA_GEOCODER_MIN_DELAY_S") or 0)
        self._geocode = RateLimiter(self.geopy.geocode, min_delay_seconds=delay, max_retries=1,
                                    error_wait_seconds=max(delay, 1.0), swallow_exceptions=False)
        self.requests = 0  # answered by the geocoder (not the cache), for reports and tests

    def _key(self, query: str) -> str:
        return hashlib.sha256(f"{self.name}\n{self.country}\n{query}".encode()).hexdigest()

    def cached(self, conn: sa.Connection, query: str) -> tuple[bool, Geocoded | None]:
        """(asked before?, the answer then)."""
        row = conn.execute(sa.select(geo_geocode_cache).where(
            geo_geocode_cache.c.key == self._key(normalize(query)))).first()
        if row is None:
            return False, None
        return True, (Geocoded(row.lat, row.lon, row.display) if row.found else None)

    def ask(self, query: str) -> Geocoded | None:
        """Ask the geocoder (rate-limited; no cache). GeopyError when it fails."""
        kwargs = {"exactly_one": True}
        if self.country:
            kwargs["country_codes"] = self.country
        location = self._geocode(normalize(query), **kwargs)
        self.requests += 1
        if location is None:
            return None
        lat, lon = crs_mod.to_wgs84(float(location.latitude), float(location.longitude), self.crs)
        return Geocoded(lat, lon, (location.address or "")[:1000] or None)

    def remember(self, conn: sa.Connection, query: str, answer: Geocoded | None) -> None:
        query = normalize(query)
        conn.execute(geo_geocode_cache.delete().where(geo_geocode_cache.c.key == self._key(query)))
        conn.execute(geo_geocode_cache.insert().values(
            key=self._key(query), provider=self.name, query=query, found=answer is not None,
            lat=answer.lat if answer else None, lon=answer.lon if answer else None,
            display=answer.display if answer else None, created_at=dt.datetime.now(dt.timezone.utc)))

    def lookup(self, conn: sa.Connection, query: str) -> Geocoded | None:
        """Cached answer, else ask and remember it. A failure is logged, not cached, and gives None.
        (Holds `conn` across the request: callers with a busy store use cached / ask / remember.)"""
        from geopy.exc import GeopyError  # with the geocoder, not at import (checks.distance_m)

        hit, answer = self.cached(conn, query)
        if hit:
            return answer
        try:
            answer = self.ask(query)
        except GeopyError as exc:
            log.warning("geocoder %s failed for %r: %s", self.name, query, exc)
            return None
        self.remember(conn, query, answer)
        return answer


def normalize(query: str) -> str:
    return " ".join(query.split())


def configured(config: Mapping) -> bool:
    return bool((config.get("PAICHA_GEOCODER") or "").strip())
