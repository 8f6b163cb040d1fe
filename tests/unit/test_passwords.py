"""The verified-credentials cache: Argon2 runs once for a burst of requests with the same password."""
import threading

import pytest

from server.core import passwords
from server.core.settings import Settings, SettingError


class CountingHasher:
    def __init__(self, real):
        self.real, self.calls = real, 0

    def hash(self, password):
        return self.real.hash(password)

    def verify(self, stored_hash, password):
        self.calls += 1
        return self.real.verify(stored_hash, password)


@pytest.fixture
def counting(monkeypatch):
    hasher = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(passwords, "_cache", {})
    return hasher


def _burst(name, password, stored, n=8):
    results = [None] * n

    def one(i):
        results[i] = passwords.verify_password(name, password, stored)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_a_burst_of_requests_with_the_right_password_runs_argon2_once(counting):
    stored = passwords.hash_password("s3cret-pass")
    assert _burst("cadre", "s3cret-pass", stored) == [True] * 8
    assert counting.calls == 1
    assert passwords._in_flight == {}


def test_a_wrong_password_is_never_shared_or_cached(counting):
    stored = passwords.hash_password("s3cret-pass")
    assert _burst("cadre", "guess", stored, n=4) == [False] * 4
    assert counting.calls == 4  # each failed attempt pays for its own check
    assert passwords.verify_password("cadre", "s3cret-pass", stored) is True
    assert passwords._in_flight == {}


def test_a_changed_hash_is_not_served_from_the_cache(counting):
    old = passwords.hash_password("old-password")
    assert passwords.verify_password("cadre", "old-password", old)
    new = passwords.hash_password("new-password")
    assert passwords.verify_password("cadre", "old-password", new) is False


def test_new_hashes_use_the_configured_argon2_cost_and_old_ones_still_verify():
    from argon2 import PasswordHasher
    from argon2 import extract_parameters

    made = extract_parameters(passwords.hash_password("secret"))
    assert (made.memory_cost, made.time_cost, made.parallelism) == (
        passwords.ARGON2_MEMORY_KIB, passwords.ARGON2_TIME_COST, passwords.ARGON2_PARALLELISM)
    older = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash("secret")  # earlier default
    assert passwords.verify_password("someone", "secret", older)
    assert not passwords.verify_password("someone", "wrong", older)


def test_a_bad_argon2_setting_stops_the_server_with_its_name():
    with pytest.raises(SettingError, match="PAICHA_ARGON2_TIME_COST"):
        Settings.from_env({"PAICHA_ARGON2_TIME_COST": "two"})
    with pytest.raises(SettingError, match="PAICHA_ARGON2_MEMORY_KIB"):
        Settings.from_env({"PAICHA_ARGON2_MEMORY_KIB": "0"})


def test_the_configured_argon2_cost_applies_to_new_hashes():
    from argon2 import extract_parameters

    before = Settings()
    try:
        passwords.configure(Settings.from_env({"PAICHA_ARGON2_TIME_COST": "3", "PAICHA_ARGON2_MEMORY_KIB": "8192"}))
        made = extract_parameters(passwords.hash_password("secret"))
        assert (made.memory_cost, made.time_cost) == (8192, 3)
    finally:
        passwords.configure(before)
