"""Query/Retrieve for the county's workstations (PS3.4 Annex C): C-FIND at study level answered from the cloud's
QIDO-RS, and C-MOVE of a study (or some of its series or instances) fetched by WADO-RS, with the study's signed
report instances, and C-STOREd to a destination from the gateway's known-AE table.

The handlers run in pynetdicom's association threads, so they talk to the cloud with a blocking client; they never
let an exception escape (it becomes a failure status, logged with its cause)."""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pynetdicom import build_context
from pynetdicom.events import Event

from yilian.dicom.multipart import MultipartReader, multipart_boundary
from yilian.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

PENDING = 0xFF00
CANCELLED = 0xFE00
# PS3.4 C.4.1.1.4 / C.4.2.1.5: the identifier asks for what this SCP does not do.
IDENTIFIER_DOES_NOT_MATCH = 0xA900
UNABLE_TO_PROCESS = 0xC001
_NOT_MATCHING_KEYS = frozenset({"QueryRetrieveLevel", "SpecificCharacterSet"})
_ACCEPT_AS_STORED = 'multipart/related; type="application/dicom"; transfer-syntax=*'
_MAX_CONTEXTS = 128
VERIFICATION = "1.2.840.10008.1.1"  # PS3.8 9.3.2.2: presentation context IDs are odd numbers 1-255


class CloudQueryError(RuntimeError):
    """The cloud refused or could not be reached: the words go into the C-FIND/C-MOVE failure's Error Comment."""


class CloudArchive:
    """The hospital's studies in the cloud, through its DICOMweb, with the gateway's key (its retrieve scope)."""

    def __init__(self, settings: GatewaySettings, verify: Any) -> None:
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        self._client = httpx.Client(
            base_url=settings.cloud_url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=httpx.Timeout(settings.request_timeout_seconds, connect=10.0),
            verify=verify,
        )
        self.scratch = settings.spool_dir / "moves"

    def close(self) -> None:
        self._client.close()

    def find_studies(self, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """QIDO-RS Search for Studies (PS3.18 §10.6)."""
        r = self._get("/dicomweb/studies", params=params, headers={"Accept": "application/dicom+json"})
        return list(r.json()) if r.status_code == 200 and r.content.strip() else []

    def fetch(self, path: str, into: Path) -> list[Path]:
        """WADO-RS Retrieve (PS3.18 §10.4) as stored, each instance into its own file."""
        files: list[Path] = []
        try:
            with self._client.stream("GET", path, headers={"Accept": _ACCEPT_AS_STORED}) as r:
                if r.status_code == 404:
                    return []
                if r.status_code != 200:
                    r.read()
                    raise CloudQueryError(f"the cloud refused {path} (HTTP {r.status_code})")
                reader = MultipartReader(multipart_boundary(r.headers.get("content-type", "")))
                for chunk in r.iter_bytes():
                    for part in reader.feed(chunk):
                        files.append(_write(into, part.body))
                reader.close()
        except httpx.HTTPError as exc:
            raise CloudQueryError(f"cannot reach the cloud: {exc}") from exc
        return files

    def reports(self, study_instance_uid: str, into: Path) -> list[Path]:
        """The study's signed report instances (the PDF and SR of every version) the cloud made for this hospital."""
        r = self._get("/api/pacs-deliveries", params=[("study_instance_uid", study_instance_uid)])
        files = []
        for item in r.json()["items"]:
            files.append(_write(into, self._get(f"/api/pacs-deliveries/{item['id']}/instance").content))
        return files

    def _get(self, path: str, **kw: Any) -> httpx.Response:
        try:
            r = self._client.get(path, **kw)
        except httpx.HTTPError as exc:
            raise CloudQueryError(f"cannot reach the cloud: {exc}") from exc
        if r.status_code in (401, 403):
            raise CloudQueryError(
                f"the cloud refused the gateway's key (HTTP {r.status_code}): it needs the store_retrieve scope"
            )
        if r.status_code >= 400 and r.status_code != 404:
            raise CloudQueryError(f"the cloud refused {path} (HTTP {r.status_code})")
        return r


def qido_params(identifier: Dataset) -> list[tuple[str, str]]:
    """C-FIND matching and return keys (PS3.4 C.2.2) as QIDO-RS query parameters: a value is a match (wild cards,
    ranges and UID lists mean the same in both), an empty key is asked for with includefield."""
    params: list[tuple[str, str]] = []
    for element in identifier:
        keyword = element.keyword
        if not keyword or keyword in _NOT_MATCHING_KEYS or element.VR == "SQ":
            continue
        value = "" if element.value is None else str(element.value)
        params.append((keyword, value) if value else ("includefield", keyword))
    return params


def handle_find(event: Event, archive: CloudArchive, ae_title: str) -> Iterator[tuple[int | Dataset, Dataset | None]]:
    """C-FIND SCP (PS3.4 C.4.1): one pending answer per matching study, with exactly the keys asked for."""
    try:
        identifier = event.identifier
        if str(identifier.get("QueryRetrieveLevel", "")) != "STUDY":
            yield _failure(IDENTIFIER_DOES_NOT_MATCH, "the gateway answers C-FIND at STUDY level only")
            return
        studies = archive.find_studies(qido_params(identifier))
    except CloudQueryError as exc:
        log.warning("C-FIND from %s failed: %s", event.assoc.requestor.ae_title, exc)
        yield _failure(UNABLE_TO_PROCESS, str(exc))
        return
    except Exception as exc:
        log.exception("C-FIND from %s failed", event.assoc.requestor.ae_title)
        yield _failure(UNABLE_TO_PROCESS, f"the gateway failed: {exc}")
        return
    for found in studies:
        if event.is_cancelled:
            yield CANCELLED, None
            return
        yield PENDING, _answer(identifier, Dataset.from_json(found), ae_title)


def handle_move(event: Event, archive: CloudArchive, destinations: dict[str, tuple[str, int]]) -> Iterator[Any]:
    """C-MOVE SCP (PS3.4 C.4.2): the instances are fetched from the cloud first (so their SOP classes and transfer
    syntaxes are known when the association with the destination is proposed), then C-STOREd one by one."""
    destination = destinations.get((event.move_destination or "").strip())
    if destination is None:
        log.warning("C-MOVE to unknown destination %r", event.move_destination)
        yield None, None  # pynetdicom answers A801, move destination unknown
        return
    scratch = archive.scratch / uuid.uuid4().hex
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        try:
            files = _fetch_for_move(event.identifier, archive, scratch)
            failure = None
        except CloudQueryError as exc:
            files, failure = [], str(exc)
        except Exception as exc:
            log.exception("C-MOVE: fetching from the cloud failed")
            files, failure = [], f"the gateway failed: {exc}"
        headers = [dcmread(path, stop_before_pixels=True) for path in files]
        # A failure still needs an association to be proposed before its answer: Verification is always there.
        contexts = _contexts(headers) or [build_context(VERIFICATION)]
        yield (*destination, {"contexts": contexts})
        if failure is not None:
            log.warning("C-MOVE for %s failed: %s", event.assoc.requestor.ae_title, failure)
            yield 1
            yield _failure(UNABLE_TO_PROCESS, failure)
            return
        yield len(files)
        for path in files:
            if event.is_cancelled:
                yield CANCELLED, None
                return
            yield PENDING, dcmread(path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _fetch_for_move(identifier: Dataset, archive: CloudArchive, into: Path) -> list[Path]:
    level = str(identifier.get("QueryRetrieveLevel", ""))
    study = str(identifier.get("StudyInstanceUID", "") or "")
    if not study or "\\" in study:
        raise CloudQueryError("C-MOVE needs one Study Instance UID")
    if level == "STUDY":
        return archive.fetch(f"/dicomweb/studies/{study}", into) + archive.reports(study, into)
    series = [s for s in str(identifier.get("SeriesInstanceUID", "") or "").split("\\") if s]
    if level == "SERIES" and series:
        return [path for s in series for path in archive.fetch(f"/dicomweb/studies/{study}/series/{s}", into)]
    sops = [s for s in str(identifier.get("SOPInstanceUID", "") or "").split("\\") if s]
    if level == "IMAGE" and len(series) == 1 and sops:
        base = f"/dicomweb/studies/{study}/series/{series[0]}/instances"
        return [path for sop in sops for path in archive.fetch(f"{base}/{sop}", into)]
    raise CloudQueryError(f"cannot move at level {level!r} with these keys")


def _contexts(headers: Sequence[Dataset]) -> list[Any]:
    """One presentation context per (SOP class, transfer syntax as stored): compressed images go as they are."""
    pairs = sorted({(str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)) for ds in headers})
    return [build_context(sop_class, [syntax]) for sop_class, syntax in pairs][:_MAX_CONTEXTS]


def _answer(identifier: Dataset, found: Dataset, ae_title: str) -> Dataset:
    reply = Dataset()
    reply.SpecificCharacterSet = "ISO_IR 192"  # the cloud's DICOM JSON is Unicode: Chinese names stay intact
    reply.QueryRetrieveLevel = "STUDY"
    for element in identifier:
        if element.keyword in _NOT_MATCHING_KEYS:
            continue
        if element.tag in found:
            reply[element.tag] = found[element.tag]
        else:
            reply[element.tag] = DataElement(element.tag, element.VR, None)
    reply.RetrieveAETitle = ae_title
    return reply


def _failure(status: int, comment: str) -> tuple[Dataset, None]:
    response = Dataset()
    response.Status = status
    response.ErrorComment = comment[:64]  # LO (PS3.7 C.4)
    return response, None


def _write(into: Path, data: bytes) -> Path:
    path = into / f"{uuid.uuid4().hex}.dcm"
    path.write_bytes(data)
    return path
