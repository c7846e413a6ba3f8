"""The regional patient index's matching rule and its identifiers, without a database."""

from __future__ import annotations

from datetime import date

from tests.support.cloud_film import national_id
from yilian.domain.patient_index import (
    Demographics,
    IndexEntry,
    Uncertainty,
    match,
    national_id_hash,
    normalise_national_id,
)
from yilian.domain.patient_sign_in import normalise_phone

BORN = date(1961, 3, 14)
LIU = Demographics("刘备 Liu Bei", "M", BORN)


def test_national_ids_are_checked_and_normalised() -> None:
    nid = national_id(BORN, seed=1)
    assert normalise_national_id(f"{nid[:6]} {nid[6:14]}-{nid[14:].lower()}") == nid
    wrong = nid[:17] + ("0" if nid[17] != "0" else "1")
    assert normalise_national_id(wrong) is None
    assert normalise_national_id("11010119610314") is None  # 15-digit numbers are long retired
    assert national_id_hash("k", nid) == national_id_hash("k", nid) != national_id_hash("other key", nid)


def test_exact_beats_uncertain_and_none_is_none() -> None:
    h = national_id_hash("k", national_id(BORN, seed=2))
    entries = [
        IndexEntry("rp-typo", Demographics("刘备 Liu Bei", "M", date(1961, 3, 15)), h),
        IndexEntry("rp-liu", Demographics("ＬＩＵ  bei", "M", BORN), None),
        IndexEntry("rp-exact", Demographics("刘备  LIU BEI", "M", BORN), h),
    ]
    assert match(h, LIU, entries).exact and match(h, LIU, entries).regional_patient_id == "rp-exact"
    first_two = match(h, LIU, entries[:2])
    assert (first_two.regional_patient_id, first_two.uncertainty) == ("rp-typo", Uncertainty.DEMOGRAPHICS_DIFFER)
    assert match(None, LIU, entries[2:]).uncertainty is Uncertainty.NO_NATIONAL_ID
    other = national_id_hash("k", national_id(BORN, seed=3))
    assert match(other, LIU, entries[2:]).uncertainty is Uncertainty.NATIONAL_ID_DIFFERS
    assert match(other, Demographics("关羽", "M", BORN), entries).regional_patient_id is None


def test_phone_numbers() -> None:
    assert normalise_phone("+86 139-1234-5678") == normalise_phone("13912345678") == "13912345678"
    assert normalise_phone("12912345678") is None and normalise_phone("010-12345678") is None
