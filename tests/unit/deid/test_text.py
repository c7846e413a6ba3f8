"""Text redaction: every kind of identifier goes in Chinese and English, dates move by the case's shift, the diff
is exact, and ordinary clinical text is left alone."""

from __future__ import annotations

from datetime import date

import pytest

from tests.support.deid_corpus import CLINICAL_QUESTION, DIRECTORY, REPORT, hostile_study
from yilian.deid.identifiers import Directory, KnownIdentifiers
from yilian.deid.patterns import IdentifierKind, resident_id_valid
from yilian.deid.pseudonym import case_date_shift
from yilian.deid.text import redact_text

KNOWN = KnownIdentifiers(
    patient_names=("Zhang^Sanfeng=张^三丰",),
    ids=("CT-778812", "ACC20261123007"),
    phones=("+86 138 1234 5678",),
    addresses=("浙江省杭州市西湖区文三路100号",),
    birth_dates=(date(1949, 12, 31),),
    hospitals=("安平县人民医院 Anping County Hospital",),
)


def _kinds(text: str, **kwargs: object) -> set[IdentifierKind]:
    return {r.kind for r in redact_text(text, known=KNOWN, directory=DIRECTORY, **kwargs).replacements}  # type: ignore[arg-type]


def test_resident_id_check_character() -> None:
    assert resident_id_valid("11010519491231002X")
    assert not resident_id_valid("110105194912310021")  # wrong check character
    assert not resident_id_valid("11010519491331002X")  # month 13


@pytest.mark.parametrize(
    "spelling",
    ["张三丰", "张 三 丰", "Zhang Sanfeng", "ZHANG^SANFENG", "Sanfeng Zhang", "zhang sanfeng", "Zhang, Sanfeng"],
)
def test_the_patients_known_name_goes_in_every_script(spelling: str) -> None:
    result = redact_text(f"复查：{spelling}，右肺结节。", known=KNOWN)
    assert spelling not in result.text
    assert [r.kind for r in result.replacements] == [IdentifierKind.PATIENT_NAME]


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("患者刘备，男，56岁，咳嗽两周。", "刘备"),
        ("姓名：诸葛亮  性别：男", "诸葛亮"),
        ("关羽，男，60岁，胸痛。", "关羽"),
        ("请王建国主任会诊", "王建国"),
        ("Seen by Dr. Smith yesterday.", "Smith"),
        ("Patient: Wang Xiaoming, 45F.", "Wang Xiaoming"),
        ("Referred by LIU Bei for chest pain.", "LIU Bei"),
    ],
)
def test_names_the_case_did_not_know_are_found_in_context(text: str, gone: str) -> None:
    result = redact_text(text, known=KnownIdentifiers())
    assert gone not in result.text, result.text


@pytest.mark.parametrize(
    ("text", "gone", "kind"),
    [
        ("身份证号11010519491231002X。", "11010519491231002X", IdentifierKind.RESIDENT_ID),
        ("ID card 110105 19491231 002X on file", "002X", IdentifierKind.RESIDENT_ID),
        ("门诊号：MZ2026001234，复查", "MZ2026001234", IdentifierKind.RECORD_ID),
        ("MRN: 88-776655.", "88-776655", IdentifierKind.RECORD_ID),
        ("手机13912345678。", "13912345678", IdentifierKind.PHONE),
        ("Call +86 139-1234-5678.", "1234-5678", IdentifierKind.PHONE),
        ("电话（0571）88776655转123", "88776655", IdentifierKind.PHONE),
        ("Tel 010-62345678.", "62345678", IdentifierKind.PHONE),
        ("住址：安平县城关镇幸福村3组，务农。", "幸福村", IdentifierKind.ADDRESS),
        ("患者系河北省安平县马店镇人。", "马店镇", IdentifierKind.ADDRESS),
        ("Lives at 221 Baker Street, London.", "Baker Street", IdentifierKind.ADDRESS),
        ("2026年3月在青山县中医院就诊。", "青山县中医院", IdentifierKind.HOSPITAL),
        ("曾于北京协和医院手术。", "北京协和医院", IdentifierKind.HOSPITAL),
        ("Operated at Springfield General Hospital in 2019.", "Springfield", IdentifierKind.HOSPITAL),
    ],
)
def test_generic_patterns(text: str, gone: str, kind: IdentifierKind) -> None:
    result = redact_text(text, known=KnownIdentifiers())
    assert gone not in result.text, result.text
    assert kind in {r.kind for r in result.replacements}


def test_known_identifiers_go_whatever_their_spelling() -> None:
    text = (
        "电话 13812345678；住浙江省杭州市西湖区文三路100号；检查号ACC20261123007；在 Anping County Hospital 检查；"
        "出生1949年12月31日，DOB 31 Dec 1949; born 1949-12-31"
    )
    result = redact_text(text, known=KNOWN)
    for value in ("13812345678", "文三路100号", "ACC20261123007", "Anping", "1949", "12月31日", "Dec"):
        assert value not in result.text, (value, result.text)


def test_directory_hospitals_and_doctors_go() -> None:
    directory = Directory(hospitals=("省人民医院 Provincial People's Hospital",), doctors=("欧阳明 Ouyang Ming",))
    result = redact_text(
        "经省人民医院欧阳明会诊；reviewed at Provincial People's Hospital by Ouyang Ming.",
        known=KnownIdentifiers(), directory=directory,
    )  # fmt: skip
    assert "省人民医院" not in result.text and "欧阳明" not in result.text
    assert "Provincial" not in result.text and "Ouyang" not in result.text
    assert {r.kind for r in result.replacements} == {IdentifierKind.HOSPITAL, IdentifierKind.DOCTOR_NAME}


def test_dates_move_by_the_cases_shift_in_their_own_format() -> None:
    shift = case_date_shift("alliance-secret", "case-1")
    assert -3650 <= shift <= -1
    text = "2026-11-20 CT；2026/3/5 X线；2026年11月20日；20261120；20 Nov 2026; November 20, 2026; 2026.11.20"
    result = redact_text(text, known=KnownIdentifiers(), date_shift_days=-30)
    assert result.text == (
        "2026-10-21 CT；2026/2/3 X线；2026年10月21日；20261021；21 Oct 2026; October 21, 2026; 2026.10.21"
    )
    assert {r.kind for r in result.replacements} == {IdentifierKind.DATE}


def test_without_a_shift_dates_stay_but_the_birth_date_goes() -> None:
    result = redact_text("出生日期1949-12-31，检查日期2026-11-20。", known=KNOWN)
    assert result.text == "出生日期[出生日期]，检查日期2026-11-20。"


def test_the_replacements_are_an_exact_diff() -> None:
    result = redact_text(CLINICAL_QUESTION, known=hostile_study().known, directory=DIRECTORY, date_shift_days=-7)
    rebuilt, position = [], 0
    for r in result.replacements:
        assert CLINICAL_QUESTION[r.start : r.end] == r.original
        assert result.text[r.new_start : r.new_end] == r.replacement
        rebuilt += [CLINICAL_QUESTION[position : r.start], r.replacement]
        position = r.end
    assert "".join(rebuilt) + CLINICAL_QUESTION[position:] == result.text
    assert "张三丰" not in repr(result.replacements)  # the value is never in a repr (logs)


def test_the_hostile_case_text_keeps_its_medicine_and_loses_its_people() -> None:
    known = hostile_study().known
    for text in (CLINICAL_QUESTION, REPORT):
        result = redact_text(text, known=known, directory=DIRECTORY, date_shift_days=-7)
        for gone in ("张三丰", "Zhang", "778812", "445566", "002X", "1234", "文三路", "安平", "Anping", "李四", "王五",
                     "Wang Wu", "赵六", "88776655", "省人民医院"):  # fmt: skip
            assert gone not in result.text, (gone, result.text)
        for kept in ("右肺上叶", "结节", "76岁", "男"):
            assert kept in result.text or kept not in text


CLINICAL_TEXT = [
    "双肺纹理增多，右肺中叶见斑片状高密度影，密度增高明显，周围见渗出。",
    "肝区未见异常，心前区无压痛，胆道通路通畅，肝内胆管未见扩张。",
    "由于患者于今日出现咳嗽，检查时发现病变区及周围区水肿。给予镇静镇痛。",
    "主管医生意见：随访。值班医师复核。上级医师指导下完成。",
    "右肾上极见一大小约2.5cm×3.1cm低密度影，CT值约12HU，增强扫描未见强化。",
    "Findings: A 2.5 cm mass in the right upper lobe. Long axis 25 mm. He was treated with antibiotics.",
    "Impression: No acute intracranial hemorrhage. Mild chronic small vessel ischemic change.",
    "Long Bone Survey: no lytic lesion. Fan Beam artifact. Lung Window: clear. Long Term follow-up advised.",
    "建议3个月后复查胸部CT，必要时行PET-CT检查。对比2025年3月片，病灶缩小。",
    "左侧胸腔少量积液，纵隔居中，心影大小形态正常，主动脉弓钙化。",
    "建议转上级医院进一步诊治，回乡镇卫生院随访，必要时社区卫生服务中心复查。",
]


@pytest.mark.parametrize("text", CLINICAL_TEXT)
def test_ordinary_clinical_text_is_left_alone(text: str) -> None:
    result = redact_text(text, known=KNOWN, directory=DIRECTORY, date_shift_days=-7)
    assert result.text == text
    assert not result.changed
