"""Teaching cases through the real API, worker, PostgreSQL and archive: an expert flags a signed case, the educator
accepts, curates and publishes it, a county doctor finds it, attempts it as an unknown case and sees the comparison;
drafts stay invisible to learners, learners cannot edit; proposals; collections; unpublishing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import REPORT, Api
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration

PATIENT = {"patient_id": "TEACH-0001", "name": "黄忠 Huang Zhong", "birth_date": "1958-02-03", "sex": "M"}
HAMARTOMA = {
    **REPORT,
    "findings": "患者黄忠，男，68岁。右肺上叶见一结节，约8mm，边缘光整，内见爆米花样钙化。"
    "无胸腔积液，纵隔淋巴结无肿大。",
    "impression": "右肺上叶结节，考虑错构瘤。",
    "structured": {"icd10": "D14.3"},
}
CURATION = {
    "title": "右肺上叶错构瘤 Pulmonary hamartoma",
    "diagnosis": "错构瘤 pulmonary hamartoma",
    "icd10": "D14.3",
    "differential": ["结核球 tuberculoma", "周围型肺癌 peripheral lung cancer"],
    "teaching_points": "爆米花样钙化提示错构瘤。Popcorn calcification suggests hamartoma.",
    "key_images": [],
    "modality": "CT",
    "body_part": "CHEST",
    "difficulty": "basic",
    "tags": ["肺结节", "钙化"],
    "certainty": "expert_consensus",
    "visibility": "alliance",
    "comment": "first curation",
}


async def signed_case(api: Api, engine: AsyncEngine, discrepancy: str, report: dict[str, Any], **submit: Any) -> str:
    """A CT chest case (offered to wang.expert) read, graded by chen.senior and returned to the county."""
    rid: str = (await api.submit("zhao.anping", **submit))["id"]
    await api.wait_for("admin", rid, "offered")
    await api.ok("wang.expert", "POST", f"/api/referrals/{rid}/accept", json={})
    await api.ok("wang.expert", "POST", f"/api/referrals/{rid}/preliminary", json=report)
    await api.ok("chen.senior", "POST", f"/api/referrals/{rid}/approve", json={"discrepancy": discrepancy})
    await api.wait_for("admin", rid, "returned")
    return rid


async def wait_case(api: Api, case_id: str, state: str) -> dict[str, Any]:
    async def look() -> dict[str, Any]:
        return await api.ok("he.educator", "GET", f"/api/teaching/cases/{case_id}")  # type: ignore[no-any-return]

    found: dict[str, Any] = await wait_until(look, f"{case_id} to be {state}", ok=lambda c: c["state"] == state)
    return found


async def test_flag_curate_publish_find_attempt_unpublish(api: Api, engine: AsyncEngine) -> None:
    rid = await signed_case(api, engine, "minor", HAMARTOMA, patient=PATIENT)

    # The graded case is proposed to educators; its reader flags it in one click (once).
    proposals = (await api.ok("he.educator", "GET", "/api/teaching/proposals", params={"limit": 200}))["items"]
    assert "minor_discrepancy" in next(p for p in proposals if p["referral_id"] == rid)["reasons"]
    flagged = await api.ok("wang.expert", "POST", "/api/teaching/nominations", 201, json={"referral_id": rid})
    case_id = flagged["case_id"]
    assert flagged["state"] == "nominated"
    again = await api.call("chen.senior", "POST", "/api/teaching/nominations", json={"referral_id": rid})
    assert again.status_code == 409 and again.json()["details"]["case_id"] == case_id
    proposals = (await api.ok("he.educator", "GET", "/api/teaching/proposals", params={"limit": 200}))["items"]
    assert rid not in {p["referral_id"] for p in proposals}, "a flagged case leaves the queue"

    # A draft is invisible to learners: not listed, and opening it reads as a case that does not exist.
    for learner in ("zhao.anping", "wang.expert"):
        r = await api.call(learner, "GET", f"/api/teaching/cases/{case_id}")
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        listed = await api.ok(learner, "GET", "/api/teaching/cases", params={"limit": 200})
        assert case_id not in {c["id"] for c in listed["items"]}

    case = await api.ok("he.educator", "GET", f"/api/teaching/cases/{case_id}")
    assert case["allowed_actions"] == ["accept", "dismiss"] and case["referral_id"] == rid
    await api.ok("he.educator", "POST", f"/api/teaching/cases/{case_id}/accept", json={})
    case = await wait_case(api, case_id, "in_review")

    # The educator's review: the text diff (the name gone from the report) and the de-identified copy.
    deid = case["deidentification"]
    assert "黄忠" in deid["text"]["findings"]["original"] and "黄忠" not in deid["text"]["findings"]["redacted"]
    assert any(c["field"] == "findings" and c["original"] == "黄忠" for c in deid["changes"])
    assert deid["study_instance_uid"] == case["study_instance_uid"] and deid["instances"] >= 1
    assert case["allowed_actions"] == ["dismiss", "edit", "publish"]

    # The copy is the educators' until published: another county's doctor finds nothing of it in the archive.
    copy_search = f"/dicomweb/studies?StudyInstanceUID={case['study_instance_uid']}"
    assert (await api.call("sun.qingshan", "GET", copy_search)).status_code == 204

    # Learners cannot edit; publishing a draft-visibility curation is refused with its problems.
    r = await api.call("zhao.anping", "PUT", f"/api/teaching/cases/{case_id}/curation", json=CURATION)
    assert r.status_code == 403
    r = await api.call("he.educator", "POST", f"/api/teaching/cases/{case_id}/publish", json={})
    assert r.status_code == 422 and "no title" in r.json()["details"]["problems"]

    # A planted leak blocks publishing, with what the scan found.
    leaky = {**CURATION, "teaching_points": "患者黄忠的结节 / patient Huang Zhong"}
    await api.ok("he.educator", "PUT", f"/api/teaching/cases/{case_id}/curation", json=leaky)
    r = await api.call("he.educator", "POST", f"/api/teaching/cases/{case_id}/publish", json={})
    assert r.status_code == 409, r.text
    assert any(leak["where"] == "teaching_points" for leak in r.json()["details"]["leaks"])
    assert (await api.ok("he.educator", "GET", f"/api/teaching/cases/{case_id}"))["state"] == "in_review"

    # The educator corrects the de-identified text (it is the first version's; later versions keep it unless sent).
    assert case["curation"]["findings"] == deid["text"]["findings"]["redacted"]
    corrected = case["curation"]["findings"] + "（随访2年无变化）"
    body = {**CURATION, "findings": corrected}
    await api.ok("he.educator", "PUT", f"/api/teaching/cases/{case_id}/curation", json=body)
    published = await api.ok("he.educator", "POST", f"/api/teaching/cases/{case_id}/publish", json={})
    assert published["state"] == "published" and published["version"] == 3
    assert [e["action"] for e in published["events"]] == [
        "nominate", "accept", "deidentified", "edit", "publish_blocked", "edit", "publish"
    ]  # fmt: skip

    # Published, its de-identified images are every doctor's (QIDO finds the copy; the source stays out of reach).
    found_copy = await api.ok("sun.qingshan", "GET", copy_search)
    assert [s["0020000D"]["Value"][0] for s in found_copy] == [case["study_instance_uid"]]
    source = (await api.ok("admin", "GET", f"/api/referrals/{rid}"))["study_instance_uid"]
    assert (await api.call("sun.qingshan", "GET", f"/dicomweb/studies?StudyInstanceUID={source}")).status_code == 204

    # A county doctor finds it by a word of its diagnosis and a facet, opens it: no source, no buttons.
    found = await api.ok("zhao.anping", "GET", "/api/teaching/cases", params={"q": "错构瘤", "modality": "CT"})
    assert case_id in {c["id"] for c in found["items"]}
    assert found["facets"]["modality"].get("CT", 0) >= 1 and found["facets"]["tag"].get("钙化", 0) >= 1
    seen = await api.ok("zhao.anping", "GET", f"/api/teaching/cases/{case_id}")
    assert seen["referral_id"] is None and seen["deidentification"] is None and seen["events"] == []
    assert seen["allowed_actions"] == [] and seen["curation"]["title"] == CURATION["title"]

    # Unknown-case mode: history first (de-identified), then the impression, the answer and the comparison.
    unknown = await api.ok("zhao.anping", "GET", f"/api/teaching/cases/{case_id}/unknown")
    assert unknown["study_instance_uid"] == case["study_instance_uid"] and unknown["attempts"] == 0
    assert "diagnosis" not in unknown and set(unknown["patient"]) <= {"age_band", "sex"}
    attempt = await api.ok(
        "zhao.anping", "POST", f"/api/teaching/cases/{case_id}/attempts", 201,
        json={"impression": "右肺上叶结节，未见钙化，伴胸腔积液。"},
    )  # fmt: skip
    assert attempt["answer"]["diagnosis"] == CURATION["diagnosis"] and attempt["answer"]["findings"] == corrected
    assert attempt["answer"]["impression"] == deid["text"]["impression"]["redacted"]
    assert "黄忠" not in attempt["answer"]["findings"]
    comparison = attempt["comparison"]
    assert comparison["findings"], comparison
    by = {f["concept"]: f for f in comparison["findings"]}
    assert any(f["expert"] == "present" and f["yours"] == "present" and f["agrees"] for f in by.values()), by
    assert comparison["missed"] or comparison["extra"], comparison
    history = (await api.ok("zhao.anping", "GET", "/api/teaching/history"))["items"]
    mine = next(h for h in history if h["case_id"] == case_id)
    assert mine["attempts"] == 1 and mine["views"] >= 2

    # A collection of the educator's; learners read it.
    made = await api.ok("he.educator", "POST", "/api/teaching/collections", 201,
                        json={"title": "胸部CT结节 10例", "description": "肺结节入门"})  # fmt: skip
    col = await api.ok("he.educator", "PUT", f"/api/teaching/collections/{made['id']}/cases",
                       json={"case_ids": [case_id]})  # fmt: skip
    assert [c["id"] for c in col["items"]] == [case_id]
    listed = (await api.ok("zhao.anping", "GET", "/api/teaching/collections"))["items"]
    assert next(c for c in listed if c["id"] == made["id"])["cases"] == 1
    r = await api.call("zhao.anping", "PUT", f"/api/teaching/collections/{made['id']}/cases", json={"case_ids": []})
    assert r.status_code == 403

    # Unpublished, it is gone from the learner's library, case page and collection.
    r = await api.call("he.educator", "POST", f"/api/teaching/cases/{case_id}/unpublish", json={"comment": ""})
    assert r.status_code == 422
    await api.ok("he.educator", "POST", f"/api/teaching/cases/{case_id}/unpublish", json={"comment": "待病理"})
    assert (await api.call("zhao.anping", "GET", f"/api/teaching/cases/{case_id}")).status_code == 404
    assert (await api.call("sun.qingshan", "GET", copy_search)).status_code == 204, "gone from the viewer too"
    col = await api.ok("zhao.anping", "GET", f"/api/teaching/collections/{made['id']}")
    assert col["items"] == []


async def test_proposals_accept_and_dismiss(api: Api, engine: AsyncEngine) -> None:
    critical = {**HAMARTOMA, "critical": True, "critical_note": "张力性气胸 / tension pneumothorax"}
    patient = {**PATIENT, "patient_id": "TEACH-0002", "name": "马岱 Ma Dai"}
    # 肺隔离症 (Q33.2): no other signed case of the alliance carries the code, so it is a rare diagnosis.
    sequestration = {**HAMARTOMA, "impression": "右肺下叶隔离症。", "structured": {"icd10": "Q33.2"}}
    major = await signed_case(api, engine, "major", HAMARTOMA, patient=patient)
    crit = await signed_case(api, engine, "agree", critical, patient=patient)
    rare = await signed_case(api, engine, "agree", sequestration, patient=patient)
    plain = await signed_case(api, engine, "agree", REPORT, patient=patient)
    queue = {p["referral_id"]: p for p in (await api.ok("he.educator", "GET", "/api/teaching/proposals",
                                                         params={"limit": 200}))["items"]}  # fmt: skip
    assert "major_discrepancy" in queue[major]["reasons"] and "critical_finding" in queue[crit]["reasons"]
    assert queue[rare]["reasons"] == ["rare_diagnosis"] and queue[rare]["icd10"] == "Q33.2"
    assert plain not in queue, "agreed, not critical, no code: nothing to teach by these rules"
    r = await api.call("wang.expert", "GET", "/api/teaching/proposals")
    assert r.status_code == 403

    dismissed = await api.ok("he.educator", "POST", f"/api/teaching/proposals/{crit}/dismiss")
    assert dismissed == {"referral_id": crit, "decision": "dismissed", "case_id": None}
    accepted = await api.ok("he.educator", "POST", f"/api/teaching/proposals/{major}/accept", 201)
    assert accepted["decision"] == "accepted" and accepted["case_id"]
    queue2 = {p["referral_id"] for p in (await api.ok("he.educator", "GET", "/api/teaching/proposals",
                                                       params={"limit": 200}))["items"]}  # fmt: skip
    assert not {major, crit} & queue2
    case = await wait_case(api, accepted["case_id"], "in_review")
    assert case["curator_id"] == "he.educator" and case["reason"] == "major_discrepancy"
    r = await api.call("he.educator", "POST", f"/api/teaching/proposals/{crit}/accept")
    assert r.status_code == 404, "a decided proposal is no longer in the queue"
