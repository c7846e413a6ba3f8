"""Live demo cases: `yilian up` starts twenty open referrals through the real path once its worker runs.

The demo history (db/demo_history.py) is finished cases only, so without these the coordinator's open cases, the
at-risk list and the experts' worklists stay empty until someone submits one. Each case goes the way a county
doctor's does: a small synthetic study stored by the one ingest pipeline, a referral submitted by the same service
the API uses (agreement, patient, workflow), and the experts' steps sent as the same Updates the web app sends.
Nothing is written into a projection here: the workflows write them.

Started only when the alliance has no open referral at all, so restarting `yilian up` does not add a new batch.
Every case is submitted at start-up, so the SLA clocks run from then: the stat cases reach the at-risk list after
75 % of their target (about 23 minutes at Anping, 45 at Qingshan) and breach after it, as real ones would.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.api.consult_service import NewConsult
from yilian.api.consult_service import make as make_consult
from yilian.api.referral_service import PatientDetails, Submission, submit
from yilian.api.workflow_client import ConsultCommands, ReferralCommands
from yilian.db.demo import ANPING, DEMO_IN_HOUSE_USERS, DEMO_USERS, QINGSHAN
from yilian.db.demo_history import COUNTY_DOCTOR, EXAMS, Exam
from yilian.db.engine import reading
from yilian.db.queries import demo as demo_queries
from yilian.db.queries import referral as referral_queries
from yilian.dicom.synthetic import StudyRequest, synthetic_study
from yilian.domain.access import Principal
from yilian.domain.agreement import Priority
from yilian.domain.consult import Schedule
from yilian.domain.referral import Action, ReferralState
from yilian.domain.referral_io import ActorInput, ReportInput
from yilian.domain.report import ReportContent
from yilian.domain.roles import Actor, Role
from yilian.imaging.blob import BlobStore
from yilian.imaging.ingest import IncomingInstance, Origin, store_instance

log = logging.getLogger(__name__)

ISSUER = {ANPING: "ANPING", QINGSHAN: "QINGSHAN"}  # the demo hospitals' Patient ID issuers (db/demo.py)


class Stage(StrEnum):
    """How far a live case is taken at start-up."""

    OFFERED = "offered"  # as routing left it: offered to an expert, waiting on his worklist
    IN_READING = "in_reading"  # accepted by the expert it was offered to
    PRELIMINARY = "preliminary"  # read, its preliminary report waiting for the senior's second reading


@dataclass(frozen=True)
class LivePatient:
    hospital_id: str
    patient_id: str
    family: tuple[str, str]  # (汉字, pinyin)
    given: tuple[str, str]
    birth_date: date
    sex: str

    @property
    def name(self) -> str:
        """As the demo registers names: "王建国 Wang Jianguo"."""
        return f"{self.family[0]}{self.given[0]} {self.family[1]} {self.given[1]}"

    @property
    def dicom_name(self) -> str:
        """Alphabetic and ideographic groups (PS3.5 §6.2.1.2): "Wang^Jianguo=王^建国"."""
        return f"{self.family[1]}^{self.given[1]}={self.family[0]}^{self.given[0]}"


@dataclass(frozen=True)
class LiveCase:
    patient: LivePatient
    modality: str
    body_part: str
    priority: Priority
    stage: Stage = Stage.OFFERED
    difficult: bool = False  # Qingshan's agreement covers difficult cases only
    result: int = 0  # which of the exam's results a preliminary report writes (db/demo_history.EXAMS)

    @property
    def exam(self) -> Exam:
        return next(e for e in EXAMS if (e.modality, e.body_part) == (self.modality, self.body_part))


def _patient(hospital_id: str, number: int, family: str, given: str, born: str, sex: str) -> LivePatient:
    prefix = "AP" if hospital_id == ANPING else "QS"
    zh_family, en_family = family.split()
    zh_given, en_given = given.split()
    return LivePatient(
        hospital_id, f"{prefix}{number}", (zh_family, en_family), (zh_given, en_given), date.fromisoformat(born), sex
    )


# Patient IDs 5001 on: clear of the README's AP0001 and the history's 10001 on.
P = (
    _patient(ANPING, 5001, "王 Wang", "建国 Jianguo", "1958-05-12", "M"),
    _patient(ANPING, 5002, "李 Li", "秀英 Xiuying", "1966-09-30", "F"),
    _patient(ANPING, 5003, "张 Zhang", "海涛 Haitao", "1979-01-22", "M"),
    _patient(ANPING, 5004, "陈 Chen", "桂兰 Guilan", "1949-12-03", "F"),
    _patient(ANPING, 5005, "杨 Yang", "志明 Zhiming", "1971-04-17", "M"),
    _patient(ANPING, 5006, "黄 Huang", "晓燕 Xiaoyan", "1984-07-08", "F"),
    _patient(ANPING, 5007, "周 Zhou", "德福 Defu", "1955-02-26", "M"),
    _patient(ANPING, 5008, "吴 Wu", "玉梅 Yumei", "1962-11-15", "F"),
    _patient(QINGSHAN, 5001, "徐 Xu", "长林 Changlin", "1953-08-19", "M"),
    _patient(QINGSHAN, 5002, "马 Ma", "红霞 Hongxia", "1975-03-04", "F"),
    _patient(QINGSHAN, 5003, "朱 Zhu", "文斌 Wenbin", "1968-10-11", "M"),
    _patient(QINGSHAN, 5004, "郭 Guo", "淑珍 Shuzhen", "1960-06-27", "F"),
)
STAT, URGENT, ROUTINE = Priority.STAT, Priority.URGENT, Priority.ROUTINE
OFFERED, IN_READING, PRELIMINARY = Stage.OFFERED, Stage.IN_READING, Stage.PRELIMINARY

LIVE_CASES: tuple[LiveCase, ...] = (
    # Anping: full hosting, every case second-read; SLA stat 30 min, urgent 2 h, routine 24 h.
    LiveCase(P[0], "CT", "CHEST", STAT, IN_READING),
    LiveCase(P[6], "CT", "HEAD", STAT),
    LiveCase(P[2], "DX", "CHEST", URGENT, IN_READING),
    LiveCase(P[4], "CT", "CHEST", URGENT, PRELIMINARY, result=1),
    LiveCase(P[1], "MR", "HEAD", URGENT),
    LiveCase(P[3], "CT", "ABDOMEN", URGENT, IN_READING),
    LiveCase(P[0], "DX", "CHEST", ROUTINE),
    LiveCase(P[5], "DX", "KNEE", ROUTINE),
    LiveCase(P[6], "MR", "LSPINE", ROUTINE, IN_READING),
    LiveCase(P[7], "MG", "BREAST", ROUTINE),
    LiveCase(P[2], "CT", "CHEST", ROUTINE),
    LiveCase(P[4], "DX", "LSPINE", ROUTINE),
    LiveCase(P[3], "CT", "HEAD", ROUTINE),
    LiveCase(P[5], "MR", "KNEE", ROUTINE),
    # Qingshan: difficult cases only; SLA stat 1 h, urgent 4 h, routine 48 h.
    LiveCase(P[8], "CT", "HEAD", STAT, difficult=True),
    LiveCase(P[9], "MR", "HEAD", URGENT, IN_READING, difficult=True),
    LiveCase(P[10], "CT", "CHEST", ROUTINE, difficult=True),
    LiveCase(P[10], "DX", "CHEST", ROUTINE, difficult=True),
    LiveCase(P[11], "MG", "BREAST", URGENT, difficult=True),
    LiveCase(P[8], "CT", "ABDOMEN", ROUTINE, IN_READING, difficult=True),
)


@dataclass(frozen=True)
class Started:
    referral_id: str
    case: LiveCase


@dataclass(frozen=True)
class LiveCasesResult:
    started: tuple[Started, ...] = ()
    stuck: tuple[str, ...] = ()  # why a case did not reach its stage (it stays open where it stopped)
    skipped: bool = False  # the alliance already had open cases
    consult_id: str | None = None  # the MDT consult scheduled on the case awaiting second reading


class LiveCaseStuck(RuntimeError):
    """A live case did not reach the state its next step needs within the wait."""


def _actor(user_id: str) -> Actor:
    user = next(u for u in (*DEMO_USERS, *DEMO_IN_HOUSE_USERS) if u.id == user_id)
    return Actor(user.id, Role(user.role), user.hospital_id, user.name)


async def start_live_cases(
    engine: AsyncEngine,
    commands: ReferralCommands,
    blobs: BlobStore,
    *,
    share_link_days: int,
    wait: timedelta = timedelta(minutes=2),
    consults: ConsultCommands | None = None,
) -> LiveCasesResult:
    """Start LIVE_CASES unless any referral is open; each taken to its stage. Needs a running worker. With
    `consults`, an MDT consult is scheduled on the case awaiting second reading (DEMO_CONSULT)."""
    async with reading(engine) as conn:
        if await demo_queries.open_referral_count(conn):
            return LiveCasesResult(skipped=True)
    started = []
    for number, case in enumerate(LIVE_CASES, start=1):
        referral_id = await _submit(engine, blobs, commands, case, number, share_link_days)
        started.append(Started(referral_id, case))
    steps = [_advance(engine, commands, s, wait) for s in started if s.case.stage is not Stage.OFFERED]
    outcomes = await asyncio.gather(*steps, return_exceptions=True)
    stuck = []
    for outcome in outcomes:
        if isinstance(outcome, LiveCaseStuck):
            stuck.append(str(outcome))
        elif isinstance(outcome, BaseException):
            raise outcome
    consult_id = None
    subject = next((s for s in started if s.case.stage is Stage.PRELIMINARY), None)
    if consults is not None and subject is not None and not stuck:
        consult_id = await schedule_demo_consult(engine, consults, subject.referral_id, datetime.now(UTC))
    return LiveCasesResult(tuple(started), tuple(stuck), consult_id=consult_id)


# The demo's consult: the coordinator brings the reader's hard CT chest case to a tumour-board style MDT with the
# referring county doctor, the senior, a thoracic surgeon and an oncologist, soon after start-up, so the invitation,
# the 15-minute reminder and the room opening at its time all show within the first half hour of `yilian up`.
DEMO_CONSULT_IN = timedelta(minutes=20)
DEMO_CONSULT_INVITED = ("zhao.anping", "chen.senior", "he.surgeon", "xu.oncology")


async def schedule_demo_consult(engine: AsyncEngine, consults: ConsultCommands, referral_id: str, now: datetime) -> str:
    """Schedule the demo's consult on the case the way the coordinator's screen does (api.consult_service)."""
    async with reading(engine) as conn:
        row = await referral_queries.get_referral(conn, referral_id)
    reader = str(row["reader_id"]) if row and row["reader_id"] else None
    coordinator = _actor("liu.coord")
    principal = Principal(coordinator.user_id, coordinator.role, coordinator.hospital_id, coordinator.name)
    invited = tuple(dict.fromkeys([*([reader] if reader else []), *DEMO_CONSULT_INVITED]))
    plan = Schedule(
        (now + DEMO_CONSULT_IN).replace(second=0, microsecond=0), 30, invited, "1. 影像复核 2. 手术指征 3. 辅助治疗"
    )
    new = NewConsult("右肺结节 MDT 多学科会诊", referral_id, [], "", plan)
    return await make_consult(engine, consults, principal, new, now)


async def _submit(
    engine: AsyncEngine, blobs: BlobStore, commands: ReferralCommands, case: LiveCase, n: int, share_link_days: int
) -> str:
    """The county doctor stores the study, then refers it: the web app's upload and submission."""
    patient, doctor = case.patient, _actor(COUNTY_DOCTOR[case.patient.hospital_id])
    now = datetime.now(UTC)
    request = StudyRequest(
        modality=case.modality,
        body_part=case.body_part,
        patient_id=patient.patient_id,
        issuer=ISSUER[patient.hospital_id],
        patient_name=patient.dicom_name,
        birth_date=patient.birth_date,
        sex=patient.sex,
        accession_number=f"LIVE{n:04d}",
        acquired_at=now - timedelta(minutes=5),
    )
    study_instance_uid = ""
    for data in await asyncio.to_thread(synthetic_study, request):
        incoming = IncomingInstance(data, Origin.UPLOAD, patient.hospital_id, doctor.user_id)
        stored = await store_instance(engine, blobs, incoming)
        if not stored.accepted:
            raise RuntimeError(f"live case {n}: the archive refused its {case.modality} study: {stored.reason}")
        study_instance_uid = stored.study_instance_uid
    exam = case.exam
    submission = Submission(
        patient=PatientDetails(patient.patient_id, None, patient.name, patient.birth_date, patient.sex),
        study_instance_uid=study_instance_uid,
        modality=case.modality,
        body_part=case.body_part,
        clinical_question=exam.questions[n % len(exam.questions)],
        priority=case.priority,
        difficult=case.difficult,
        overflow=False,
        reading_hospital_id=None,
    )
    return (await submit(engine, commands, doctor, submission, now, share_link_days=share_link_days)).referral_id


async def _advance(engine: AsyncEngine, commands: ReferralCommands, started: Started, wait: timedelta) -> None:
    """The expert the workflow offered the case to accepts it and, for PRELIMINARY, reports."""
    rid, case = started.referral_id, started.case
    reader = _actor(await _offered_to(engine, rid, wait))
    await commands.act(rid, Action.ACCEPT, ActorInput(reader))
    if case.stage is Stage.PRELIMINARY:
        result = case.exam.results[case.result]
        content = ReportContent(result.findings, result.impression, dict(result.structured))
        await commands.act(rid, Action.SUBMIT_PRELIMINARY, ReportInput(reader, content))


async def _offered_to(engine: AsyncEngine, referral_id: str, wait: timedelta) -> str:
    """Whom routing offered the case to, once it has (the workflow routes a moment after the submission)."""
    deadline = time.monotonic() + wait.total_seconds()
    while True:
        async with reading(engine) as conn:
            row = await referral_queries.get_referral(conn, referral_id)
        state = row["state"] if row else None
        if row is not None and state == ReferralState.OFFERED and row["offered_to"]:
            return str(row["offered_to"])
        if time.monotonic() > deadline:
            raise LiveCaseStuck(f"{referral_id} stayed {state} for {wait}, waiting to be offered")
        await asyncio.sleep(0.2)
