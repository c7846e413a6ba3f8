"""The referral's step that files a signed report in the county's PACS (docs/gateway.md): the report version as an
Encapsulated PDF and a Basic Text SR in the original study, made once and listed for the sending hospital's gateway,
which fetches them over its cloud channel and C-STOREs them.

Idempotent under (referral, version): a version already made is not made again, and the instances' UIDs are derived
from it, so even a retry after a crash half-way names the same instances (the unique SOP Instance UID keeps one)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from yilian.db.engine import reading
from yilian.db.queries import pacs_delivery as q
from yilian.dicom.report_instances import (
    BASIC_TEXT_SR_STORAGE,
    ENCAPSULATED_PDF_STORAGE,
    ReportUids,
    SignedReport,
    basic_text_sr,
    encapsulated_pdf,
    report_uids,
    study_header,
)
from yilian.documents.report_pdf import ReportDocument, ReportSection, render_pdf, report_html
from yilian.domain.pacs_delivery import GATEWAY_ASK_WINDOW, DeliveryKind
from yilian.domain.referral_io import ActivityName, PacsReportInput, PacsReportResult
from yilian.notify.messages import DEFAULT_LANGUAGE, REPORT_PDF_WORDS

_log = logging.getLogger(__name__)


class PacsDeliveryActivities:
    def __init__(self, engine: AsyncEngine, chromium: str) -> None:
        self._engine = engine
        self._chromium = chromium

    @activity.defn(name=ActivityName.QUEUE_REPORT_FOR_PACS)
    async def queue_report_for_pacs(self, inp: PacsReportInput) -> PacsReportResult:
        now = datetime.now(UTC)
        async with reading(self._engine) as conn:
            if await q.version_made(conn, inp.referral_id, inp.report_version):
                return PacsReportResult(queued=0, reason="already queued")
            source = await q.report_source(conn, inp.referral_id, inp.report_version)
            asked = source is not None and await q.gateway_asked_since(
                conn, source["requesting_hospital_id"], now - GATEWAY_ASK_WINDOW
            )
        if source is None or not source["reports"] or source["reports"][-1]["version"] != inp.report_version:
            _log.warning("report %s v%d not sent to a PACS: no signed version or no archived study",
                         inp.referral_id, inp.report_version)  # fmt: skip
            return PacsReportResult(queued=0, reason="no archived study or signed version")
        if not asked:
            return PacsReportResult(queued=0, reason="the hospital's gateway has no PACS to store reports in")

        words = REPORT_PDF_WORDS[DEFAULT_LANGUAGE]
        pdf = await render_pdf(report_html(_document(source, words), words), self._chromium)
        study = study_header(source["study_attributes"])
        uids = report_uids(str(study.StudyInstanceUID), inp.referral_id, inp.report_version)
        previous = report_uids(str(study.StudyInstanceUID), inp.referral_id, source["reports"][-2]["version"]) if (
            len(source["reports"]) > 1
        ) else None  # fmt: skip
        report = _signed(source, words)
        pdf_bytes, sr_bytes = await asyncio.to_thread(
            lambda: (encapsulated_pdf(study, report, uids, pdf), basic_text_sr(study, report, uids, previous))
        )
        made = 0
        async with self._engine.begin() as conn:
            for kind, data in ((DeliveryKind.PDF, pdf_bytes), (DeliveryKind.SR, sr_bytes)):
                made += await q.insert_delivery(conn, _row(inp, source, uids, kind, data), now) is not None
        return PacsReportResult(queued=made)

    def all(self) -> list[Callable[..., Any]]:
        return [self.queue_report_for_pacs]


def _row(
    inp: PacsReportInput, source: Mapping[str, Any], uids: ReportUids, kind: DeliveryKind, data: bytes
) -> dict[str, Any]:
    pdf = kind is DeliveryKind.PDF
    return {
        "referral_id": inp.referral_id,
        "report_version": inp.report_version,
        "kind": str(kind),
        "hospital_id": source["requesting_hospital_id"],
        "study_instance_uid": source["study_instance_uid"],
        "series_instance_uid": uids.pdf_series if pdf else uids.sr_series,
        "sop_instance_uid": uids.pdf_instance if pdf else uids.sr_instance,
        "sop_class_uid": ENCAPSULATED_PDF_STORAGE if pdf else BASIC_TEXT_SR_STORAGE,
        "data": data,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }


def _signed(source: Mapping[str, Any], words: Mapping[str, str]) -> SignedReport:
    version = source["reports"][-1]
    reader = source["reader_name"] or version["author_name"]
    return SignedReport(
        referral_id=source["id"],
        version=version["version"],
        title=words["title"],
        signed_at=version["created_at"],
        author=reader if version["kind"] == "final" else version["author_name"],
        signer=version["author_name"],
        organisation=source["reading_hospital_name"],
        findings=version["findings"],
        impression=version["impression"],
    )


def _document(source: Mapping[str, Any], words: Mapping[str, str]) -> ReportDocument:
    """The page a county doctor opens in the PACS: hospital, patient, study, the reader and second reader, and every
    signed version so far (the final report, then its addenda) with its signer and time."""
    study = study_header(source["study_attributes"])
    d = source["study_date"]
    final = source["reports"][-1]
    return ReportDocument(
        title=words["title"],
        facts=[
            (words["hospital"], source["hospital_name"]),
            (words["patient"], _patient(study)),
            (words["study"], f"{'/'.join(source['modalities'])} {source['study_description']}".strip()),
            (words["date"], f"{d[:4]}-{d[4:6]}-{d[6:]}" if len(d) == 8 else d),
            (words["reading_hospital"], source["reading_hospital_name"]),
            (words["reader"], source["reader_name"] or final["author_name"]),
            (words["second_reader"], source["second_reader_name"] or "—"),
            (words["signed_at"], f"{final['created_at']:%Y-%m-%d %H:%M} UTC"),
        ],
        sections=[
            ReportSection(
                f"{words.get(str(r['kind']), str(r['kind']))} v{r['version']} · {words['signed_by']} "
                f"{r['author_name']} · {r['created_at']:%Y-%m-%d %H:%M} UTC",
                r["findings"],
                r["impression"],
            )
            for r in source["reports"]
        ],
        footer=words["pacs_footer"],
    )


def _patient(study: Any) -> str:
    """`Zhang San 张 三 (AP0001, M, 1961-03-14)`: every group of the name, then what identifies the patient."""
    name = str(study.get("PatientName", "") or "").replace("^", " ").replace("=", " ").strip()
    born = str(study.get("PatientBirthDate", "") or "")
    born = f"{born[:4]}-{born[4:6]}-{born[6:]}" if len(born) == 8 else born
    facts = [f for f in (str(study.get("PatientID", "") or ""), str(study.get("PatientSex", "") or ""), born) if f]
    return f"{name} ({', '.join(facts)})" if facts else name
