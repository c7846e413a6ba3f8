"""The demo's cloud film patient: 王建国 of Anping (AP5001, whose CT chest the live cases send) also has a chest
radiograph at Qingshan (QS5005), and both records are one regional patient with a phone, so `yilian up` shows a
patient's exams from two hospitals at /film (sign in with DEMO_FILM_PHONE; the code is in /api/dev/sms-outbox).

Idempotent: once the Anping record is in the regional index nothing is added again.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.api import patient_index_service
from yilian.db.demo import ANPING, QINGSHAN
from yilian.db.queries import alliance
from yilian.db.queries import patient_index as index_queries
from yilian.dicom.synthetic import StudyRequest, synthetic_study
from yilian.domain.access import Principal
from yilian.domain.roles import Role
from yilian.imaging.blob import BlobStore
from yilian.imaging.ingest import IncomingInstance, Origin, store_instance

DEMO_FILM_PHONE = "13800138000"
# A made-up but well-formed 居民身份证号 (its GB 11643 check character is right), born 1958-05-12.
DEMO_FILM_NATIONAL_ID = "320481195805124519"
NAME, DICOM_NAME, BORN, SEX = "王建国 Wang Jianguo", "Wang^Jianguo=王^建国", date(1958, 5, 12), "M"
RECORDS = ((ANPING, "ANPING", "AP5001"), (QINGSHAN, "QINGSHAN", "QS5005"))
_KEEPER = Principal("admin", Role.ADMIN, None, "Yilian demo")


async def seed_demo_film(engine: AsyncEngine, blobs: BlobStore, patient_index_secret: str) -> str | None:
    """Put the demo patient's two records into the regional index (storing the Qingshan radiograph first); the
    regional patient's id, or None when it was done before."""
    now = datetime.now(UTC)
    refs = []
    async with engine.begin() as conn:
        for hospital_id, issuer, patient_id in RECORDS:
            refs.append(await alliance.register_patient(
                conn, hospital_id=hospital_id, issuer=issuer, patient_id=patient_id, name=NAME, birth_date=BORN,
                sex=SEX, now=now,
            ))  # fmt: skip
        if await index_queries.entry(conn, refs[0]) is not None:
            return None
    request = StudyRequest(
        modality="DX", body_part="CHEST", patient_id="QS5005", issuer="QINGSHAN", patient_name=DICOM_NAME,
        birth_date=BORN, sex=SEX, accession_number="FILM0001", acquired_at=now - timedelta(days=200),
    )  # fmt: skip
    for data in await asyncio.to_thread(synthetic_study, request):
        stored = await store_instance(engine, blobs, IncomingInstance(data, Origin.UPLOAD, QINGSHAN, "sun.qingshan"))
        if not stored.accepted:
            raise RuntimeError(f"the demo's Qingshan radiograph was refused: {stored.reason}")
    first = await patient_index_service.enrol(
        engine, patient_index_secret, _KEEPER, refs[0], DEMO_FILM_NATIONAL_ID, DEMO_FILM_PHONE, now
    )
    await patient_index_service.enrol(engine, patient_index_secret, _KEEPER, refs[1], DEMO_FILM_NATIONAL_ID, None, now)
    return first.regional_patient_id
