"""DICOMweb's short-lived cache of signed-in callers: found within its time, by user and token generation only."""

from __future__ import annotations

import time

from yilian.api.deps import PrincipalCache
from yilian.domain.access import Principal
from yilian.domain.roles import Role


def test_a_caller_is_remembered_for_ttl_seconds_and_only_for_the_same_token_generation() -> None:
    cache = PrincipalCache(ttl=0.2)
    zhao = Principal("zhao", Role.COUNTY_DOCTOR, "h-anping", "Zhao", frozenset())
    cache.put({"sub": "zhao", "gen": 3}, zhao)
    assert cache.get({"sub": "zhao", "gen": 3}) is zhao
    assert cache.get({"sub": "zhao", "gen": 4}) is None  # a password change or deactivation since
    assert cache.get({"sub": "wang", "gen": 3}) is None
    time.sleep(0.25)
    assert cache.get({"sub": "zhao", "gen": 3}) is None  # then the database is asked again


def test_a_full_cache_starts_again_rather_than_grow() -> None:
    cache = PrincipalCache(ttl=60, size=2)
    for n in range(3):
        cache.put({"sub": f"u{n}", "gen": 1}, Principal(f"u{n}", Role.EXPERT, None, "U", frozenset()))
    assert cache.get({"sub": "u0", "gen": 1}) is None and cache.get({"sub": "u2", "gen": 1}) is not None
