"""Bad input: a malformed UID in a QIDO-RS or WADO-RS path or query is 400 with the error body; an instance whose values
break their VR's length or character rules (PS3.5 §6.2) is refused with FailureReason C000 and the reason in
ErrorComment, never stored silently as sent. Stored through dicomweb-client's STOW-RS."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from tests.support.api import Api
from tests.support.dicom_gen import dx_image

pytestmark = pytest.mark.integration

DOCTOR = "zhao.anping"
GOOD = "1.2.826.0.1.3680043.8.498.1"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/dicomweb/studies/1.2.abc/metadata", {}),
        (f"/dicomweb/studies/{GOOD}/series/1..2", {}),
        (f"/dicomweb/studies/{GOOD}/series/{GOOD}/instances/{'1' * 30}.{'2' * 40}/frames/1", {}),
        ("/dicomweb/studies/1.2.x/series", {}),
        (f"/dicomweb/studies/{GOOD}/series/.1.2/instances", {}),
        ("/dicomweb/studies", {"StudyInstanceUID": "1.2.x"}),
        ("/dicomweb/series", {"SeriesInstanceUID": f"{GOOD},1.2..3"}),
        ("/dicomweb/instances", {"SOPInstanceUID": f"{GOOD}\\abc"}),
        (f"/dicomweb/studies/{GOOD}/instances", {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.2."}),
    ],
)
async def test_a_malformed_uid_in_a_path_or_query_is_400_with_the_error_body(
    api: Api, path: str, params: dict[str, str]
) -> None:
    r = await api.call(DOCTOR, "GET", path, params=params)
    assert r.status_code == 400, (path, params, r.status_code, r.text)
    body = r.json()
    assert body["error"] == "malformed_request" and "UID" in body["message"], body


def _bad(study: str, patient_id: str, change: Callable[[Dataset], None]) -> Dataset:
    [ds] = dx_image(rows=16, cols=16, patient_id=patient_id, study_uid=study)
    change(ds)
    return ds


async def test_values_that_break_their_vr_are_refused_with_the_reason_and_the_rest_is_stored(
    api: Api, dicomweb: Callable[[str], DICOMwebClient]
) -> None:
    client = dicomweb(await api.token(DOCTOR))
    study, patient = generate_uid(), f"VR-{generate_uid()[-12:]}"
    [good] = dx_image(rows=16, cols=16, patient_id=patient, study_uid=study)
    bad = {
        "OperatorsName": _bad(study, patient, lambda ds: setattr(ds, "OperatorsName", "Operator^" + "A" * 60)),
        "PatientSex": _bad(study, patient, lambda ds: setattr(ds, "PatientSex", "male")),  # CS: upper case only
        "InstitutionName": _bad(study, patient, lambda ds: setattr(ds, "InstitutionName", "县人民医院\x07")),
        "ImageComments": _bad(study, patient, lambda ds: setattr(ds, "ImageComments", "注" * 10241)),  # LT 10240
        "ScheduledProcedureStepID": _bad(study, patient, _nested_sh_over_16),
        "SliceThickness": _bad(study, patient, lambda ds: setattr(ds, "SliceThickness", "1.2345678901234567")),
    }
    response = await asyncio.to_thread(client.store_instances, [good, *bad.values()])

    failed = {str(item.ReferencedSOPInstanceUID): item for item in response.FailedSOPSequence}
    assert set(failed) == {str(ds.SOPInstanceUID) for ds in bad.values()}
    for keyword, ds in bad.items():
        item = failed[str(ds.SOPInstanceUID)]
        assert item.FailureReason == 0xC000, keyword
        assert keyword in item[0x0000, 0x0902].value, (keyword, item[0x0000, 0x0902].value)  # ErrorComment
    assert [str(i.ReferencedSOPInstanceUID) for i in response.ReferencedSOPSequence] == [str(good.SOPInstanceUID)]

    # Nothing of the refused ones was written: the study holds the good instance alone.
    [found] = await asyncio.to_thread(client.search_for_studies, search_filters={"StudyInstanceUID": study})
    assert found["00201208"]["Value"] == [1]


def _nested_sh_over_16(ds: Dataset) -> None:
    item = Dataset()
    item.ScheduledProcedureStepID = "S" * 17  # SH is 16 at most, inside a sequence item too
    ds.RequestAttributesSequence = [item]
