"""Who may use each DICOMweb route: every route x every kind of caller, on one referred study.

The study belongs to h-anping and is referred to wang.expert. Another county (h-qingshan) gets 404 for it,
exactly as for a study that does not exist; a gateway's API key may only store; a person without a hospital
(admin) may search and retrieve but not store. Every /dicomweb route needs a row here.
"""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from tests.support.dicom_gen import ct_series
from tests.support.matrix import api_endpoints, parse_codes
from tests.support.stow import CONTENT_TYPE, stow_body
from yilian.api.app import create_app
from yilian.config import Settings

pytestmark = pytest.mark.integration

CALLERS = ("anon", "badkey", "gateway", "own", "other", "reader", "admin")
S = "/dicomweb/studies/{study}"
SE = S + "/series/{series}"
INST = SE + "/instances/{sop}"
READ = "401 401 403|200 404 200 200"  # search and retrieve: people of the study's scope
SEARCH = "401 401 403|200 204 200 200"  # a search outside one's scope finds nothing
ROWS = {
    ("POST", "/dicomweb/studies"): "401 401 200|200 409 403 403",  # h-qingshan cannot add to h-anping's study
    ("POST", S): "401 401 200|200 409 403 403",
    ("GET", "/dicomweb/studies"): SEARCH,
    ("GET", "/dicomweb/series"): SEARCH,
    ("GET", "/dicomweb/instances"): SEARCH,
    ("GET", S + "/series"): SEARCH,
    ("GET", S + "/instances"): SEARCH,
    ("GET", SE + "/instances"): SEARCH,
    **{("GET", path): READ for path in (S, SE, INST)},
    **{("GET", path + "/metadata"): READ for path in (S, SE, INST)},
    **{("GET", path + "/rendered"): READ for path in (S, SE, INST)},
    **{("GET", path + "/thumbnail"): READ for path in (S, SE, INST)},
    ("GET", INST + "/frames/{frame_list}"): READ,
    ("GET", INST + "/frames/{frame_list}/rendered"): READ,
    ("GET", INST + "/bulk/{path:path}"): READ,
}


@pytest.fixture(scope="module")
async def setting(api: Api) -> dict[str, object]:
    series = ct_series(n_slices=2, rows=32, cols=32, patient_id="DWACCESS-1")
    r = await api.call("zhao.anping", "POST", "/dicomweb/studies", content=stow_body(series),
                       headers={"Content-Type": CONTENT_TYPE})  # fmt: skip
    assert r.status_code == 200
    study = str(series[0].StudyInstanceUID)
    patient = {"patient_id": "DWACCESS-1", "name": "黄忠 Huang Zhong", "birth_date": "1950-01-01", "sex": "M"}
    case = await api.submit(study_instance_uid=study, patient=patient)
    offered = await api.wait_for("zhao.anping", case["id"], "offered")
    key = await api.ok("admin", "POST", "/api/hospitals/h-anping/api-keys", 201, json={"label": "access matrix"})
    return {"series": series, "reader": offered["offered_to"], "key": key["api_key"]}


async def _headers(api: Api, caller: str, setting: dict[str, object]) -> dict[str, str]:
    people = {"own": "zhao.anping", "other": "sun.qingshan", "reader": str(setting["reader"]), "admin": "admin"}
    if caller == "anon":
        return {}
    if caller == "badkey":
        return {"Authorization": "Bearer ylk_0000000000000000_" + "x" * 43}
    if caller == "gateway":
        return {"Authorization": f"Bearer {setting['key']}"}
    return {"Authorization": f"Bearer {await api.token(people[caller])}"}


def test_every_dicomweb_route_has_a_row(settings: Settings, engine: AsyncEngine, temporal_client: Client) -> None:
    routes = {r for r in api_endpoints(create_app(settings, engine, temporal_client)) if r[1].startswith("/dicomweb")}
    assert routes == set(ROWS)


CELLS = [
    pytest.param(method, path, caller, code, id=f"{method} {path} {caller}")
    for (method, path), codes in ROWS.items()
    for caller, code in zip(CALLERS, parse_codes(codes, len(CALLERS)), strict=True)
]


@pytest.mark.parametrize(("method", "path", "caller", "expected"), CELLS)
async def test_dicomweb_access(
    api: Api, setting: dict[str, object], method: str, path: str, caller: str, expected: int
) -> None:
    series: list[Dataset] = setting["series"]  # type: ignore[assignment]
    ds = series[0]
    url = path.replace("{path:path}", "7FE00010").format(
        study=ds.StudyInstanceUID, series=ds.SeriesInstanceUID, sop=ds.SOPInstanceUID, frame_list="1"
    )
    headers = await _headers(api, caller, setting)
    kw: dict[str, object] = {}
    if method == "POST":
        [extra] = ct_series(n_slices=1, rows=32, cols=32, patient_id="DWACCESS-1", study_uid=ds.StudyInstanceUID)
        kw["content"] = stow_body([extra])
        headers["Content-Type"] = CONTENT_TYPE
    params = {"StudyInstanceUID": ds.StudyInstanceUID} if "{" not in path and method == "GET" else None
    r = await api.client.request(method, url, headers=headers, params=params, **kw)  # type: ignore[arg-type]
    assert r.status_code == expected, f"{method} {url} as {caller}: {r.status_code} {r.text[:300]}"
