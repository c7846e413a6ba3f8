"""Seeded random cases: random patients in random spellings and templates; after redaction none of their identifiers is
left, the medicine is, and the leak scan finds nothing. Generic patterns alone catch random resident IDs and phones."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from yilian.deid.identifiers import Directory, KnownIdentifiers
from yilian.deid.leak_scan import leak_scan
from yilian.deid.patterns import resident_id_valid
from yilian.deid.text import redact_text

SURNAMES = dict(
    zip(
        [*"王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "欧阳"],
        "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Gao Lin Luo Ouyang".split(),
        strict=True,
    )
)
GIVEN = dict(
    zip(
        "伟芳娜敏静强磊军洋勇艳杰娟涛明超秀霞平刚英华建国",
        (
            "Wei Fang Na Min Jing Qiang Lei Jun Yang Yong Yan Jie "
            "Juan Tao Ming Chao Xiu Xia Ping Gang Ying Hua Jian Guo"
        ).split(),
        strict=True,
    )
)
ADDRESS_PARTS = (("河北省", "浙江省"), ("安平县", "青山县"), ("马店镇", "城关镇"), ("幸福村", "东风村"))
MEDICINE = ("右肺上叶见磨玻璃结节，大小约8mm", "肝内见低密度灶，增强扫描未见强化", "No acute intracranial hemorrhage",
            "A 2.5 cm mass in the right upper lobe")  # fmt: skip
TEMPLATES = (
    "患者{han}，{sex}，{age}岁，住院号{mrn}，身份证号{rid}，电话{phone}，家住{address}。{date}行CT：{medicine}。",
    "姓名：{han}  检查号：{mrn}  出生日期：{birth}\n{medicine}，请{doctor}主任会诊。联系电话 {phone}",
    "Patient {pinyin} ({age}{sex_en}), MRN {mrn}, DOB {birth}, phone {phone}. {medicine}. Seen at {hospital_en}.",
    "{pinyin_upper}，{sex}，{age}岁。{date}于{hospital}检查，{medicine}。Referred by Dr. {doctor_en}.",
)


def _resident_id(rng: random.Random, birth: date) -> str:
    weights, checks = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), "10X98765432"
    body = f"{rng.randint(110000, 659000)}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
    return body + checks[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def _phone(rng: random.Random) -> str:
    digits = f"1{rng.choice('3456789')}{rng.randint(0, 999999999):09d}"
    return rng.choice(
        [digits, f"{digits[:3]}-{digits[3:7]}-{digits[7:]}", f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"]
    )


def _case(rng: random.Random) -> tuple[str, KnownIdentifiers, Directory, list[str]]:
    surname = rng.choice(list(SURNAMES))
    given = "".join(rng.sample(list(GIVEN), rng.choice([1, 2])))
    pinyin_given = "".join(GIVEN[c] for c in given).capitalize()
    birth = date(1930, 1, 1) + timedelta(days=rng.randint(0, 30000))
    doctor_surname, doctor_given = rng.choice(list(SURNAMES)), rng.choice(list(GIVEN))
    values = {
        "han": rng.choice([surname + given, " ".join(surname + given)]),
        "pinyin": f"{SURNAMES[surname]} {pinyin_given}",
        "pinyin_upper": f"{SURNAMES[surname].upper()}^{pinyin_given.upper()}",
        "sex": rng.choice("男女"), "sex_en": rng.choice("MF"), "age": str(rng.randint(20, 89)),
        "mrn": f"{rng.choice(['ZY', 'MZ', 'CT-', ''])}{rng.randint(10000, 99999999)}",
        "rid": _resident_id(rng, birth),
        "phone": _phone(rng),
        "address": "".join(rng.choice(pair) for pair in ADDRESS_PARTS) + f"{rng.randint(1, 9)}组",
        "birth": rng.choice([birth.isoformat(), f"{birth.year}年{birth.month}月{birth.day}日",
                             birth.strftime("%d %b %Y")]),
        "date": "2026-11-20",
        "hospital": "安平县人民医院", "hospital_en": "Anping County Hospital",
        "doctor": doctor_surname + doctor_given, "doctor_en": f"{SURNAMES[doctor_surname]} {GIVEN[doctor_given]}",
        "medicine": rng.choice(MEDICINE),
    }  # fmt: skip
    text = rng.choice(TEMPLATES).format(**values)
    known = KnownIdentifiers(
        patient_names=(f"{SURNAMES[surname]}^{pinyin_given}={surname}^{given}",),
        ids=(values["mrn"], values["rid"]),
        phones=(values["phone"],),
        addresses=(values["address"],),
        birth_dates=(birth,),
        exact_dates=(date(2026, 11, 20),),
    )
    directory = Directory(
        hospitals=("安平县人民医院 Anping County Hospital",),
        doctors=(f"{values['doctor']} {values['doctor_en']}",),
    )
    gone = [surname + given, values["pinyin"], values["mrn"], values["rid"], values["phone"], values["birth"],
            values["address"], "安平县人民医院", "Anping", values["doctor"], values["doctor_en"],
            "2026-11-20"]  # fmt: skip
    return text, known, directory, gone


@pytest.mark.parametrize("seed", range(6))
def test_random_cases_lose_every_identifier_and_keep_their_medicine(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(25):
        text, known, directory, gone = _case(rng)
        result = redact_text(text, known=known, directory=directory, date_shift_days=-rng.randint(1, 3650))
        squashed = result.text.replace(" ", "").replace("^", "").lower()
        for value in gone:
            if value.replace(" ", "").lower() in text.replace(" ", "").replace("^", "").lower():
                assert value.replace(" ", "").replace("^", "").lower() not in squashed, (seed, value, result.text)
        assert any(m in result.text for m in MEDICINE), result.text
        scan = leak_scan(known=known, directory=directory, texts={"text": result.text})
        assert scan.findings == (), (seed, result.text, scan.findings)


@pytest.mark.parametrize("seed", range(4))
def test_random_resident_ids_and_phones_are_caught_without_being_known(seed: int) -> None:
    rng = random.Random(1000 + seed)
    for _ in range(100):
        birth = date(1930, 1, 1) + timedelta(days=rng.randint(0, 30000))
        rid, phone = _resident_id(rng, birth), _phone(rng)
        assert resident_id_valid(rid)
        text = f"证件{rid}，手机{phone}。Call {phone} today."
        result = redact_text(text, known=KnownIdentifiers())
        assert rid not in result.text and phone not in result.text, result.text
