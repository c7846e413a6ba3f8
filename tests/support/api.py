"""Driving the real API as the demo alliance's people would."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.support.stow import CONTENT_TYPE as STOW_CONTENT_TYPE
from tests.support.stow import one_image_study
from yilian.db.demo import DEMO_PASSWORD


class Api:
    """An HTTP client that signs people in and remembers their tokens."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._tokens: dict[str, str] = {}

    async def token(self, username: str) -> str:
        if username not in self._tokens:
            r = await self.client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["access_token"]
        return self._tokens[username]

    async def call(self, user: str | None, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if user is not None:
            headers["Authorization"] = f"Bearer {await self.token(user)}"
        return await self.client.request(method, path, headers=headers, **kw)

    async def ok(self, user: str | None, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        r = await self.call(user, method, path, **kw)
        assert r.status_code == status, f"{method} {path} as {user}: {r.status_code} {r.text}"
        return r.json()

    async def submit(self, user: str = "zhao.anping", **overrides: Any) -> dict[str, Any]:
        """Submit a referral; unless a study UID is given, its study is first sent to the archive (STOW-RS)."""
        body = referral_body(**overrides)
        if "study_instance_uid" not in overrides:
            body["study_instance_uid"] = await self.send_study(user, body["patient"]["patient_id"])
        return await self.ok(user, "POST", "/api/referrals", 201, json=body)  # type: ignore[no-any-return]

    async def send_study(self, user: str, patient_id: str, study_uid: str | None = None) -> str:
        """A small one-image study stored by STOW-RS as `user`; its Study Instance UID."""
        uid, body = one_image_study(patient_id, study_uid)
        r = await self.call(
            user, "POST", "/dicomweb/studies", content=body, headers={"Content-Type": STOW_CONTENT_TYPE}
        )
        assert r.status_code == 200, r.text
        return uid

    async def wait_for(self, user: str, referral_id: str, *states: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            row = await self.ok(user, "GET", f"/api/referrals/{referral_id}")
            if row["state"] in states:
                return row  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise AssertionError(f"{referral_id} stayed {row['state']}, wanted {states}")
            await asyncio.sleep(0.05)


def referral_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "patient": {"patient_id": "AP0001", "name": "刘备 Liu Bei", "birth_date": "1961-03-14", "sex": "M"},
        "study_instance_uid": "1.2.826.0.1.3680043.8.498.1001",
        "modality": "CT",
        "body_part": "CHEST",
        "clinical_question": "咳嗽两周，排除肺部占位 / cough for two weeks, rule out a mass",
        "priority": "routine",
        "difficult": False,
    }
    body.update(overrides)
    return body


REPORT = {
    "findings": "右肺上叶见一约8mm磨玻璃结节，边界清。 8 mm ground-glass nodule in the right upper lobe.",
    "impression": "右肺上叶磨玻璃结节，建议3个月复查。 GGN RUL, follow-up CT in 3 months.",
    "structured": {"lung_rads": "3"},
}
