"""Patient share links: token round-trip and tampering, derived return links, refusal order, second factor."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from yilian.domain.share_link import (
    LinkStatus,
    link_id_from_token,
    new_link_id,
    refusal,
    return_link_id,
    second_factor_ok,
    token_for,
)

SECRET = "test-secret-0123456789"
LINK = "AAECAwQFBgcICQoLDA0ODw"
NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)


def test_new_link_ids_are_url_safe_and_distinct() -> None:
    ids = {new_link_id() for _ in range(50)}
    assert len(ids) == 50
    for link_id in ids:
        assert len(link_id) == 22  # 16 bytes, unpadded base64
        assert "." not in link_id and "=" not in link_id and "+" not in link_id and "/" not in link_id


def test_token_round_trip() -> None:
    token = token_for(SECRET, LINK)
    assert token.startswith(LINK + ".")
    assert len(token.partition(".")[2]) == 24  # 18-byte MAC
    assert token_for(SECRET, LINK) == token
    assert link_id_from_token(SECRET, token) == LINK
    fresh = new_link_id()
    assert link_id_from_token(SECRET, token_for(SECRET, fresh)) == fresh


def _flip_last(s: str) -> str:
    return s[:-1] + ("A" if s[-1] != "A" else "B")


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(_flip_last(token_for(SECRET, LINK)), id="mac-tampered"),
        pytest.param(_flip_last(LINK) + "." + token_for(SECRET, LINK).partition(".")[2], id="link-id-tampered"),
        pytest.param(token_for("another-secret", LINK), id="wrong-secret"),
        pytest.param(LINK, id="missing-dot"),
        pytest.param(LINK + ".", id="empty-mac"),
        pytest.param("." + token_for(SECRET, LINK).partition(".")[2], id="empty-link-id"),
        pytest.param(token_for(SECRET, LINK) + ".x", id="extra-part"),
        pytest.param("", id="empty"),
    ],
)
def test_bad_tokens_are_refused(token: str) -> None:
    assert link_id_from_token(SECRET, token) is None


@pytest.mark.parametrize("token", [LINK + ".d\u00e9f", "\u94fe\u63a5.abc"])
def test_non_ascii_token_is_refused_not_raised(token: str) -> None:
    assert link_id_from_token(SECRET, token) is None


def test_return_link_id_is_derived() -> None:
    first = return_link_id(SECRET, "r-1")
    assert return_link_id(SECRET, "r-1") == first
    assert len(first) == 22
    assert return_link_id(SECRET, "r-2") != first
    assert return_link_id("another-secret", "r-1") != first
    assert link_id_from_token(SECRET, token_for(SECRET, first)) == first


def _link(*, revoked: datetime | None = None, locked: datetime | None = None) -> LinkStatus:
    return LinkStatus(expires_at=NOW + timedelta(days=30), revoked_at=revoked, locked_until=locked)


@pytest.mark.parametrize(
    ("link", "now", "expected"),
    [
        pytest.param(_link(), NOW, None, id="usable"),
        pytest.param(_link(revoked=NOW - US), NOW, "share_link_revoked", id="revoked"),
        pytest.param(
            _link(revoked=NOW, locked=NOW + timedelta(minutes=5)),
            NOW + timedelta(days=31),
            "share_link_revoked",
            id="revoked-beats-expired-and-locked",
        ),
        pytest.param(_link(), NOW + timedelta(days=30) - US, None, id="just-before-expiry"),
        pytest.param(_link(), NOW + timedelta(days=30), "share_link_expired", id="expired-at-expires-at"),
        pytest.param(
            _link(locked=NOW + timedelta(days=31)),
            NOW + timedelta(days=30),
            "share_link_expired",
            id="expired-beats-locked",
        ),
        pytest.param(_link(locked=NOW + timedelta(minutes=15)), NOW, "share_link_locked", id="locked"),
        pytest.param(
            _link(locked=NOW + timedelta(minutes=15)),
            NOW + timedelta(minutes=15) - US,
            "share_link_locked",
            id="locked-just-before-unlock",
        ),
        pytest.param(
            _link(locked=NOW + timedelta(minutes=15)), NOW + timedelta(minutes=15), None, id="unlocked-at-locked-until"
        ),
        pytest.param(_link(locked=NOW - timedelta(minutes=1)), NOW, None, id="lock-in-the-past"),
    ],
)
def test_refusal_order(link: LinkStatus, now: datetime, expected: str | None) -> None:
    assert refusal(link, now) == expected


@pytest.mark.parametrize(
    ("given", "ok"),
    [(date(1960, 5, 17), True), (date(1960, 5, 18), False), (date(1961, 5, 17), False), (date(1960, 6, 17), False)],
)
def test_second_factor(given: date, ok: bool) -> None:
    assert second_factor_ok(given, date(1960, 5, 17)) is ok
