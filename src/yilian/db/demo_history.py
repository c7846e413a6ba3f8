"""Ninety days of finished referrals for the demo alliance, so the dashboard and worklists mean something at once.

These cases are written straight into the projection tables (referrals, audit_events, report_versions, patients)
instead of being run through ReferralWorkflow. Their workflows would be long finished: every case is closed
(report signed, returned and acknowledged) or cancelled, so no person is offered an action on a case that has no
running workflow. Starting two thousand workflows to replay them would take minutes; this takes a second or two.
Each trail goes through the domain's own `transition()`, so the audit events follow the transition table step by
step (SLA warnings and breaches included, at the moments the workflow's timers would fire) and the projection row
is what the last event would have written. Nothing else is made for them: no notifications (the inboxes stay
quiet), no share links, and no images (their studies are not in the archive).

Deterministic: a fixed random seed, and every time is an offset from the moment of seeding.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.demo import ANPING, DEMO_AGREEMENTS, DEMO_USERS, QINGSHAN, TERTIARY
from yilian.db.queries.referral import audit_row
from yilian.db.schema import audit_events, patients, referrals, report_versions
from yilian.domain.referral import Action, AuditEvent, ReferralCase, ReferralState, transition
from yilian.domain.roles import SYSTEM_ACTOR, Actor, Role
from yilian.domain.sla import WARN_FRACTION

SEED = 20260901
DAYS = 90
CASES = {ANPING: 1550, QINGSHAN: 450}
LOCAL = ZoneInfo("Asia/Shanghai")
GENERALIST, SENIOR = "zhang.expert", "chen.senior"
COUNTY_DOCTOR = {ANPING: "zhao.anping", QINGSHAN: "sun.qingshan"}
PATIENT_PREFIX = {ANPING: "AP", QINGSHAN: "QS"}
# The first generated patient: present means the history is loaded, and seeding it again adds nothing.
MARKER_PATIENT = "pat-demo-ap-10001"

S = ReferralState


@dataclass(frozen=True)
class Finding:
    findings: str
    impression: str
    weight: int
    structured: tuple[tuple[str, str], ...] = ()
    critical_note: str = ""


@dataclass(frozen=True)
class Exam:
    modality: str
    body_part: str
    weight: int
    reader: str  # whom routing offers it to first (subspecialist before generalist, experts before the senior)
    questions: tuple[str, ...]
    results: tuple[Finding, ...]
    female_only: bool = False


_CT_CHEST_NORMAL = (
    "肺野：未见实变。结节：无。\n气道：通畅。\n胸膜：未见积液及气胸。\n纵隔及肺门：未见肿大淋巴结。\n"
    "心脏及大血管：大小正常。\n骨骼及软组织：未见异常。"
)
_CT_HEAD_NORMAL = "脑实质：未见异常密度影。\n脑室系统及脑沟：大小正常，中线结构居中。\n未见颅内出血。\n颅骨：未见骨折。"
_CT_ABDOMEN_NORMAL = (
    "肝脏：大小及密度正常，未见局灶性病变。\n胆囊及胆管：未见异常。\n胰腺、脾脏、肾上腺：未见异常。\n"
    "双肾：未见结石及积水。\n肠管：未见梗阻。\n未见腹腔积液及游离气体。"
)
_DX_CHEST_NORMAL = "双肺纹理清晰，未见实变影。\n心影大小正常。\n双侧肋膈角锐利。\n骨骼：未见异常。"
_MR_HEAD_NORMAL = "脑实质：未见异常信号。\nDWI：未见弥散受限。\n脑室系统大小正常，中线结构居中。\n未见异常强化。"
_MR_SPINE_NORMAL = (
    "脊柱序列：正常。\n椎体：高度及信号正常。\n椎间盘：未见突出。\n脊髓：信号正常。\n椎管及椎间孔：未见狭窄。"
)

EXAMS: tuple[Exam, ...] = (
    Exam(
        "CT", "CHEST", 22, "wang.expert",
        ("咳嗽两周，排除肺部占位", "体检发现肺结节，请评估", "发热伴咳嗽，排除肺炎", "胸痛气促，排除气胸"),
        (
            Finding(_CT_CHEST_NORMAL, "胸部CT平扫未见明显异常。", 50,
                    (("nodules", "none"), ("lung_rads", "1"), ("effusion", "none"))),
            Finding("右肺上叶见一磨玻璃结节，大小约8mm，边界清。余肺野未见实变。胸膜未见积液。",
                    "右肺上叶磨玻璃结节，建议3个月后复查。", 25,
                    (("nodules", "solitary"), ("largest_nodule_mm", "8"), ("lung_rads", "3"), ("effusion", "none"))),
            Finding("右肺下叶见斑片状实变影，内见支气管充气征。右侧少量胸腔积液。",
                    "右肺下叶肺炎，右侧少量胸腔积液。", 20,
                    (("nodules", "none"), ("lung_rads", "1"), ("effusion", "right"))),
            Finding("右侧胸腔大量积气，右肺压缩约80%，纵隔向左移位。",
                    "右侧张力性气胸。", 2, (("effusion", "none"),),
                    "右侧张力性气胸，纵隔左移，需立即胸腔闭式引流"),
        ),
    ),
    Exam(
        "CT", "HEAD", 14, "li.expert",
        ("头痛伴呕吐，排除颅内出血", "头部外伤后头晕", "突发右侧肢体无力"),
        (
            Finding(_CT_HEAD_NORMAL, "头颅CT平扫未见明显异常。", 55,
                    (("haemorrhage", "none"), ("infarct", "no"), ("fracture", "no"))),
            Finding("双侧基底节区见多发斑点状低密度影，边界清。脑室系统未见扩大。",
                    "双侧基底节区多发腔隙性脑梗死。", 35,
                    (("haemorrhage", "none"), ("infarct", "no"), ("fracture", "no"))),
            Finding("左侧基底节区见约3.2×2.5cm高密度影，周围见低密度水肿带，中线结构右移约5mm。",
                    "左侧基底节区脑出血。", 4,
                    (("haemorrhage", "intraparenchymal"), ("midline_shift_mm", "5"), ("fracture", "no")),
                    "左侧基底节区急性脑出血，中线右移5mm"),
        ),
    ),
    Exam(
        "CT", "ABDOMEN", 8, GENERALIST,
        ("右上腹痛，排除胆囊结石", "腹痛伴呕吐，排除肠梗阻", "右下腹痛，排除阑尾炎"),
        (
            Finding(_CT_ABDOMEN_NORMAL, "上腹部CT平扫未见明显异常。", 45,
                    (("free_fluid", "none"), ("free_air", "no"), ("obstruction", "no"))),
            Finding("胆囊内见多发高密度结石影，最大约1.2cm，胆囊壁稍增厚。",
                    "胆囊多发结石，慢性胆囊炎。", 40,
                    (("free_fluid", "none"), ("free_air", "no"), ("obstruction", "no"), ("focal_lesion", "胆囊结石"))),
            Finding("膈下见新月形游离气体影，腹腔少量积液。",
                    "膈下游离气体，考虑消化道穿孔。", 3,
                    (("free_fluid", "small"), ("free_air", "yes"), ("obstruction", "no")),
                    "膈下游离气体，考虑消化道穿孔，请外科急会诊"),
        ),
    ),
    Exam(
        "DX", "CHEST", 25, "wang.expert",
        ("体检胸片", "咳嗽发热三天", "术前常规检查"),
        (
            Finding(_DX_CHEST_NORMAL, "心肺膈未见明显异常。", 65,
                    (("consolidation", "none"), ("effusion", "none"), ("pneumothorax", "none"),
                     ("heart_size", "normal"))),
            Finding("右下肺野见斑片状模糊影，右侧肋膈角稍钝。",
                    "右下肺炎，建议治疗后复查。", 28,
                    (("consolidation", "right"), ("effusion", "right"), ("pneumothorax", "none"),
                     ("heart_size", "normal"))),
            Finding("左侧胸腔见无肺纹理透亮区，左肺压缩约50%。",
                    "左侧气胸（肺压缩约50%）。", 2,
                    (("consolidation", "none"), ("effusion", "none"), ("pneumothorax", "left"),
                     ("heart_size", "normal")),
                    "左侧气胸，肺压缩约50%"),
        ),
    ),
    Exam(
        "DX", "KNEE", 5, GENERALIST,
        ("膝关节疼痛，排除骨折", "膝关节肿痛半年"),
        (
            Finding("膝关节诸骨未见骨折及骨质破坏，关节间隙正常。", "膝关节未见明显异常。", 55),
            Finding("膝关节髁间隆起变尖，关节边缘骨质增生，内侧关节间隙变窄。", "膝关节退行性变。", 45),
        ),
    ),
    Exam(
        "DX", "LSPINE", 4, GENERALIST,
        ("腰痛一月", "弯腰后腰痛加重"),
        (
            Finding("腰椎序列正常，椎体未见骨折，椎间隙未见狭窄。", "腰椎未见明显异常。", 45),
            Finding("腰椎生理曲度变直，L3-L5椎体边缘骨质增生，L4/5椎间隙变窄。", "腰椎退行性变。", 55),
        ),
    ),
    Exam(
        "MR", "HEAD", 8, "li.expert",
        ("反复头晕一月", "突发言语不清，排除急性脑梗死"),
        (
            Finding(_MR_HEAD_NORMAL, "头颅MR平扫未见明显异常。", 50,
                    (("restricted_diffusion", "no"), ("white_matter", "0"))),
            Finding("双侧侧脑室旁白质见斑片状长T2信号，FLAIR呈高信号，DWI未见弥散受限。",
                    "脑白质变性（Fazekas 2级）。", 42,
                    (("restricted_diffusion", "no"), ("white_matter", "2"))),
            Finding("左侧额顶叶见片状DWI高信号，ADC值减低。",
                    "左侧额顶叶急性脑梗死。", 5,
                    (("restricted_diffusion", "yes"), ("white_matter", "1")),
                    "左侧额顶叶急性脑梗死，处于溶栓时间窗内请立即处理"),
        ),
    ),
    Exam(
        "MR", "LSPINE", 7, "li.expert",
        ("腰痛伴左下肢放射痛", "腰痛伴双下肢麻木"),
        (
            Finding(_MR_SPINE_NORMAL, "腰椎MR未见明显异常。", 30,
                    (("disc", "none"), ("canal_stenosis", "none"), ("cord_signal", "no"))),
            Finding("L4/5椎间盘向左后方突出，压迫左侧神经根，椎管轻度狭窄。",
                    "L4/5椎间盘突出（左后型），椎管轻度狭窄。", 70,
                    (("level", "L4/5"), ("disc", "protrusion"), ("canal_stenosis", "mild"), ("cord_signal", "no"))),
        ),
    ),
    Exam(
        "MR", "KNEE", 3, "li.expert",
        ("膝关节扭伤后疼痛",),
        (
            Finding("膝关节诸骨信号正常，半月板及交叉韧带未见异常信号。", "膝关节MR未见明显异常。", 40),
            Finding("内侧半月板后角见线样高信号达关节面。", "内侧半月板后角撕裂（III度）。", 60),
        ),
    ),
    Exam(
        "MG", "BREAST", 4, GENERALIST,
        ("乳腺筛查", "左乳触及肿块"),
        (
            Finding("双乳腺体呈不均匀致密型，未见肿块及可疑钙化。", "双乳未见明显异常（BI-RADS 1）。", 70),
            Finding("左乳外上象限见一不规则肿块，大小约1.5cm，边缘见毛刺。",
                    "左乳外上象限肿块（BI-RADS 4B），建议活检。", 30),
        ),
        female_only=True,
    ),
)  # fmt: skip

SURNAMES = (
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"), ("黄", "Huang"),
    ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"), ("徐", "Xu"), ("孙", "Sun"), ("马", "Ma"), ("朱", "Zhu"),
    ("胡", "Hu"), ("郭", "Guo"), ("何", "He"), ("高", "Gao"), ("林", "Lin"), ("罗", "Luo"), ("郑", "Zheng"),
    ("梁", "Liang"), ("谢", "Xie"), ("宋", "Song"), ("唐", "Tang"), ("许", "Xu"), ("韩", "Han"), ("冯", "Feng"),
)  # fmt: skip
GIVEN = {
    "M": (("伟", "Wei"), ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("勇", "Yong"), ("建国", "Jianguo"),
          ("志明", "Zhiming"), ("海涛", "Haitao"), ("国华", "Guohua"), ("德福", "Defu"), ("文斌", "Wenbin"),
          ("小龙", "Xiaolong"), ("长林", "Changlin"), ("明", "Ming"), ("涛", "Tao")),
    "F": (("芳", "Fang"), ("娜", "Na"), ("敏", "Min"), ("静", "Jing"), ("丽", "Li"), ("秀英", "Xiuying"),
          ("桂兰", "Guilan"), ("玉梅", "Yumei"), ("淑珍", "Shuzhen"), ("晓燕", "Xiaoyan"), ("婷", "Ting"),
          ("红霞", "Hongxia"), ("春花", "Chunhua"), ("雪", "Xue"), ("慧", "Hui")),
}  # fmt: skip

DECLINE_REASONS = ("正在处理急诊病例，请转他人", "非本人亚专业")
CANCEL_REASONS = ("患者已转上级医院就诊", "重复申请", "检查部位选错，重新提交")
INFO_REQUESTS = (
    ("请补充既往病史及既往影像", "已补充：高血压病史10年，既往无手术史"),
    ("请上传增强扫描序列", "增强序列已上传"),
    ("请说明外伤时间及机制", "今晨骑电动车摔倒，头部着地"),
)
CHANGE_REQUESTS = {
    "minor": ("印象中请补充随访建议", "请注明病灶大小及具体位置"),
    "major": ("漏报病灶，请复核后补充", "诊断结论与所见不符，请复核"),
}
# Second reading grades (RADPEER-like): mostly agreement, some minor, a few major discrepancies.
GRADES = (("agree", 88), ("minor", 9), ("major", 3))
PRIORITY_MIX = {
    ANPING: (("stat", 8), ("urgent", 22), ("routine", 70)),
    QINGSHAN: (("stat", 5), ("urgent", 25), ("routine", 70)),
}
# Minutes: (median reading time, median second reading time); lognormal around them.
PACE = {"stat": (8.0, 5.0), "urgent": (30.0, 15.0), "routine": (300.0, 100.0)}
# Relative submission volume per local hour: clinics in the morning and afternoon, emergencies around the clock.
HOURLY = (1, 1, 1, 1, 1, 1, 2, 3, 6, 8, 8, 7, 4, 4, 7, 7, 6, 5, 3, 3, 2, 2, 1, 1)
WEEKDAY = (1.0, 1.0, 1.0, 1.0, 0.95, 0.6, 0.45)


@dataclass(frozen=True)
class HistoryCounts:
    referrals: int = 0
    audit_events: int = 0
    report_versions: int = 0
    patients: int = 0


@dataclass
class _Patient:
    id: str
    hospital_id: str
    sex: str
    readers: list[str] = field(default_factory=list)  # who read this patient's earlier cases


@dataclass
class _Spec:
    """What a case is about, before its trail is played out."""

    hospital_id: str
    submitted_at: datetime
    exam: Exam
    priority: str
    patient: _Patient | None = None
    result: Finding | None = None  # pinned for the demo patients' priors


@dataclass(frozen=True)
class _Step:
    at: datetime
    action: Action
    actor: Actor
    target: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    report: tuple[str, Finding, str | None] | None = None  # a new version: kind, content, impression if not its own


def _actors() -> dict[str, Actor]:
    return {u.id: Actor(u.id, Role(u.role), u.hospital_id, u.name) for u in DEMO_USERS}


def _terms(hospital_id: str) -> dict[str, Any]:
    agreement = next(a for a in DEMO_AGREEMENTS if a["requesting_hospital_id"] == hospital_id)
    return {"agreement_id": agreement["id"], **agreement["terms"]}


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


def _minutes(m: float) -> timedelta:
    return timedelta(seconds=round(m * 60))


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return rng.lognormvariate(0.0, sigma) * median


# ---- when cases arrive and who they are about ---------------------------------------------------------------


def _submission_times(rng: random.Random, count: int, now: datetime) -> list[datetime]:
    """Local working-hour peaks, quieter weekends, and a volume that grows as the alliance settles in."""
    today = now.astimezone(LOCAL).date()
    days = [today - timedelta(days=d) for d in range(1, DAYS + 1)]
    day_weights = [WEEKDAY[d.weekday()] * (0.75 + 0.5 * (1 - i / DAYS)) for i, d in enumerate(days)]
    out = []
    for _ in range(count):
        day = rng.choices(days, day_weights)[0]
        hour = rng.choices(range(24), HOURLY)[0]
        local = datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=LOCAL)
        out.append(local.astimezone(UTC))
    return out


def _new_patient(
    rng: random.Random, hospital_id: str, number: int, sex: str, year: int
) -> tuple[_Patient, dict[str, Any]]:
    prefix = PATIENT_PREFIX[hospital_id]
    surname, given = rng.choice(SURNAMES), rng.choice(GIVEN[sex])
    age = min(90, max(16, round(rng.gauss(56, 16))))
    born = date(year - age, rng.randint(1, 12), rng.randint(1, 28))
    patient = _Patient(f"pat-demo-{prefix.lower()}-{number}", hospital_id, sex)
    row = {
        "id": patient.id,
        "hospital_id": hospital_id,
        "issuer": "ANPING" if hospital_id == ANPING else "QINGSHAN",
        "patient_id": f"{prefix}{number}",
        "name": f"{surname[0]}{given[0]} {surname[1]} {given[1]}",
        "birth_date": born,
        "sex": sex,
    }
    return patient, row


def _specs(rng: random.Random, now: datetime) -> list[_Spec]:
    specs = []
    for hospital_id, count in CASES.items():
        for at in _submission_times(rng, count, now):
            exam = rng.choices(EXAMS, [e.weight for e in EXAMS])[0]
            specs.append(_Spec(hospital_id, at, exam, _pick(rng, PRIORITY_MIX[hospital_id])))
    # Priors for two of the demo's own patients, read by the chest expert, so the README's CT chest for 刘备
    # finds an earlier nodule and is still offered to the chest expert (same patient, same reader).
    ct_chest, dx_chest = EXAMS[0], EXAMS[3]
    pinned = [
        ("pat-anping-1", ct_chest, ct_chest.results[1], 75),
        ("pat-anping-2", dx_chest, dx_chest.results[1], 41),
    ]
    for patient_ref, exam, result, days_ago in pinned:
        local = (now - timedelta(days=days_ago)).astimezone(LOCAL).replace(hour=10, minute=12, second=0, microsecond=0)
        patient = _Patient(patient_ref, ANPING, "M", [])
        specs.append(_Spec(ANPING, local.astimezone(UTC), exam, "routine", patient, result))
    specs.sort(key=lambda s: s.submitted_at)
    return specs


def _assign_patients(rng: random.Random, specs: list[_Spec], year: int) -> list[dict[str, Any]]:
    """About one case in five is a returning patient, so priors show up; the rest are new patients."""
    seen: dict[str, list[_Patient]] = {ANPING: [], QINGSHAN: []}
    rows: list[dict[str, Any]] = []
    numbers = {ANPING: 10001, QINGSHAN: 10001}
    for spec in specs:
        if spec.patient is not None:
            continue
        pool = [p for p in seen[spec.hospital_id] if not spec.exam.female_only or p.sex == "F"]
        if pool and rng.random() < 0.2:
            spec.patient = rng.choice(pool)
            continue
        sex = "F" if spec.exam.female_only else rng.choice("MF")
        spec.patient, row = _new_patient(rng, spec.hospital_id, numbers[spec.hospital_id], sex, year)
        numbers[spec.hospital_id] += 1
        seen[spec.hospital_id].append(spec.patient)
        rows.append(row)
    return rows


# ---- playing one case out ----------------------------------------------------------------------------------


class _Plan:
    """One case's steps in time order, shaped so that its real workflow would have taken the same path."""

    def __init__(self, rng: random.Random, spec: _Spec, actors: dict[str, Actor]) -> None:
        self.rng, self.spec, self.actors = rng, spec, actors
        self.terms = _terms(spec.hospital_id)
        sla = self.terms["sla"]
        self.target = timedelta(minutes=sla[f"{spec.priority}_minutes"])
        self.grace = timedelta(minutes=self.terms["grace_minutes"])
        self.pause: tuple[datetime, datetime] | None = None
        self.steps: list[_Step] = []
        self.close_at: datetime | None = None  # when the case left the open states (final or cancelled)

    def milestone(self, fraction: float, extra: timedelta = timedelta(0)) -> datetime:
        """When the SLA clock reaches `fraction` of the target, the needs_info pause excluded (domain/sla.py)."""
        at = self.spec.submitted_at + self.target * fraction + extra
        if self.pause is not None and self.spec.submitted_at + self.target * fraction >= self.pause[0]:
            at += self.pause[1] - self.pause[0]
        return at

    def before_reassign(self, start: datetime, end: datetime) -> datetime:
        """A reader's turn that would still run at due + grace is reassigned by the workflow: end it sooner."""
        for k in (1, 2):  # max_auto_reassigns
            deadline = self.milestone(1.0, self.grace * k)
            if start < deadline <= end:
                return start + (deadline - start) * self.rng.uniform(0.3, 0.9)
        return end

    def add(self, step: _Step) -> datetime:
        self.steps.append(step)
        return step.at

    def play(self) -> None:
        rng, spec, a = self.rng, self.spec, self.actors
        county = a[COUNTY_DOCTOR[spec.hospital_id]]
        assert spec.patient is not None
        stat = spec.priority == "stat"
        pace = 1.6 if spec.hospital_id == QINGSHAN else 1.0  # difficult cases take longer
        offer_timeout = timedelta(minutes=self.terms["offer_timeout_minutes"])

        reader = spec.exam.reader
        t = spec.submitted_at + timedelta(seconds=rng.uniform(3, 40))
        offer_at = self.add(self._offer(t, reader))
        if spec.result is None and rng.random() < 0.02:
            self.close_at = self.add(
                _Step(offer_at + _minutes(rng.uniform(1, 8)), Action.CANCEL, county,
                      details={"reason": rng.choice(CANCEL_REASONS)})
            )  # fmt: skip
            return
        if reader != GENERALIST and spec.result is None and rng.random() < 0.07:
            if rng.random() < 0.5:
                t = self.add(_Step(offer_at + offer_timeout, Action.OFFER_EXPIRE, SYSTEM_ACTOR,
                                   details={"expert": reader}))  # fmt: skip
            else:
                t = self.add(_Step(offer_at + _minutes(rng.uniform(1, 6)), Action.DECLINE, a[reader],
                                   details={"reason": rng.choice(DECLINE_REASONS)}))  # fmt: skip
            reader = GENERALIST
            offer_at = self.add(self._offer(t + timedelta(seconds=rng.uniform(2, 20)), reader, excluded=1))
        limit = offer_timeout.total_seconds() / 60 - 0.5
        accept_at = offer_at + _minutes(rng.uniform(0.3, 3 if stat else limit))
        t = self.add(_Step(accept_at, Action.ACCEPT, a[reader], details={"comment": ""}))
        spec.patient.readers.append(reader)

        result = spec.result or rng.choices(spec.exam.results, [f.weight for f in spec.exam.results])[0]
        if result.critical_note and not stat and rng.random() < 0.5:
            spec.priority = "urgent"  # critical findings come mostly from urgent and stat cases
            self.target = timedelta(minutes=self.terms["sla"]["urgent_minutes"])
        read_median, review_median = PACE[spec.priority]
        reading = _minutes(_lognormal(rng, read_median * pace, 0.7 if stat else 0.9))

        ask_at = t + reading * rng.uniform(0.1, 0.4)
        # Asked early (well before the case is due), as readers do once they open the images.
        if not stat and spec.result is None and rng.random() < 0.025 and ask_at < spec.submitted_at + self.target / 2:
            asked, answered = rng.choice(INFO_REQUESTS)
            back_at = ask_at + _minutes(rng.uniform(20, 360))
            self.pause = (ask_at, back_at)
            self.add(_Step(ask_at, Action.REQUEST_INFO, a[reader], details={"request": asked}))
            t = self.add(_Step(back_at, Action.PROVIDE_INFO, county, details={"answer": answered}))
        drafts = rng.choice((0, 1, 1, 2))
        prelim_at = self.before_reassign(t, t + reading)
        for i in range(drafts):
            draft_at = t + (prelim_at - t) * (i + 1) / (drafts + 2)
            self.add(_Step(draft_at, Action.SAVE_DRAFT, a[reader], report=("draft", result, "" if i == 0 else None)))
        self.add(_Step(prelim_at, Action.SUBMIT_PRELIMINARY, a[reader], report=("preliminary", result, None),
                       details={"second_reading": True, "critical": bool(result.critical_note)}))  # fmt: skip
        if result.critical_note:
            self.add(_Step(prelim_at + timedelta(seconds=1), Action.NOTIFY_CRITICAL, SYSTEM_ACTOR,
                           details={"attempt": 0}))  # fmt: skip
            self.add(_Step(prelim_at + _minutes(rng.uniform(2, 14)), Action.ACKNOWLEDGE_CRITICAL, county,
                           details={"comment": "已通知临床医生"}))  # fmt: skip

        grade = "agree" if spec.result is not None else _pick(rng, GRADES)
        review_at = prelim_at + _minutes(_lognormal(rng, review_median * pace, 0.8))
        senior = a[SENIOR]
        if grade != "agree" and rng.random() < (0.7 if grade == "major" else 0.3):
            comment = rng.choice(CHANGE_REQUESTS[grade])
            self.add(_Step(review_at, Action.REQUEST_CHANGES, senior,
                           details={"discrepancy": grade, "comments": comment}))  # fmt: skip
            again = self.before_reassign(review_at, review_at + _minutes(rng.uniform(8, 60)))
            revised = replace(result, impression=f"{result.impression}（已按审核意见修改）")
            self.add(_Step(again, Action.SUBMIT_PRELIMINARY, a[reader], report=("preliminary", revised, None),
                           details={"second_reading": True, "critical": bool(result.critical_note)}))  # fmt: skip
            result = revised
            review_at = again + _minutes(rng.uniform(4, 40))
        self.close_at = self.add(
            _Step(review_at, Action.APPROVE, senior, report=("final", result, None),
                  details={"discrepancy": grade, "comments": "" if grade == "agree" else "已与报告医师沟通"})
        )  # fmt: skip
        returned_at = self.add(_Step(review_at + timedelta(seconds=rng.uniform(1, 5)), Action.RETURN, SYSTEM_ACTOR))
        ack = _minutes(min(_lognormal(rng, 180, 1.1), 3 * 24 * 60))
        self.add(_Step(returned_at + ack, Action.ACKNOWLEDGE_RECEIPT, county, details={"comment": ""}))

    def _offer(self, at: datetime, reader: str, excluded: int = 0) -> _Step:
        ranked = [reader, GENERALIST, SENIOR] if reader != GENERALIST else [GENERALIST, SENIOR]
        same = self.spec.patient is not None and reader in self.spec.patient.readers
        details = {"candidates": list(dict.fromkeys(ranked)), "same_patient_reader": same}
        return _Step(at, Action.OFFER, SYSTEM_ACTOR, target=reader, details=details)

    def with_sla_milestones(self) -> list[_Step]:
        """The flow plus the SLA warning and breach the workflow's timer records while the case is open."""
        assert self.close_at is not None
        steps = list(self.steps)
        warn, due = self.milestone(WARN_FRACTION), self.milestone(1.0)
        if warn < self.close_at:
            steps.append(_Step(warn, Action.SLA_WARN, SYSTEM_ACTOR))
        if due < self.close_at:
            steps.append(_Step(due, Action.SLA_BREACH, SYSTEM_ACTOR))
        return sorted(steps, key=lambda s: s.at)


@dataclass
class _Rows:
    referrals: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)


def _record(plan: _Plan, referral_id: str, shift: timedelta, out: _Rows) -> None:
    """Apply the plan's steps through the transition table; collect the audit, report and projection rows."""
    spec = plan.spec
    assert spec.patient is not None
    county = plan.actors[COUNTY_DOCTOR[spec.hospital_id]]
    submitted_at = spec.submitted_at + shift
    question = plan.rng.choice(spec.exam.questions)
    case = ReferralCase(referral_id, spec.hospital_id, TERTIARY, state=S.SUBMITTED, seq=1)
    first = AuditEvent(referral_id, 1, Action.SUBMIT, None, S.SUBMITTED, county, submitted_at)
    out.audit.append(audit_row(first, {"clinical_question": question, "overflow": False}))
    version, warned, breached = 0, False, False
    preliminary_at = final_at = closed_at = None
    content: Finding | None = None
    discrepancy: str | None = None
    at = submitted_at
    for step in plan.with_sla_milestones():
        at = step.at + shift
        case, event = transition(case, step.action, step.actor, at, target=step.target)
        details = dict(step.details)
        warned = warned or step.action is Action.SLA_WARN
        breached = breached or step.action is Action.SLA_BREACH
        if step.action in (Action.APPROVE, Action.REQUEST_CHANGES):
            discrepancy = step.details["discrepancy"]
        if step.action is Action.ACKNOWLEDGE_RECEIPT:
            closed_at = at
        if step.report is not None:
            kind, content, impression = step.report
            version += 1
            details["version"] = version
            if kind == "preliminary":
                preliminary_at = at
            if kind == "final":
                final_at = at
            out.reports.append(
                {
                    "referral_id": referral_id,
                    "version": version,
                    "kind": kind,
                    "author_id": step.actor.user_id,
                    "author_role": str(step.actor.role),
                    "author_name": step.actor.name,
                    "findings": content.findings,
                    "impression": content.impression if impression is None else impression,
                    "structured": dict(content.structured),
                    "critical": bool(content.critical_note),
                    "critical_note": content.critical_note,
                    "created_at": at,
                }
            )
        if step.action is Action.APPROVE:
            details.pop("version", None)  # the workflow's approve event names the grade, not the version
        out.audit.append(audit_row(event, details))
    assert case.state in (S.CLOSED, S.CANCELLED), case
    out.referrals.append(
        {
            "id": referral_id,
            "requesting_hospital_id": spec.hospital_id,
            "reading_hospital_id": TERTIARY,
            "agreement_id": plan.terms["agreement_id"],
            "patient_ref": spec.patient.id,
            "study_instance_uid": f"2.25.{plan.rng.getrandbits(120)}",
            "modality": spec.exam.modality,
            "body_part": spec.exam.body_part,
            "clinical_question": question,
            "priority": spec.priority,
            "difficult": spec.hospital_id == QINGSHAN or plan.rng.random() < 0.08,
            "submitted_by": county.user_id,
            "submitted_at": submitted_at,
            "state": str(case.state),
            "offered_to": case.offered_to,
            "reader_id": case.reader_id,
            "second_reader_id": case.second_reader_id,
            "sla_target_minutes": int(plan.target.total_seconds() // 60),
            "sla_due_at": plan.milestone(1.0) + shift,
            "sla_warn_at": plan.milestone(WARN_FRACTION) + shift,
            "sla_paused": False,
            "warned": warned,
            "breached": breached,
            "escalated": False,
            "critical": bool(content and content.critical_note),
            "critical_open": False,
            "report_version": version,
            "preliminary_at": preliminary_at,
            "final_at": final_at,
            "closed_at": closed_at,
            "signer_id": SENIOR if final_at else None,
            "discrepancy": discrepancy if final_at else None,
            "last_seq": case.seq,
            "updated_at": at,
        }
    )


def build_history(now: datetime) -> tuple[list[dict[str, Any]], _Rows]:
    """The patients and the rows of every historical case; pure (no database), deterministic for a given `now`."""
    rng = random.Random(SEED)
    actors = _actors()
    specs = _specs(rng, now)
    patient_rows = [
        {**row, "created_at": now - timedelta(days=DAYS + 1)} for row in _assign_patients(rng, specs, now.year)
    ]
    out = _Rows()
    latest = now - timedelta(minutes=5)
    for spec in specs:
        plan = _Plan(rng, spec, actors)
        plan.play()
        last = max(s.at for s in plan.with_sla_milestones())
        # A case that would still be running now is moved back in time, whole, so it too is finished.
        shift = min(timedelta(0), latest - last - _minutes(rng.uniform(0, 240)))
        referral_id = f"ref-{spec.submitted_at + shift:%Y%m%d}-{rng.getrandbits(40):010x}"
        _record(plan, referral_id, shift, out)
    return patient_rows, out


async def seed_history(conn: AsyncConnection, now: datetime) -> HistoryCounts:
    """Load the history unless it is there already (then add nothing). Bulk inserts, one transaction (the caller's)."""
    if await conn.scalar(select(patients.c.id).where(patients.c.id == MARKER_PATIENT)) is not None:
        return HistoryCounts()
    patient_rows, rows = build_history(now)
    for table, batch in (
        (patients, patient_rows),
        (referrals, rows.referrals),
        (audit_events, rows.audit),
        (report_versions, rows.reports),
    ):
        await conn.execute(insert(table), batch)
    return HistoryCounts(len(rows.referrals), len(rows.audit), len(rows.reports), len(patient_rows))
