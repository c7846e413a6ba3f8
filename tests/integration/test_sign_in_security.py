"""Password guessing and token rules (issue 16, items 6 and 11), through the real API and database.

Each test signs in from its own address (the ASGI transport's client) and, where it locks an account, as a user
it creates, so no other test's sign-in meets a lock.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from yilian.api.app import create_app
from yilian.config import Settings
from yilian.db.demo import DEMO_PASSWORD
from yilian.db.schema import security_events, sign_in_attempts

pytestmark = pytest.mark.integration

LOGIN = "/api/auth/login"


@pytest.fixture
async def from_address(
    worker: None, temporal_client: Client, engine: AsyncEngine, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """The API as seen from an address of this test's own."""
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    transport = httpx.ASGITransport(app=create_app(settings, engine, temporal_client), client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://yilian.test") as client:
        yield client


async def _new_user(api: Api) -> tuple[str, str]:
    """A fresh county doctor (id, username) with the demo password."""
    username = f"guess-{uuid.uuid4().hex[:8]}"
    body = {
        "username": username, "display_name": "测试 Test", "role": "county_doctor", "hospital_id": "h-anping",
        "password": DEMO_PASSWORD,
    }  # fmt: skip
    made = await api.ok("admin", "POST", "/api/admin/users", 201, json=body)
    return made["id"], username


async def _events(engine: AsyncEngine, key: str) -> list[str]:
    async with engine.connect() as conn:
        stmt = select(security_events.c.kind).where(security_events.c.subject == key).order_by(security_events.c.id)
        return list((await conn.execute(stmt)).scalars())


async def _end_waits(engine: AsyncEngine, key: str) -> None:
    """As if the wait had run out (the waits are seconds to minutes; the test does not sleep through them)."""
    async with engine.begin() as conn:
        past = datetime.now(UTC) - timedelta(seconds=1)
        await conn.execute(update(sign_in_attempts).where(sign_in_attempts.c.key == key).values(locked_until=past))


async def test_thirty_fast_guesses_lock_the_account_and_the_right_password_waits(
    api: Api, engine: AsyncEngine, from_address: httpx.AsyncClient
) -> None:
    _, username = await _new_user(api)
    statuses = []
    for i in range(30):
        r = await from_address.post(LOGIN, json={"username": username, "password": f"guess-{i}"})
        statuses.append(r.status_code)
    assert statuses[:4] == [401] * 4
    assert statuses[4:] == [429] * 26, statuses  # the 5th wrong one starts the wait; the rest are not even tried
    locked = await from_address.post(LOGIN, json={"username": username, "password": DEMO_PASSWORD})
    assert locked.status_code == 429
    body = locked.json()
    assert body["error"] == "sign_in_locked" and body["details"]["subject"] == "account"
    assert 1 <= body["details"]["retry_after_seconds"] <= 30
    assert locked.headers["retry-after"] == str(body["details"]["retry_after_seconds"])

    key = f"account:{username}"
    kinds = await _events(engine, key)
    assert kinds.count("sign_in_failed") == 5 and kinds.count("sign_in_locked") == 1
    assert kinds.count("sign_in_refused") == 26

    # After the wait, one more wrong password waits twice as long (progressive); the right one then still waits.
    await _end_waits(engine, key)
    again = await from_address.post(LOGIN, json={"username": username, "password": "wrong-again"})
    assert again.status_code == 429 and 30 < again.json()["details"]["retry_after_seconds"] <= 60
    await _end_waits(engine, key)
    ok = await from_address.post(LOGIN, json={"username": username, "password": DEMO_PASSWORD})
    assert ok.status_code == 200, ok.text
    async with engine.connect() as conn:  # a right password forgets the account's failures
        assert await conn.scalar(select(sign_in_attempts.c.failures).where(sign_in_attempts.c.key == key)) is None


async def test_one_address_guessing_many_accounts_is_throttled(
    engine: AsyncEngine, from_address: httpx.AsyncClient
) -> None:
    statuses = []
    for i in range(22):  # a different (unknown) account each time: only the address adds up
        r = await from_address.post(LOGIN, json={"username": f"nobody-{i}-{uuid.uuid4().hex[:6]}", "password": "x"})
        statuses.append(r.status_code)
    assert statuses[:19] == [401] * 19 and statuses[19:] == [429] * 3, statuses
    refused = await from_address.post(LOGIN, json={"username": "zhao.anping", "password": DEMO_PASSWORD})
    assert refused.status_code == 429 and refused.json()["details"]["subject"] == "address"


async def test_a_few_mistakes_then_the_right_password_signs_in(api: Api, from_address: httpx.AsyncClient) -> None:
    _, username = await _new_user(api)
    for _ in range(3):
        assert (await from_address.post(LOGIN, json={"username": username, "password": "typo"})).status_code == 401
    assert (await from_address.post(LOGIN, json={"username": username, "password": DEMO_PASSWORD})).status_code == 200


# ---- item 11: tokens ----------------------------------------------------------------------------------------------
def _token(settings: Settings, user_id: str, **claims: object) -> str:
    now = datetime.now(UTC)
    base: dict[str, object] = {"sub": user_id, "iat": now, "exp": now + timedelta(minutes=5), "gen": 0}
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, settings.jwt_secret, algorithm="HS256")


@pytest.mark.parametrize("missing", ["exp", "iat", "gen", "sub"])
async def test_a_token_without_a_required_claim_is_refused(api: Api, settings: Settings, missing: str) -> None:
    token = _token(settings, "zhao.anping", **{missing: None})
    r = await api.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json()["error"] == "unauthenticated", r.text
    whole = _token(settings, "zhao.anping")
    assert (await api.client.get("/api/me", headers={"Authorization": f"Bearer {whole}"})).status_code == 200


async def _signed_in(client: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    r = await client.post(LOGIN, json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_a_password_change_ends_the_sessions_issued_before(api: Api, from_address: httpx.AsyncClient) -> None:
    user_id, username = await _new_user(api)
    before = await _signed_in(from_address, username)
    assert (await from_address.get("/api/me", headers=before)).status_code == 200
    changed = await api.call(
        "admin", "POST", f"/api/admin/users/{user_id}/password", json={"password": "new-password-1"}
    )
    assert changed.status_code == 204
    r = await from_address.get("/api/me", headers=before)
    assert r.status_code == 401 and "password has changed" in r.json()["message"]
    after = await _signed_in(from_address, username, "new-password-1")
    assert (await from_address.get("/api/me", headers=after)).status_code == 200


async def test_deactivation_ends_sessions_for_good(api: Api, from_address: httpx.AsyncClient) -> None:
    user_id, username = await _new_user(api)
    before = await _signed_in(from_address, username)
    user = await api.ok("admin", "GET", "/api/admin/users")
    [row] = [u for u in user["items"] if u["id"] == user_id]
    editable = {k: row[k] for k in ("username", "display_name", "role", "hospital_id", "title", "is_junior")}
    await api.ok("admin", "PUT", f"/api/admin/users/{user_id}", json={**editable, "active": False})
    await api.ok("admin", "PUT", f"/api/admin/users/{user_id}", json={**editable, "active": True})
    r = await from_address.get("/api/me", headers=before)
    assert r.status_code == 401, "a token issued before the deactivation came back with the reactivation"
    again = await _signed_in(from_address, username)
    assert (await from_address.get("/api/me", headers=again)).status_code == 200
