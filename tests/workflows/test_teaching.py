"""TeachingCaseWorkflow on the time-skipping server with the real activities, PostgreSQL and archive: a signed referral
is flagged, accepted, de-identified, curated (versioned), blocked by a planted leak, published, unpublished; a flag
can be dismissed; a later signed referral of the same patient tells the curator."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydicom.uid import generate_uid
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.support.dicom_gen import dx_image, to_bytes
from tests.support.wait import wait_until
from tests.workflows.conftest import CHEN, Harness
from yilian.api.workflow_client import TeachingCommands
from yilian.config import Settings
from yilian.db.schema import notifications, teaching_cases, teaching_deid, teaching_events, teaching_versions
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.referral_io import ActorInput, ReportInput, ReviewInput
from yilian.domain.report import Discrepancy, ReportContent
from yilian.domain.roles import Actor, Role
from yilian.domain.teaching import Curation, TeachingAction, TeachingCase, TeachingState, Visibility
from yilian.domain.teaching_io import CurationInput, EducatorInput, TeachingFacts, TeachingInput
from yilian.imaging.blob import FilesystemBlobStore
from yilian.imaging.ingest import IncomingInstance, Origin, store_instance
from yilian.temporal_client import DATA_CONVERTER
from yilian.workflows.referral import ReferralWorkflow
from yilian.workflows.teaching import TeachingCaseWorkflow

HE = Actor("he.educator", Role.EDUCATOR, "h-provincial", "He")
A, T = TeachingAction, TeachingState
# The demo patient pat-anping-2 is 黄月英 Huang Yueying: her name in the report is what the text de-identification
# must take out, and what a planted leak puts back.
REPORT = ReportContent(
    findings="患者黄月英，女。右肺上叶见一结节，约8mm，边缘光整，内见爆米花样钙化。无胸腔积液。",
    impression="右肺上叶结节，考虑错构瘤。",
    structured={"icd10": "D14.3"},
)
CURATION = Curation(
    title="右肺上叶错构瘤",
    diagnosis="错构瘤 pulmonary hamartoma",
    icd10="D14.3",
    differential=["结核球", "周围型肺癌"],
    teaching_points="爆米花样钙化提示错构瘤。",
    modality="CT",
    body_part="CHEST",
    tags=["肺结节", "钙化"],
    visibility=Visibility.ALLIANCE,
)


@pytest.fixture
async def archive_root(settings: Settings) -> Path:
    """The worker's own archive (settings.storage_url), where the de-identification reads and writes."""
    return Path(settings.storage_url.removeprefix("file://"))


async def store_flagged_study(engine: AsyncEngine, root: Path, hospital_id: str) -> str:
    """A DX image whose BurnedInAnnotation says YES: the copy flags it for a person to look at."""
    uid = generate_uid()
    [image] = dx_image(rows=16, cols=16, patient_id="AP0002", study_uid=uid)
    image.BurnedInAnnotation = "YES"
    stored = await store_instance(
        engine, FilesystemBlobStore(root), IncomingInstance(to_bytes(image), Origin.UPLOAD, hospital_id, "test-setup")
    )
    assert stored.accepted, stored
    return uid


async def signed_referral(harness: Harness, root: Path, patient_ref: str = "pat-anping-2") -> str:
    """A referral walked through the real ReferralWorkflow to its signed, returned report (minor discrepancy)."""
    uid = await store_flagged_study(harness.engine, root, "h-anping")
    handle = await harness.start(study_instance_uid=uid, patient_ref=patient_ref)
    reader = Actor(await harness.offered(handle.id), Role.EXPERT, "h-provincial", "")
    await harness.update(handle, ReferralWorkflow.accept, ActorInput(reader))
    await harness.update(handle, ReferralWorkflow.submit_preliminary, ReportInput(reader, REPORT))
    await harness.update(handle, ReferralWorkflow.approve, ReviewInput(CHEN, Discrepancy.MINOR))
    await harness.wait_state(handle.id, "returned")
    return handle.id


CURATED = ("title", "diagnosis", "icd10", "differential", "teaching_points", "tags", "visibility")


async def current(harness: Harness, case_id: str) -> TeachingCase:
    case: TeachingCase = await harness.env.client.get_workflow_handle(case_id).query(
        TeachingCaseWorkflow.case, result_type=TeachingCase
    )
    return case


async def case_row(engine: AsyncEngine, case_id: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (await conn.execute(select(teaching_cases).where(teaching_cases.c.id == case_id))).mappings().first()
    return dict(row) if row else {}


async def trail(engine: AsyncEngine, case_id: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(teaching_events.c.action).where(teaching_events.c.case_id == case_id).order_by(teaching_events.c.seq)
        )
    return [r[0] for r in rows]


@pytest.fixture
async def commands(harness: Harness) -> AsyncIterator[TeachingCommands]:
    yield TeachingCommands(harness.env.client, harness.task_queue)


async def flag(harness: Harness, commands: TeachingCommands, referral_id: str, by: Actor) -> str:
    row = await harness.row(referral_id)
    case_id = f"tc-test-{uuid.uuid4().hex[:8]}"
    facts = TeachingFacts(
        case_id=case_id,
        referral_id=referral_id,
        study_instance_uid=row["study_instance_uid"],
        requesting_hospital_id=row["requesting_hospital_id"],
        patient_ref=row["patient_ref"],
        modality=row["modality"],
        body_part=row["body_part"],
        nominated_by=by,
        reason="flag",
    )
    result = await commands.start(TeachingInput(facts))
    harness.started.append(harness.env.client.get_workflow_handle(case_id))
    assert result.case_id == case_id
    return case_id


async def in_review(engine: AsyncEngine, case_id: str) -> dict[str, Any]:
    row: dict[str, Any] = await wait_until(
        lambda: case_row(engine, case_id), f"{case_id} to be in review", ok=lambda r: r.get("state") == "in_review"
    )
    return row


async def test_flag_accept_deidentify_curate_block_publish_unpublish(
    harness: Harness, commands: TeachingCommands, archive_root: Path
) -> None:
    rid = await signed_referral(harness, archive_root)
    reader = (await harness.row(rid))["reader_id"]
    case_id = await flag(harness, commands, rid, Actor(reader, Role.EXPERT, "h-provincial", ""))
    assert (await case_row(harness.engine, case_id))["state"] == "nominated"
    async with harness.engine.connect() as conn:
        told = await conn.scalar(
            select(notifications.c.recipient_id).where(notifications.c.kind == "teaching_nominated",
                                                      notifications.c.key.startswith(case_id))
        )  # fmt: skip
    assert told == "he.educator"

    # Only an educator accepts; the workflow then de-identifies on its own.
    with pytest.raises(YilianError) as refused:
        await commands.act(case_id, A.ACCEPT, EducatorInput(CHEN))
    assert refused.value.code == "forbidden"
    await commands.act(case_id, A.ACCEPT, EducatorInput(HE))
    row = await in_review(harness.engine, case_id)
    assert row["curator_id"] == "he.educator" and row["deid_study_instance_uid"]
    assert row["deid_study_instance_uid"] != row["source_study_instance_uid"]
    async with harness.engine.connect() as conn:
        deid = (await conn.execute(select(teaching_deid).where(teaching_deid.c.case_id == case_id))).mappings().one()
    assert "黄月英" in deid["text"]["findings"]["original"]
    assert "黄月英" not in json.dumps(deid["text"]["findings"]["redacted"], ensure_ascii=False)
    assert any(c["original"] == "黄月英" for c in deid["replacements"])

    # The first version holds the redacted texts; the educator's versions keep them unless they correct them.
    first = (await current(harness, case_id)).curation
    assert first.findings == deid["text"]["findings"]["redacted"] and first.history
    curated = replace(first, **{k: getattr(CURATION, k) for k in CURATED})

    # The DX image may carry burned-in text (projection, no BurnedInAnnotation NO): flagged, and until the educator
    # has looked at it, publishing is blocked; so is a planted leak (the patient's name in the title).
    [image] = deid["image_flags"]
    leaky = replace(curated, title="黄月英 右肺上叶错构瘤")
    await commands.act(case_id, A.EDIT, CurationInput(HE, leaky))
    blocked = await commands.act(case_id, A.PUBLISH, EducatorInput(HE))
    assert blocked.state is T.IN_REVIEW and blocked.leaks
    assert any(leak.where == "title" for leak in blocked.leaks)
    unreviewed = {(leak.where, leak.kind) for leak in blocked.leaks}
    assert (image["sop_instance_uid"], "burned_in_unreviewed") in unreviewed
    assert all("黄月英" not in leak.excerpt for leak in blocked.leaks)

    # Corrected and the image reviewed, it publishes; unpublishing takes it out.
    reviewed = replace(curated, reviewed_images=[image["sop_instance_uid"]])
    await commands.act(case_id, A.EDIT, CurationInput(HE, reviewed, comment="removed the name"))
    published = await commands.act(case_id, A.PUBLISH, EducatorInput(HE))
    assert (published.state, published.leaks) == (T.PUBLISHED, []), published.leaks
    row = await case_row(harness.engine, case_id)
    assert (row["state"], row["title"], row["visibility"], row["version"]) == (
        "published",
        CURATION.title,
        "alliance",
        3,
    )
    assert row["published_at"] is not None
    with pytest.raises(YilianError) as no_reason:
        await commands.act(case_id, A.UNPUBLISH, EducatorInput(HE))
    assert no_reason.value.code == "validation_failed"
    await commands.act(case_id, A.UNPUBLISH, EducatorInput(HE, "诊断待病理证实 / awaiting pathology"))
    assert (await case_row(harness.engine, case_id))["state"] == "unpublished"
    assert await trail(harness.engine, case_id) == [
        "nominate", "accept", "deidentified", "edit", "publish_blocked", "edit", "publish", "unpublish"
    ]  # fmt: skip
    async with harness.engine.connect() as conn:
        versions = await conn.execute(
            select(teaching_versions.c.version, teaching_versions.c.curation)
            .where(teaching_versions.c.case_id == case_id)
            .order_by(teaching_versions.c.version)
        )
        by_version = {v: c for v, c in versions}
    assert sorted(by_version) == [1, 2, 3]
    assert by_version[1]["modality"] == "CT" and by_version[2]["title"] == leaky.title
    assert by_version[3]["title"] == CURATION.title
    async with harness.engine.connect() as conn:
        kinds = await conn.execute(
            select(notifications.c.kind, notifications.c.recipient_id).where(notifications.c.key.startswith(case_id))
        )
        got = {(k, r) for k, r in kinds}
    assert ("teaching_ready", "he.educator") in got and ("teaching_published", reader) in got
    async with harness.engine.connect() as conn:  # each step's audit event says whom its notices reached, and how
        details = await conn.execute(select(teaching_events.c.details).where(teaching_events.c.case_id == case_id))
        told = [t for d in details.scalars() for t in d.get("notified", [])]
    ready = [t for t in told if t["kind"] == "teaching_ready"]
    assert ready and all("he.educator" in t["to"] and "in_app" in t["method"] for t in ready), told
    await replays(harness, case_id, "teaching_v1_life")


async def test_an_educators_flag_is_accepted_at_once_and_can_be_dismissed(
    harness: Harness, commands: TeachingCommands, archive_root: Path
) -> None:
    rid = await signed_referral(harness, archive_root)
    case_id = await flag(harness, commands, rid, HE)
    await in_review(harness.engine, case_id)
    result = await commands.act(case_id, A.DISMISS, EducatorInput(HE, "重复病例 / duplicate"))
    assert result.state is T.DISMISSED
    assert await trail(harness.engine, case_id) == ["nominate", "accept", "deidentified", "dismiss"]
    handle = harness.env.client.get_workflow_handle(case_id)
    assert await handle.result() == "dismissed"
    with pytest.raises(YilianError) as finished:  # a finished case answers a 409 naming it, never a 500
        await commands.act(case_id, A.ACCEPT, EducatorInput(HE))
    assert finished.value.code is ErrorCode.INVALID_TRANSITION and finished.value.details == {"case_id": case_id}


async def test_a_later_signed_referral_of_the_same_patient_tells_the_curator(
    harness: Harness, commands: TeachingCommands, archive_root: Path
) -> None:
    first = await signed_referral(harness, archive_root, patient_ref="pat-anping-1")
    case_id = await flag(harness, commands, first, HE)
    await in_review(harness.engine, case_id)
    later = await signed_referral(harness, archive_root, patient_ref="pat-anping-1")

    async def told() -> list[dict[str, Any]]:
        async with harness.engine.connect() as conn:
            rows = await conn.execute(
                select(notifications.c.recipient_id, notifications.c.params)
                .where(notifications.c.kind == "teaching_follow_up", notifications.c.key.startswith(case_id))
            )  # fmt: skip
            return [dict(r) for r in rows.mappings()]

    notices = await wait_until(told, "the curator to be told of the follow-up", ok=lambda rows: len(rows) == 1)
    assert notices[0]["recipient_id"] == "he.educator"
    assert notices[0]["params"] == {"case_id": case_id, "title": "", "referral_id": later}


# ---- determinism: saved histories must replay against today's workflow --------------------------------------------
TEACHING_HISTORIES = Path(__file__).parent / "histories" / "teaching"
SAVED = {p.stem: p.read_text() for p in sorted(TEACHING_HISTORIES.glob("*.json"))}


def _replayer() -> Replayer:
    return Replayer(workflows=[TeachingCaseWorkflow], data_converter=DATA_CONVERTER)


async def replays(harness: Harness, case_id: str, name: str) -> None:
    """The case's history so far replays against today's workflow (and is saved as `name` when asked to)."""
    history = await harness.env.client.get_workflow_handle(case_id).fetch_history()
    result = await _replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
    if os.environ.get("YILIAN_SAVE_HISTORIES"):  # how the saved one below was made
        TEACHING_HISTORIES.mkdir(exist_ok=True)
        (TEACHING_HISTORIES / f"{name}.json").write_text(json.dumps(json.loads(history.to_json()), indent=1))  # noqa: ASYNC240


@pytest.mark.parametrize("name", sorted(SAVED))
async def test_saved_teaching_history_replays(name: str) -> None:
    history = WorkflowHistory.from_json(name, json.loads(SAVED[name]))
    result = await _replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


def test_saved_teaching_histories_exist() -> None:
    assert sorted(SAVED) == ["teaching_v1_life"]
