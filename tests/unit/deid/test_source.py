"""What the source instances carry becomes what the scan looks for: the copy must contain none of it."""

from __future__ import annotations

from datetime import date

from tests.support import dicom_gen
from tests.support.deid_corpus import ADDRESS, HOSPITAL, PATIENT_ID, PATIENT_PN, PHONE, RESIDENT_ID, hostile_study
from yilian.deid.leak_scan import leak_scan
from yilian.deid.pseudonym import case_date_shift, case_uid_salt, patient_pseudonym
from yilian.deid.source import known_from_instances
from yilian.dicom.deid import DeidOptions, UidMap, deidentify


def test_every_identifier_in_the_instances_is_gathered() -> None:
    study = hostile_study("GB18030")
    known = known_from_instances(study.instances)
    assert known.patient_names == (PATIENT_PN,)
    assert {"Li^Si=李^四", "Zhao^Liu=赵^六", "Qian^Qi=钱^七", "Wang^Wu=王^五"} <= set(known.other_names)
    assert {PATIENT_ID, RESIDENT_ID, "MRN-445566", "ACC20261123007", "ANPING-CT1", "SN-99887766", "RP-5566"} <= set(
        known.ids
    )
    assert known.phones == (PHONE,) and ADDRESS in known.addresses and HOSPITAL in known.hospitals
    assert known.birth_dates == (date(1949, 12, 31),) and date(2026, 11, 23) in known.exact_dates
    assert {str(ds.SOPInstanceUID) for ds in study.instances} <= set(known.uids)
    assert str(study.instances[1].ReferencedImageSequence[0].ReferencedSOPInstanceUID) in known.uids
    assert not any(uid.startswith("1.2.840.10008.") for uid in known.uids)  # SOP classes identify no one


def test_the_copy_holds_none_of_what_the_source_carried() -> None:
    study = hostile_study("ISO_IR 192")
    known = known_from_instances(study.instances)
    pseudonym = patient_pseudonym("s3cret", "COUNTY-HOSPITAL", PATIENT_ID)
    options = DeidOptions(
        date_shift_days=case_date_shift("s3cret", "c"), retain_patient_characteristics=True,
        patient_name=pseudonym.patient_name, patient_id=pseudonym.patient_id,
    )  # fmt: skip
    uid_map = UidMap(case_uid_salt("s3cret", "c"))
    copy = [dicom_gen.to_bytes(deidentify(ds, uid_map=uid_map, options=options)) for ds in study.instances]
    allowed = [pseudonym.patient_id, pseudonym.patient_name]
    assert leak_scan(known=known, instances=copy, allowed=allowed).findings == ()
    source = leak_scan(known=known, instances=[dicom_gen.to_bytes(ds) for ds in study.instances], allowed=allowed)
    assert {"uid", "date", "birth_date", "record_id", "hospital", "phone", "address"} <= set(source.counts())
