"""Password hashing with Argon2id (memory-hard), and a short-lived cache of verified credentials.

PouchDB sends Basic credentials with every request of a replication; verifying Argon2 each time
would cost tens of milliseconds per request, so a successful check is remembered for a few minutes
as an HMAC of the credentials under a per-process key (the password itself is never kept).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.core.settings import Settings

# Argon2id at OWASP's first recommended setting (19 MiB, 2 passes, 1 lane; the settings' defaults):
# ~30 ms a check here, against ~150 ms for the library's 64 MiB / 3 passes / 4 lanes. Every phone's
# first request of a sync needs one check, and an evening's sync hour brings thousands of phones at
# once. Hashes carry their own parameters, so a changed setting applies to passwords set from then on.
ARGON2_MEMORY_KIB = Settings.argon2_memory_kib
ARGON2_TIME_COST = Settings.argon2_time_cost
ARGON2_PARALLELISM = Settings.argon2_parallelism
_hasher = PasswordHasher(time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_PARALLELISM)
_cache_key = os.urandom(32)
_cache: dict[str, tuple[float, str]] = {}
_lock = threading.Lock()
_in_flight: dict[str, threading.Lock] = {}  # fingerprint -> held while its Argon2 check runs
CACHE_SECONDS = 300
CACHE_MAX = 10_000
# Verified against when an account does not exist, so timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("paicha-no-such-account")


def configure(settings: Settings) -> None:
    """The Argon2 cost of the hashes made from now on in this process (create_app calls it)."""
    global ARGON2_MEMORY_KIB, ARGON2_TIME_COST, ARGON2_PARALLELISM, _hasher, _DUMMY_HASH
    cost = (settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism)
    if cost == (ARGON2_MEMORY_KIB, ARGON2_TIME_COST, ARGON2_PARALLELISM):
        return
    ARGON2_MEMORY_KIB, ARGON2_TIME_COST, ARGON2_PARALLELISM = cost
    _hasher = PasswordHasher(time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_PARALLELISM)
    _DUMMY_HASH = _hasher.hash("paicha-no-such-account")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _fingerprint(name: str, password: str, stored_hash: str) -> str:
    return hmac.new(_cache_key, f"{name}\0{password}\0{stored_hash}".encode(), hashlib.sha256).hexdigest()


def verify_password(name: str, password: str, stored_hash: str | None) -> bool:
    if stored_hash is None:
        try:
            _hasher.verify(_DUMMY_HASH, password + "x")
        except VerificationError:
            pass
        return False
    fingerprint = _fingerprint(name, password, stored_hash)
    if _cached(fingerprint):
        return True
    # A phone opens several requests at once with the same credentials: one Argon2 run serves them
    # all, the others wait for it and find the result cached (a failure is not shared: they retry).
    with _lock:
        gate = _in_flight.setdefault(fingerprint, threading.Lock())
    try:
        with gate:
            if _cached(fingerprint):
                return True
            try:
                _hasher.verify(stored_hash, password)
            except (VerificationError, InvalidHashError):
                return False
            with _lock:
                if len(_cache) >= CACHE_MAX:
                    _cache.clear()
                _cache[fingerprint] = (time.monotonic() + CACHE_SECONDS, name)
            return True
    finally:
        with _lock:
            if _in_flight.get(fingerprint) is gate and not gate.locked():
                del _in_flight[fingerprint]


def _cached(fingerprint: str) -> bool:
    with _lock:
        hit = _cache.get(fingerprint)
        return bool(hit and hit[0] > time.monotonic())


def forget(name: str) -> None:
    """Drop cached verifications for an account (password changed, account disabled)."""
    with _lock:
        for key in [k for k, (_, n) in _cache.items() if n == name]:
            del _cache[key]
