"""The API's kept token checks: a token is taken again only as what it was checked as, and only until it expires."""

from __future__ import annotations

import time

from yilian.api.security import CheckedTokens


def test_a_checked_token_is_kept_for_its_kind_until_it_expires() -> None:
    tokens = CheckedTokens()
    staff = {"sub": "zhao", "gen": 1, "exp": time.time() + 60}
    tokens.put("t.staff", CheckedTokens.STAFF, staff)
    assert tokens.get("t.staff", CheckedTokens.STAFF) is staff
    assert tokens.get("t.staff", CheckedTokens.GRANT) is None  # never taken for what it was not checked as
    assert tokens.get("t.other", CheckedTokens.STAFF) is None
    tokens.put("t.old", CheckedTokens.STAFF, {**staff, "exp": time.time() - 1})
    assert tokens.get("t.old", CheckedTokens.STAFF) is None  # checked again, and refused as expired


def test_a_full_cache_starts_again_rather_than_grow() -> None:
    tokens = CheckedTokens(size=2)
    for n in range(3):
        tokens.put(f"t{n}", CheckedTokens.STAFF, {"sub": f"u{n}", "exp": time.time() + 60})
    assert tokens.get("t0", CheckedTokens.STAFF) is None and tokens.get("t2", CheckedTokens.STAFF) is not None
