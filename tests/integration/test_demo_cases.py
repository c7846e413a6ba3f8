"""`yilian up`'s live demo cases: started through the archive, the submission service and the workflows, taken to
their stages, seen by the people they are for, and started once."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from tests.support.wait import wait_until
from yilian.api.app import create_app
from yilian.api.workflow_client import ConsultCommands, ReferralCommands
from yilian.config import Settings
from yilian.db.demo import DEMO_IN_HOUSE_POLICY, migrate_and_seed
from yilian.db.engine import make_engine
from yilian.db.queries import referral as referral_queries
from yilian.db.schema import audit_events, dicom_studies, referrals
from yilian.imaging.blob import blob_store_from_url
from yilian.runtime.demo_cases import LIVE_CASES, LiveCasesResult, Stage, Started, start_live_cases
from yilian.runtime.postgres import EmbeddedPostgres
from yilian.worker import build_worker

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def up_settings(pg_server: EmbeddedPostgres, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A database loaded as `yilian up` loads it (alliance, Anping's in-house DX reading and history), its own archive
    and task queue."""
    url = pg_server.create_database(f"live_{uuid.uuid4().hex[:8]}")
    migrate_and_seed(url, history=True, in_house=True)
    archive = tmp_path_factory.mktemp("live-archive")
    return settings.model_copy(
        update={
            "database_url": url,
            "storage_url": f"file://{archive}",
            "task_queue": f"yilian-live-{uuid.uuid4().hex[:6]}",
        }
    )


@pytest.fixture(scope="module")
async def up_engine(up_settings: Settings) -> AsyncIterator[AsyncEngine]:
    assert up_settings.database_url
    engine = make_engine(up_settings.database_url, pool_size=4)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
async def started(
    up_settings: Settings, up_engine: AsyncEngine, temporal_client: Client
) -> AsyncIterator[tuple[LiveCasesResult, ReferralCommands]]:
    """What `yilian up` does once its worker runs."""
    commands = ReferralCommands(temporal_client, up_settings.task_queue)
    blobs = blob_store_from_url(up_settings.storage_url)
    async with build_worker(temporal_client, up_engine, up_settings):
        began = time.monotonic()
        consults = ConsultCommands(temporal_client, up_settings.task_queue)
        result = await start_live_cases(
            up_engine, commands, blobs, share_link_days=30, wait=timedelta(seconds=60), consults=consults
        )
        print(f"{len(result.started)} live cases in {time.monotonic() - began:.1f} s")
        yield result, commands


WANTED = {Stage.OFFERED: "offered", Stage.IN_READING: "in_reading", Stage.PRELIMINARY: "preliminary"}


def read_in_house(s: Started) -> bool:
    """Anping reads its own radiographs (db/demo.py DEMO_IN_HOUSE_POLICY): those live cases stay at Anping."""
    return (s.case.patient.hospital_id, s.case.modality) == (DEMO_IN_HOUSE_POLICY.hospital_id, "DX")


async def test_every_case_reaches_its_stage_through_the_workflow(
    started: tuple[LiveCasesResult, ReferralCommands], up_engine: AsyncEngine
) -> None:
    result, _ = started
    assert not result.skipped and result.stuck == ()
    assert len(result.started) == len(LIVE_CASES) and 15 <= len(LIVE_CASES) <= 25
    for s in result.started:
        wanted = WANTED[s.case.stage]

        async def look(rid: str = s.referral_id) -> dict[str, Any] | None:
            async with up_engine.connect() as conn:
                return await referral_queries.get_referral(conn, rid)

        def reached(r: dict[str, Any] | None, wanted: str = wanted) -> bool:
            return r is not None and r["state"] == wanted

        case = f"{s.case.patient.patient_id} {s.case.modality} {s.case.body_part}"
        row = await wait_until(look, f"live case {s.referral_id} ({case}) {wanted}", ok=reached, within=30)
        assert isinstance(row, dict)
        assert (row["requesting_hospital_id"], row["modality"], row["priority"]) == (
            s.case.patient.hospital_id,
            s.case.modality,
            s.case.priority,
        )
        if s.case.stage is Stage.OFFERED:
            assert row["offered_to"] and row["reader_id"] is None
        else:
            assert row["reader_id"] and row["offered_to"] is None
        reader = row["offered_to"] or row["reader_id"]
        if read_in_house(s):
            assert (row["reading_hospital_id"], row["agreement_id"], reader) == ("h-anping", None, "ma.anping"), case
        else:
            assert row["reading_hospital_id"] == "h-provincial" and row["agreement_id"], case
            assert reader != "ma.anping", case

    stages = {s.case.stage for s in result.started}
    assert stages == set(Stage)
    assert sum(s.case.stage is Stage.PRELIMINARY for s in result.started) == 1
    assert {s.case.priority for s in result.started} == {"stat", "urgent", "routine"}
    assert len({s.case.modality for s in result.started}) >= 4
    assert {s.case.patient.hospital_id for s in result.started} == {"h-anping", "h-qingshan"}
    assert 2 <= sum(read_in_house(s) for s in result.started) < len(result.started) // 2


async def test_each_case_came_the_real_way(
    started: tuple[LiveCasesResult, ReferralCommands], up_engine: AsyncEngine
) -> None:
    """Its study is in the archive, sent by the county hospital, and its trail is the workflow's from submission:
    offered by routing, then the expert's own steps."""
    result, _ = started
    steps = {
        Stage.OFFERED: ["submit", "offer"],
        Stage.IN_READING: ["submit", "offer", "accept"],
        # and the coordinator's MDT consult on it, recorded on its timeline by its own workflow
        Stage.PRELIMINARY: ["submit", "offer", "accept", "submit_preliminary", "consult_scheduled"],
    }
    async with up_engine.connect() as conn:
        for s in result.started:
            row = await referral_queries.get_referral(conn, s.referral_id)
            assert row is not None
            owner = await conn.scalar(
                select(dicom_studies.c.hospital_id).where(
                    dicom_studies.c.study_instance_uid == row["study_instance_uid"]
                )
            )
            assert owner == s.case.patient.hospital_id, f"{s.referral_id}: its study is not in the archive"
            trail = (
                await conn.execute(
                    select(audit_events.c.action, audit_events.c.actor_id)
                    .where(audit_events.c.referral_id == s.referral_id)
                    .order_by(audit_events.c.seq)
                )
            ).all()
            assert [a for a, _ in trail] == steps[s.case.stage], s.referral_id
            assert trail[0].actor_id == row["submitted_by"] and trail[1].actor_id == "system"
            people = [actor for action, actor in trail[2:] if not action.startswith("consult_")]
            assert all(actor == row["reader_id"] for actor in people)


async def test_the_people_see_them(
    started: tuple[LiveCasesResult, ReferralCommands],
    up_settings: Settings,
    up_engine: AsyncEngine,
    temporal_client: Client,
) -> None:
    """The coordinator's open cases, the experts' worklists and the senior's second-reading queue are not empty,
    and the stat cases will be at risk within the hour."""
    result, _ = started
    app = create_app(up_settings, up_engine, temporal_client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://yilian.test") as client:
        api = Api(client)
        open_states = {"state": ["offered", "in_reading", "preliminary"], "limit": 500}
        coordinator = await api.ok("liu.coord", "GET", "/api/referrals", params=open_states)
        out = {s.referral_id for s in result.started if not read_in_house(s)}
        in_house = {s.referral_id for s in result.started if read_in_house(s)}
        assert {r["id"] for r in coordinator["items"]} >= out
        assert not {r["id"] for r in coordinator["items"]} & in_house  # Anping's own: not the provincial's to see
        anping = await api.ok("ma.anping", "GET", "/api/referrals", params=open_states)
        assert {r["id"] for r in anping["items"]} == in_house and all(r["in_house"] for r in anping["items"])
        for expert in ("wang.expert", "li.expert", "zhang.expert"):
            mine = await api.ok(expert, "GET", "/api/referrals", params=open_states)
            assert mine["items"], f"{expert}'s worklist has no live case"
        preliminary = next(s.referral_id for s in result.started if s.case.stage is Stage.PRELIMINARY)
        queue = await api.ok("chen.senior", "GET", "/api/referrals", params={"state": "preliminary"})
        assert preliminary in {r["id"] for r in queue["items"]}
        detail = await api.ok("chen.senior", "GET", f"/api/referrals/{preliminary}")
        assert {"approve", "request_changes"} <= set(detail["allowed_actions"])
    async with up_engine.connect() as conn:
        stat = (
            await conn.execute(
                select(referrals.c.id, referrals.c.submitted_at, referrals.c.sla_warn_at).where(
                    referrals.c.id.in_([s.referral_id for s in result.started]), referrals.c.priority == "stat"
                )
            )
        ).all()
    assert len(stat) >= 2
    assert all(warn - submitted <= timedelta(minutes=45) for _, submitted, warn in stat), stat


async def test_starting_again_adds_nothing_while_cases_are_open(
    started: tuple[LiveCasesResult, ReferralCommands], up_settings: Settings, up_engine: AsyncEngine, tmp_path: Path
) -> None:
    _, commands = started
    async with up_engine.connect() as conn:
        before = await conn.scalar(select(func.count()).select_from(referrals))
    again = await start_live_cases(up_engine, commands, blob_store_from_url(f"file://{tmp_path}"), share_link_days=30)
    assert again.skipped and again.started == ()
    async with up_engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(referrals)) == before


async def test_a_consult_is_scheduled_on_the_case_awaiting_second_reading(
    started: tuple[LiveCasesResult, ReferralCommands], up_engine: AsyncEngine
) -> None:
    from yilian.db.queries import consult as consult_queries

    result, _ = started
    assert result.consult_id is not None
    async with up_engine.connect() as conn:
        consult = await consult_queries.get(conn, result.consult_id)
    assert consult is not None
    subject = next(s for s in result.started if s.case.stage is Stage.PRELIMINARY)
    assert (consult["state"], consult["host_id"], consult["case_ids"]) == (
        "scheduled",
        "liu.coord",
        [subject.referral_id],
    )
    assert {"zhao.anping", "he.surgeon", "xu.oncology"} <= set(consult["invitee_ids"])
