"""A hostile corpus for de-identification: a study and a case text full of identifiers, and what is known of them.

Built from the synthetic generator plus the fields real modalities, RIS and county PACS fill: Chinese names in
UTF-8, GB18030 and ISO 2022 IR 58, resident and record IDs, phones, an address, hospital and doctor names in
InstitutionName / StationName / ReferringPhysicianName…, private tags, nested sequences, and report text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from tests.support import dicom_gen
from yilian.deid.identifiers import Directory, KnownIdentifiers

PATIENT_PN = "Zhang^Sanfeng=张^三丰"
RESIDENT_ID = "11010519491231002X"  # valid check character (GB 11643 example)
PATIENT_ID = "CT-778812"
ACCESSION = "ACC20261123007"
MRN = "MRN-445566"
PHONE = "138-1234-5678"
ADDRESS = "浙江省杭州市西湖区文三路100号"
BIRTH = date(1949, 12, 31)
HOSPITAL = "安平县人民医院"
HOSPITAL_EN = "Anping County Hospital"
REFERRING_PN = "Li^Si=李^四"
READER = "王五 Wang Wu"
STATION = "ANPING-CT1"

DIRECTORY = Directory(
    hospitals=(f"{HOSPITAL} {HOSPITAL_EN}", "省人民医院 Provincial People's Hospital", "青山县中医院"),
    doctors=("李四 Li Si", READER, "赵六 Zhao Liu"),
)

CLINICAL_QUESTION = (
    f"患者张三丰，男，76岁，住院号{MRN}，身份证号{RESIDENT_ID}，联系电话{PHONE}，家住{ADDRESS}。"
    "2026年11月20日于安平县人民医院行胸部CT，发现右肺上叶结节，请省人民医院专家会诊。申请医生：李四。"
)
REPORT = (
    "检查所见：右肺上叶见一实性结节，大小约12mm×10mm，边缘分叶，可见毛刺，邻近胸膜牵拉。纵隔未见肿大淋巴结。"
    "与2025-06-01外院CT比较结节增大。诊断意见：右肺上叶结节，考虑周围型肺癌可能，建议穿刺活检。"
    "报告医生：王五医生  审核医生：赵六  Reported by Dr. Wang Wu. Contact 0571-88776655. "
    f"Patient Zhang Sanfeng (ID {PATIENT_ID}, accession {ACCESSION}) was seen on Nov 20, 2026 at {HOSPITAL_EN}."
)


@dataclass(frozen=True)
class HostileStudy:
    instances: list[Dataset]
    known: KnownIdentifiers


def hostile_study(charset: str | list[str] = "ISO_IR 192", n_slices: int = 3) -> HostileStudy:
    """A CT series (`charset`: ISO_IR 192 for UTF-8, GB18030, or ISO 2022 IR 58) carrying every hostile field."""
    series = dicom_gen.ct_series(
        n_slices=n_slices, rows=16, cols=16, patient_id=PATIENT_ID, patient_name=PATIENT_PN, charset=charset,
        accession_number=ACCESSION,
    )  # fmt: skip
    uids: list[str] = []
    for index, ds in enumerate(series):
        ds.PatientBirthDate = BIRTH.strftime("%Y%m%d")
        ds.OtherPatientIDs = [RESIDENT_ID, MRN]
        ds.PatientTelephoneNumbers = PHONE
        ds.PatientAddress = ADDRESS
        ds.InstitutionName = HOSPITAL
        ds.InstitutionAddress = "安平县城东大街1号"
        ds.InstitutionalDepartmentName = "放射科"
        ds.StationName = STATION
        ds.ReferringPhysicianName = REFERRING_PN
        ds.PerformingPhysicianName = "Zhao^Liu=赵^六"
        ds.OperatorsName = "Qian^Qi=钱^七"
        ds.NameOfPhysiciansReadingStudy = "Wang^Wu=王^五"
        ds.StudyDescription = "张三丰 胸部CT平扫"
        ds.ImageComments = f"患者张三丰 电话{PHONE}"
        ds.DeviceSerialNumber = "SN-99887766"
        ds.RequestAttributesSequence = Sequence(
            [_item(RequestedProcedureID="RP-5566", ScheduledProcedureStepID="SPS-7788",
                   ReasonForTheRequestedProcedure=f"{HOSPITAL} 张三丰 复查")]
        )  # fmt: skip
        ds.ProcedureCodeSequence = Sequence(
            [_item(CodeValue="CT-CHEST", CodingSchemeDesignator="99LOCAL", CodeMeaning="胸部CT平扫",
                   InstitutionName=HOSPITAL)]
        )  # fmt: skip
        if index:
            previous = series[index - 1]
            ds.ReferencedImageSequence = Sequence(
                [_item(ReferencedSOPClassUID=previous.SOPClassUID, ReferencedSOPInstanceUID=previous.SOPInstanceUID)]
            )
        ds.add_new(0x00290010, "LO", "ANPING PACS 1.0")
        ds.add_new(0x00291001, "LO", "张三丰")
        ds.add_new(0x00291002, "OB", "张三丰 13812345678".encode("gb18030"))
        ds.BurnedInAnnotation = "NO"
        uids += [str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)]
    known = KnownIdentifiers(
        patient_names=(PATIENT_PN,),
        other_names=(REFERRING_PN, "Qian^Qi=钱^七"),
        ids=(PATIENT_ID, ACCESSION, MRN, RESIDENT_ID),
        phones=(PHONE,),
        addresses=(ADDRESS,),
        birth_dates=(BIRTH,),
        exact_dates=(date(2026, 11, 23), date(2026, 11, 20)),
        hospitals=(HOSPITAL,),
        uids=tuple(dict.fromkeys(uids)),
    )
    return HostileStudy(series, known)


def _item(**values: object) -> Dataset:
    item = Dataset()
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item
