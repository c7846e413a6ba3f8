"""A submission retried with the same Idempotency-Key (after a proxy's 502 or a dropped answer) is one case."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.support.api import Api, referral_body

pytestmark = pytest.mark.integration


async def test_the_same_key_gives_the_same_case_and_one_submission(api: Api) -> None:
    body = referral_body(patient={"patient_id": "IDEM-1", "name": "姜维 Jiang Wei", "birth_date": "1962-05-05",
                                  "sex": "M"})  # fmt: skip
    body["study_instance_uid"] = await api.send_study("zhao.anping", "IDEM-1")
    key = {"Idempotency-Key": f"chaos-{uuid.uuid4().hex}"}
    # Two tries at once (a client retrying while the first is still in flight) and one after.
    first, second = await asyncio.gather(
        api.ok("zhao.anping", "POST", "/api/referrals", 201, json=body, headers=key),
        api.ok("zhao.anping", "POST", "/api/referrals", 201, json=body, headers=key),
    )
    third = await api.ok("zhao.anping", "POST", "/api/referrals", 201, json=body, headers=key)
    assert first["id"] == second["id"] == third["id"]
    trail = (await api.ok("liu.coord", "GET", f"/api/referrals/{first['id']}/audit"))["items"]
    assert [e["action"] for e in trail].count("submit") == 1
    # Without a key, or with another, it is another case.
    other = await api.ok("zhao.anping", "POST", "/api/referrals", 201, json=body,
                         headers={"Idempotency-Key": f"chaos-{uuid.uuid4().hex}"})  # fmt: skip
    assert other["id"] != first["id"]
    short = await api.call("zhao.anping", "POST", "/api/referrals", json=body, headers={"Idempotency-Key": "x"})
    assert short.status_code == 422
