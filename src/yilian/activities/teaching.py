"""Activities of the teaching-case workflow: recording a step (one transaction), de-identifying the case (its image
copy and its text, by the deid package) and the leak scan that guards publishing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from yilian.db.engine import reading
from yilian.db.queries import teaching as q
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import Role
from yilian.domain.teaching_io import (
    CaseRef,
    DeidentifyInput,
    DeidentifyResult,
    LeakFinding,
    RecordTeachingStepInput,
    TeachingActivity,
)
from yilian.imaging.blob import BlobStore
from yilian.notify import dispatch
from yilian.notify.port import Notifier


class TeachingActivities:
    """Bound to one engine and the archive; every method is idempotent (Temporal may run it more than once)."""

    def __init__(self, engine: AsyncEngine, blobs: BlobStore, secret: str, notifiers: list[Notifier]) -> None:
        self._engine = engine
        self._blobs = blobs
        self._secret = secret  # keys the pseudonyms and date shifts: the same patient, the same pseudonym
        self._notifiers = notifiers

    @activity.defn(name=TeachingActivity.RECORD_STEP)
    async def record_step(self, inp: RecordTeachingStepInput) -> bool:
        """Audit event, projection, curation version and notices: all or nothing, once per (case, step)."""
        async with self._engine.begin() as conn:
            recorded = await q.record_step(
                conn, inp.event, inp.snapshot, dict(inp.details), curation_version=inp.curation_version
            )
            if recorded and inp.notifications:  # a retry found its step recorded, notices and all
                told = await dispatch.notify_all(conn, self._notifiers, inp.notifications)
                await q.note_notified(conn, inp.event.case_id, inp.event.seq, told)
        return recorded

    @activity.defn(name=TeachingActivity.DEIDENTIFY)
    async def deidentify(self, inp: DeidentifyInput) -> DeidentifyResult:
        """A new copy of the study under new UIDs and a pseudonymous patient, and the redacted text beside what it
        was made from. Done once per case: a retry finds the copy recorded and returns it."""
        from yilian.activities.teaching_deid import deidentify_case

        async with reading(self._engine) as conn:
            done = await q.deid_of(conn, inp.case_id)
        if done is not None:
            return _result(done)
        async with reading(self._engine) as conn:
            source = await q.source_of(conn, inp.referral_id)
            known = await q.identifiers_of(conn, inp.referral_id)
        if source is None or not source["signed"] or source["report"] is None:
            raise YilianError(ErrorCode.NOT_FOUND, f"no signed report for {inp.referral_id}")
        values = await deidentify_case(self._engine, self._blobs, self._secret, inp, source, known)
        async with self._engine.begin() as conn:
            await q.save_deid(conn, inp.case_id, values, datetime.now(UTC))
            done = await q.deid_of(conn, inp.case_id)
        assert done is not None
        return _result(done)

    @activity.defn(name=TeachingActivity.LEAK_SCAN)
    async def leak_scan(self, inp: CaseRef) -> list[LeakFinding]:
        """Every tag of every instance of the copy and every text a learner will read, against what identifies the
        case's patient and people and the generic patterns: what the scan finds blocks publishing."""
        from yilian.activities.teaching_deid import scan_case

        async with reading(self._engine) as conn:
            case = await q.get_case(conn, inp.case_id, Role.EDUCATOR, full=True)
            deid = await q.deid_of(conn, inp.case_id)
            if case is None or deid is None:
                raise YilianError(ErrorCode.NOT_FOUND, f"teaching case {inp.case_id} has no de-identified copy")
            known = await q.identifiers_of(conn, case["referral_id"])
        return await scan_case(self._engine, self._blobs, case, deid, known)

    def all(self) -> list[Callable[..., Any]]:
        return [self.record_step, self.deidentify, self.leak_scan]


def _result(row: dict[str, Any]) -> DeidentifyResult:
    replacements, text = row["replacements"] or [], row["text"]
    return DeidentifyResult(
        row["study_instance_uid"],
        row["instances"],
        len(row["image_flags"]),
        len(replacements),
        history=text.get("clinical_question", {}).get("redacted", ""),
        findings=text.get("findings", {}).get("redacted", ""),
        impression=text.get("impression", {}).get("redacted", ""),
    )
