"""Image quality control through the API: the reader grades the study, the coordinator's scorecards count it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from tests.support.matrix import walk

pytestmark = pytest.mark.integration

PATIENT = {"patient_id": "QC0001", "name": "貂蝉 Diao Chan", "birth_date": "1990-02-14", "sex": "F"}


def _anping(cards: dict[str, Any]) -> dict[str, Any]:
    """h-anping's latest month as counts: (graded, good, motion reasons); zeros before anything was graded."""
    card = next((c for c in cards["items"] if c["subject"] == "h-anping"), None)
    if card is None:
        return {"graded": 0, "good": 0, "motion": 0}
    latest = card["months"][-1]
    motion = sum(r["count"] for r in card["top_reasons"] if r["reason"] == "motion")
    return {"graded": latest["graded"], "good": latest["good"], "motion": motion}


async def test_grades_are_checked_against_the_modality_and_counted_in_the_scorecards(
    api: Api, engine: AsyncEngine
) -> None:
    before = _anping(await api.ok("liu.coord", "GET", "/api/quality/scorecards"))
    poor, good = [await walk(api, engine, "in_reading", patient=PATIENT) for _ in range(2)]  # CT chest, wang reads

    for bad, field in (({"grade": "B"}, "grade"), ({"grade": "2"}, "reasons"), ({"grade": "4"}, "grade")):
        refused = await api.call("wang.expert", "POST", f"/api/referrals/{poor}/quality", json=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert field in refused.text
    unknown = await api.call("wang.expert", "POST", f"/api/referrals/{poor}/quality", json={"grade": "2",
                             "reasons": ["lighting"]})  # fmt: skip
    assert unknown.status_code == 422
    assert (
        await api.call("li.expert", "POST", f"/api/referrals/{poor}/quality", json={"grade": "3"})
    ).status_code == 403

    await api.ok("wang.expert", "POST", f"/api/referrals/{poor}/quality", json={"grade": "2", "reasons": ["artefact"]})
    # Graded again while reading: the later grade replaces the earlier one in the scorecards, both stay in the trail.
    await api.ok("wang.expert", "POST", f"/api/referrals/{poor}/quality", json={"grade": "1", "reasons": ["motion"]})
    await api.ok("wang.expert", "POST", f"/api/referrals/{good}/quality", json={"grade": "3"})

    trail = (await api.ok("liu.coord", "GET", f"/api/referrals/{poor}/audit"))["items"]
    graded = [e["details"] for e in trail if e["action"] == "grade_quality"]
    assert [(g["grade"], g["reasons"], g["good"]) for g in graded] == [
        ("2", ["artefact"], False),
        ("1", ["motion"], False),
    ]

    cards = await api.ok("liu.coord", "GET", "/api/quality/scorecards")
    after = _anping(cards)
    assert after["graded"] - before["graded"] == 2 and after["good"] - before["good"] == 1
    assert after["motion"] - before["motion"] == 1
    card = next(c for c in cards["items"] if c["subject"] == "h-anping")
    month = card["months"][-1]
    assert month["share"] == pytest.approx(month["good"] / month["graded"])
    assert card["meets_target"] is (month["share"] >= cards["target"]) and cards["target"] == 0.9

    by_tech = await api.ok("liu.coord", "GET", "/api/quality/scorecards", params={"by": "technician"})
    assert any(c["subject"].startswith("h-anping / ") for c in by_tech["items"])
    assert (await api.call("zhao.anping", "GET", "/api/quality/scorecards")).status_code == 403
