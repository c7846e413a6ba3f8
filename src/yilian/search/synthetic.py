"""Synthetic signed radiology reports in Chinese and English, for the search benchmark and the demo.

Deterministic: report `n` of seed `s` is always the same text, whatever range is asked for, so a benchmark can
generate the same million reports twice (once per engine) without keeping them in memory, and workers can split
the range. Reports are built from exam templates as Chinese county-hospital reports read at a tertiary centre
are written: a findings section of sentences about each structure (a finding, or its normal / negated line), an
impression listing what was found with the usual hedges (考虑, 可能, 不除外, "likely", "cannot be excluded").
Frequencies follow a general hospital's mix: common findings (结节 / nodule, cysts, degenerative change) in tens of
percent of their exams, rare ones (肺隔离症 / pulmonary sequestration, 错构瘤 / hamartoma, ...) in about 0.1 %.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

__all__ = ["CHUNK", "RARE_TERMS", "SyntheticReport", "hospitals", "readers", "report", "reports"]

CHUNK = 4096  # reports per seeded block: report n is drawn from Random((seed, n // CHUNK)), in order
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_SPAN_MINUTES = 2 * 365 * 24 * 60


@dataclass(frozen=True, slots=True)
class SyntheticReport:
    number: int
    language: str  # "zh" | "en"
    modality: str  # DICOM Modality: CT, MR, DX, US
    body_part: str  # DICOM Body Part Examined: CHEST, ABDOMEN, HEAD, LSPINE, NECK, BREAST
    findings: str
    impression: str
    hospital: int  # index into hospitals()
    reader: int  # index into readers()
    signed_at: datetime
    critical: bool
    discrepancy: str | None  # second reading grade (agree/minor/major), None when not second-read


# --- vocabulary ------------------------------------------------------------------------------------------

_LUNG_LOBES = [
    ("右肺上叶", "right upper lobe"), ("右肺中叶", "right middle lobe"), ("右肺下叶", "right lower lobe"),
    ("左肺上叶", "left upper lobe"), ("左肺下叶", "left lower lobe"), ("左肺上叶舌段", "lingula"),
]  # fmt: skip
# Segments each lobe has (zh, en), and "" for a lesion given by lobe only.
_SEGMENTS: dict[str, list[tuple[str, str]]] = {
    "右肺上叶": [("尖段", "apical segment"), ("后段", "posterior segment"), ("前段", "anterior segment")],
    "右肺中叶": [("外侧段", "lateral segment"), ("内侧段", "medial segment")],
    "右肺下叶": [("背段", "superior segment"), ("外基底段", "lateral basal segment")],
    "左肺上叶": [("尖后段", "apicoposterior segment"), ("前段", "anterior segment")],
    "左肺下叶": [("背段", "superior segment"), ("后基底段", "posterior basal segment")],
    "左肺上叶舌段": [],
}
_NODULES = [
    ("磨玻璃结节", "ground-glass nodule"), ("实性结节", "solid nodule"), ("部分实性结节", "part-solid nodule"),
    ("小结节", "small nodule"), ("钙化结节", "calcified nodule"),
]  # fmt: skip
_SIDES = [("右", "right"), ("左", "left"), ("双", "bilateral")]
_LIVER_SEGMENTS = ["S2", "S3", "S4", "S5", "S6", "S7", "S8"]
_BRAIN_AREAS = [("右侧基底节区", "right basal ganglia"), ("左侧基底节区", "left basal ganglia"),
                ("双侧侧脑室旁", "periventricular white matter"), ("右侧额叶", "right frontal lobe"),
                ("左侧顶叶", "left parietal lobe"), ("左侧丘脑", "left thalamus")]  # fmt: skip
_DISCS = ["L3/4", "L4/5", "L5/S1"]

# Hospitals of the alliance: (id, zh name); readers: (id, name). Ids are stable strings for facets.
_COUNTIES = ["东阳", "西山", "南湖", "北岭", "青田", "云和", "临安", "安吉", "德清", "长兴",
             "桐庐", "淳安", "建德", "富阳", "余杭", "萧山", "海宁", "桐乡", "嘉善", "平湖"]  # fmt: skip
_SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林"]


@cache
def hospitals() -> tuple[tuple[str, str], ...]:
    """The 40 hospitals reports come from, (id, name): a people's hospital and a TCM hospital per county."""
    out = []
    for i, county in enumerate(_COUNTIES):
        out.append((f"bench-h{2 * i:02d}", f"{county}县人民医院"))
        out.append((f"bench-h{2 * i + 1:02d}", f"{county}县中医院"))
    return tuple(out)


@cache
def readers() -> tuple[tuple[str, str], ...]:
    """The 60 readers who sign them, (id, name)."""
    given = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "涛"]
    return tuple((f"bench-r{i:02d}", _SURNAMES[i % len(_SURNAMES)] + given[i % len(given)] + given[(i * 7) % 12])
                 for i in range(60))  # fmt: skip


# --- exams -----------------------------------------------------------------------------------------------


class _Draft:
    """Findings and impression lines being written for one report, in one language."""

    __slots__ = ("critical", "findings", "impression", "rng", "zh")

    def __init__(self, rng: random.Random, zh: bool) -> None:
        self.rng = rng
        self.zh = zh
        self.findings: list[str] = []
        self.impression: list[str] = []
        self.critical = False

    def say(self, zh: str, en: str) -> None:
        self.findings.append(zh if self.zh else en)

    def conclude(self, zh: str, en: str) -> None:
        self.impression.append(zh if self.zh else en)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, items: list[tuple[str, str]]) -> tuple[str, str]:
        return items[self.rng.randrange(len(items))]

    def mm(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)


def _hedge(d: _Draft, zh: str, en: str) -> None:
    """An impression line with one of the usual hedges, or none."""
    r = d.rng.random()
    if r < 0.35:
        d.conclude(f"考虑{zh}", f"Findings suggestive of {en}")
    elif r < 0.55:
        d.conclude(f"{zh}可能", f"{en.capitalize()}, likely")
    elif r < 0.65:
        d.conclude(f"{zh}不除外", f"{en.capitalize()} cannot be excluded")
    else:
        d.conclude(zh, en.capitalize())


def _chest_ct(d: _Draft) -> None:
    lobe_zh, lobe_en = d.pick(_LUNG_LOBES)
    seg_zh, seg_en = d.pick(_SEGMENTS[lobe_zh] + [("", "")])
    where_en = f"{seg_en} of the {lobe_en}" if seg_en else lobe_en
    if d.chance(0.32):
        kind_zh, kind_en = d.pick(_NODULES)
        a = d.mm(3, 18)
        b = max(2, a - d.mm(0, 3))
        edge = d.rng.random()
        d.say(
            f"{lobe_zh}{seg_zh}见一{kind_zh}，大小约{a}mm×{b}mm，"
            + ("边界清楚，未见分叶及毛刺。" if edge < 0.6 else "可见分叶及毛刺，邻近胸膜牵拉。"),
            f"A {kind_en} measuring {a} x {b} mm is seen in the {where_en}"
            + (", well defined without lobulation or spiculation." if edge < 0.6 else
               ", with lobulation, spiculation and pleural retraction."),
        )  # fmt: skip
        if d.chance(0.3):
            d.say("较前片无明显变化。", "No significant interval change.")
        if edge < 0.6:
            d.conclude(f"{lobe_zh}{kind_zh}，建议定期随访",
                       f"{kind_en.capitalize()} in the {lobe_en}; follow-up advised")  # fmt: skip
        else:
            _hedge(d, "周围型肺癌", "peripheral lung cancer")
    else:
        d.say("双肺未见明确结节及肿块。", "No pulmonary nodule or mass.")
    if d.chance(0.11):
        d.say(f"{lobe_zh}见斑片状实变影，其内可见支气管充气征。",
              f"Patchy consolidation with air bronchograms in the {lobe_en}.")  # fmt: skip
        _hedge(d, f"{lobe_zh}肺炎", f"{lobe_en} pneumonia")
    elif d.chance(0.18):
        d.say(f"{lobe_zh}少许纤维条索影。", f"Minor linear fibrotic opacities in the {lobe_en}.")
        d.conclude(f"{lobe_zh}少许纤维灶", f"Minor fibrosis in the {lobe_en}")
    else:
        d.say("双肺野透亮度正常，肺纹理清晰。", "The lungs are clear.")
    if d.chance(0.08):
        d.say("双肺透亮度增高，可见多发肺大疱。", "Emphysema with multiple bullae.")
        d.conclude("肺气肿，肺大疱", "Emphysema with bullae")
    if d.chance(0.001):  # rare
        d.say("左肺下叶后基底段见异常软组织团块，增强扫描可见来自胸主动脉的异常供血动脉。",
              "A soft-tissue mass in the posterior basal left lower lobe is supplied by an aberrant artery from the "
              "descending aorta.")  # fmt: skip
        d.conclude("左肺下叶肺隔离症", "Left lower lobe pulmonary sequestration")
    if d.chance(0.001):  # rare
        d.say(f"{lobe_zh}见一类圆形结节，内见爆米花样钙化及脂肪密度。",
              f"A round nodule in the {lobe_en} contains popcorn calcification and fat.")  # fmt: skip
        d.conclude(f"{lobe_zh}错构瘤", f"Hamartoma in the {lobe_en}")
    if d.chance(0.08):
        a = d.mm(11, 25)
        d.say(f"纵隔内见多发肿大淋巴结，较大者短径约{a}mm。",
              f"Multiple enlarged mediastinal lymph nodes, up to {a} mm.")  # fmt: skip
        _hedge(d, "纵隔淋巴结转移", "mediastinal nodal metastasis")
    else:
        d.say("纵隔内未见肿大淋巴结。", "No mediastinal lymphadenopathy.")
    if d.chance(0.12):
        side_zh, side_en = d.pick(_SIDES)
        d.say(f"{side_zh}侧胸腔少量积液。", f"Small {side_en} pleural effusion.")
        d.conclude(f"{side_zh}侧少量胸腔积液", f"Small {side_en} pleural effusion")
    else:
        d.say("双侧胸腔未见积液，胸膜未见增厚。", "No pleural effusion or pleural thickening.")
    if d.chance(0.01):
        d.critical = True
        d.say("右侧胸腔见气体密度影，肺组织压缩约30%。", "Right pneumothorax with about 30% lung collapse.")
        d.conclude("右侧气胸", "Right pneumothorax")
    if d.chance(0.3):
        d.say("心影大小形态正常，主动脉壁可见钙化。", "Heart size is normal; aortic wall calcification.")
    else:
        d.say("心影大小形态正常，心包未见积液。", "Heart size is normal. No pericardial effusion.")


def _abdomen_ct(d: _Draft) -> None:
    seg = _LIVER_SEGMENTS[d.rng.randrange(len(_LIVER_SEGMENTS))]
    if d.chance(0.15):
        d.say("肝实质密度弥漫性减低，低于脾脏。", "Diffusely decreased hepatic attenuation, lower than the spleen.")
        d.conclude("脂肪肝", "Hepatic steatosis")
    if d.chance(0.08):
        a = d.mm(8, 40)
        d.say(f"肝{seg}见一类圆形低密度灶，大小约{a}mm，增强扫描动脉期边缘结节样强化，门脉期及延迟期向内填充。",
              f"A {a} mm hypodense lesion in hepatic segment {seg} shows peripheral nodular enhancement with "
              "centripetal fill-in.")  # fmt: skip
        _hedge(d, "肝血管瘤", "hepatic hemangioma")
    elif d.chance(0.16):
        a = d.mm(4, 30)
        d.say(f"肝{seg}见一囊状低密度灶，直径约{a}mm，增强扫描未见强化。",
              f"A {a} mm non-enhancing cystic lesion in hepatic segment {seg}.")  # fmt: skip
        d.conclude("肝囊肿", "Hepatic cyst")
    else:
        d.say("肝脏大小形态正常，肝内未见异常密度灶。", "The liver is normal in size without focal lesion.")
    if d.chance(0.1):
        d.say("胆囊内见多发高密度结石影，胆囊壁稍增厚。", "Multiple gallstones with mild gallbladder wall thickening.")
        _hedge(d, "胆囊结石伴胆囊炎", "cholelithiasis with cholecystitis")
    else:
        d.say("胆囊不大，壁不厚，腔内未见异常密度影。", "The gallbladder is unremarkable.")
    d.say("胰腺形态、大小未见异常，胰管未见扩张。", "The pancreas is normal; no pancreatic duct dilatation.")
    if d.chance(0.12):
        side_zh, side_en = d.pick(_SIDES[:2])
        d.say(f"{side_zh}肾见一囊状低密度灶，无强化。", f"A non-enhancing {side_en} renal cyst.")
        d.conclude(f"{side_zh}肾囊肿", f"{side_en.capitalize()} renal cyst")
    if d.chance(0.06):
        side_zh, side_en = d.pick(_SIDES[:2])
        d.say(f"{side_zh}肾盂内见结节状高密度影，{side_zh}肾盂肾盏扩张积水。",
              f"A {side_en} renal pelvic calculus with hydronephrosis.")  # fmt: skip
        d.conclude(f"{side_zh}肾结石并积水", f"{side_en.capitalize()} nephrolithiasis with hydronephrosis")
    else:
        d.say("双肾未见结石及积水。", "No renal calculus or hydronephrosis.")
    if d.chance(0.001):  # rare
        d.say("左侧肾上腺见一不均匀强化肿块，内见坏死区。",
              "A heterogeneously enhancing left adrenal mass with necrosis.")  # fmt: skip
        d.conclude("左侧肾上腺嗜铬细胞瘤可能", "Left adrenal pheochromocytoma, likely")
    if d.chance(0.02):
        d.critical = True
        d.say("膈下见游离气体影。", "Free air beneath the diaphragm.")
        d.conclude("消化道穿孔", "Bowel perforation")
    else:
        d.say("膈下未见游离气体，腹腔内未见积液。", "No free air or ascites.")


def _head_ct(d: _Draft) -> None:
    area_zh, area_en = d.pick(_BRAIN_AREAS)
    if d.chance(0.03):
        d.critical = True
        a = d.mm(10, 40)
        d.say(f"{area_zh}见团片状高密度影，大小约{a}mm，周围见低密度水肿带。",
              f"A {a} mm hyperdense hematoma in the {area_en} with surrounding edema.")  # fmt: skip
        d.conclude(f"{area_zh}脑出血", f"Intracerebral hemorrhage in the {area_en}")
    else:
        d.say("脑实质内未见异常高密度影。", "No intracranial hemorrhage.")
    if d.chance(0.2):
        d.say(f"{area_zh}见斑点状低密度影，边界清楚。", f"Small well-defined hypodense foci in the {area_en}.")
        _hedge(d, "腔隙性脑梗死", "lacunar infarction")
    if d.chance(0.15):
        d.say("双侧侧脑室旁白质密度减低。", "Periventricular white matter hypodensity.")
        d.conclude("脑白质脱髓鞘改变", "White matter demyelination")
    if d.chance(0.15):
        d.say("脑沟、脑裂增宽，脑室系统扩大。", "Widened sulci with ventricular enlargement.")
        d.conclude("脑萎缩", "Brain atrophy")
    if d.chance(0.001):  # rare
        d.say(f"{area_zh}见一爆米花样混杂信号结节，周围见含铁血黄素环。",
              f"A popcorn-like lesion in the {area_en} with a hemosiderin rim.")  # fmt: skip
        d.conclude(f"{area_zh}海绵状血管瘤", f"Cavernous malformation in the {area_en}")
    d.say("中线结构居中，颅骨未见骨折。", "Midline structures are central. No skull fracture.")


def _spine_mr(d: _Draft) -> None:
    d.say("腰椎生理曲度变直，椎体边缘骨质增生。", "Straightened lumbar lordosis with marginal osteophytes.")
    disc = _DISCS[d.rng.randrange(len(_DISCS))]
    if d.chance(0.45):
        d.say(f"{disc}椎间盘向后突出，硬膜囊受压。", f"Posterior disc herniation at {disc} indenting the thecal sac.")
        d.conclude(f"{disc}椎间盘突出", f"{disc} disc herniation")
    elif d.chance(0.5):
        d.say(f"{disc}椎间盘向四周膨出。", f"Circumferential disc bulge at {disc}.")
        d.conclude(f"{disc}椎间盘膨出", f"{disc} disc bulge")
    if d.chance(0.001):  # rare
        d.say("脊髓圆锥低位，终丝增粗。", "Low-lying conus medullaris with a thickened filum terminale.")
        d.conclude("脊髓栓系综合征", "Tethered cord syndrome")
    if d.chance(0.5):
        d.say("腰椎退行性变。", "Lumbar degenerative change.")
    else:
        d.say("椎管未见狭窄，脊髓未见异常信号。", "No spinal canal stenosis; normal cord signal.")


def _chest_dx(d: _Draft) -> None:
    lobe_zh, lobe_en = d.pick(_LUNG_LOBES)
    if d.chance(0.15):
        d.say(f"{lobe_zh}见斑片状模糊影。", f"Patchy opacity in the {lobe_en}.")
        _hedge(d, "肺炎", "pneumonia")
    else:
        d.say("双肺纹理清晰，未见实质性病变。", "The lungs are clear without focal consolidation.")
    if d.chance(0.08):
        d.say("心影增大，心胸比约0.58。", "The cardiac silhouette is enlarged, cardiothoracic ratio 0.58.")
        d.conclude("心影增大", "Cardiomegaly")
    else:
        d.say("心影大小形态正常。", "Heart size is normal.")
    if d.chance(0.85):
        d.say("双侧肋膈角锐利。", "Costophrenic angles are sharp.")
    else:
        d.say("右侧肋膈角变钝，少量胸腔积液不除外。",
              "Blunting of the right costophrenic angle; a small effusion cannot be excluded.")  # fmt: skip


def _thyroid_us(d: _Draft) -> None:
    side_zh, side_en = d.pick(_SIDES[:2])
    if d.chance(0.45):
        a = d.mm(3, 25)
        tr = d.rng.choice(["3", "4a", "4b"])
        d.say(f"甲状腺{side_zh}叶见一低回声结节，大小约{a}mm，边界{'清' if tr == '3' else '欠清'}，未见明显血流信号。",
              f"A {a} mm hypoechoic nodule in the {side_en} thyroid lobe, no internal vascularity.")  # fmt: skip
        d.conclude(f"甲状腺{side_zh}叶结节，TI-RADS {tr}类", f"{side_en.capitalize()} thyroid nodule, TI-RADS {tr}")
    else:
        d.say("甲状腺大小形态正常，实质回声均匀，未见明显结节。",
              "The thyroid is normal in size and echotexture, no nodule.")  # fmt: skip
    d.say("双侧颈部未见肿大淋巴结。", "No cervical lymphadenopathy.")


def _breast_us(d: _Draft) -> None:
    side_zh, side_en = d.pick(_SIDES[:2])
    if d.chance(0.3):
        a = d.mm(4, 22)
        br = d.rng.choice(["3", "4a", "4b", "4c"])
        d.say(f"{side_zh}侧乳腺外上象限见一低回声结节，大小约{a}mm，形态{'规则' if br == '3' else '不规则'}。",
              f"A {a} mm hypoechoic nodule in the upper outer quadrant of the {side_en} breast.")  # fmt: skip
        d.conclude(f"{side_zh}侧乳腺结节，BI-RADS {br}类", f"{side_en.capitalize()} breast nodule, BI-RADS {br}")
    else:
        d.say("双侧乳腺腺体结构清晰，未见明确占位。", "No breast mass.")
    d.say("双侧腋窝未见肿大淋巴结。", "No axillary lymphadenopathy.")


# (modality, body part, weight, writer, zh normal impression, en normal impression)
_EXAMS = [
    ("CT", "CHEST", 30, _chest_ct, "胸部CT平扫未见明显异常", "No acute cardiopulmonary abnormality"),
    ("CT", "ABDOMEN", 15, _abdomen_ct, "上腹部CT未见明显异常", "No acute abdominal abnormality"),
    ("CT", "HEAD", 15, _head_ct, "颅脑CT平扫未见明显异常", "No acute intracranial abnormality"),
    ("MR", "LSPINE", 10, _spine_mr, "腰椎退行性变", "Lumbar degenerative change"),
    ("DX", "CHEST", 15, _chest_dx, "心肺膈未见明显异常", "No acute cardiopulmonary disease"),
    ("US", "NECK", 8, _thyroid_us, "甲状腺未见明显异常", "Normal thyroid"),
    ("US", "BREAST", 7, _breast_us, "双侧乳腺未见明显异常，BI-RADS 1类", "Negative breast ultrasound, BI-RADS 1"),
]
_EXAM_WEIGHTS = [exam[2] for exam in _EXAMS]

# Query terms the benchmark counts as rare: each is in about 0.1 % of one exam's reports, in both languages.
RARE_TERMS = ("肺隔离症", "pulmonary sequestration", "错构瘤", "hamartoma", "嗜铬细胞瘤", "pheochromocytoma",
              "海绵状血管瘤", "脊髓栓系")  # fmt: skip

_HOSPITAL_WEIGHTS = [1.0 / (1 + i % 10) for i in range(40)]  # a few large senders, a long tail


def _write(number: int, rng: random.Random) -> SyntheticReport:
    zh = rng.random() < 0.8
    modality, body_part, _, writer, normal_zh, normal_en = rng.choices(_EXAMS, _EXAM_WEIGHTS)[0]
    draft = _Draft(rng, zh)
    writer(draft)
    if draft.impression:
        if zh:
            lines = [f"{i}. {line}。" for i, line in enumerate(draft.impression, start=1)]
        else:
            lines = [f"{i}. {line}." for i, line in enumerate(draft.impression, start=1)]
        impression = "\n".join(lines) if len(lines) > 1 else lines[0][3:]
    else:
        impression = (normal_zh + "。") if zh else (normal_en + ".")
    findings = "".join(draft.findings) if zh else " ".join(draft.findings)
    second = rng.random()
    discrepancy = None if second > 0.1 else ("agree" if second > 0.02 else ("minor" if second > 0.005 else "major"))
    return SyntheticReport(
        number=number,
        language="zh" if zh else "en",
        modality=modality,
        body_part=body_part,
        findings=findings,
        impression=impression,
        hospital=rng.choices(range(40), _HOSPITAL_WEIGHTS)[0],
        reader=rng.randrange(60),
        signed_at=_EPOCH + timedelta(minutes=rng.randrange(_SPAN_MINUTES)),
        critical=draft.critical,
        discrepancy=discrepancy,
    )


def reports(count: int, *, seed: int = 13, start: int = 0) -> Iterator[SyntheticReport]:
    """Reports number `start` .. `start + count - 1` of the stream `seed`."""
    number = start
    end = start + count
    while number < end:
        block = number // CHUNK
        rng = random.Random(f"{seed}:{block}")
        first = block * CHUNK
        for skipped in range(first, number):  # a range that starts mid-block draws the skipped reports too
            _write(skipped, rng)
        for n in range(number, min(end, first + CHUNK)):
            yield _write(n, rng)
        number = min(end, first + CHUNK)


def report(number: int, *, seed: int = 13) -> SyntheticReport:
    """Report `number` of the stream `seed` alone."""
    return next(reports(1, seed=seed, start=number))
