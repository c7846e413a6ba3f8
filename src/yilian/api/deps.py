"""Typed FastAPI dependencies: the shared resources of the process and the caller's identity.

Routes take what they need from here (`engine: Engine`, `principal: CurrentPrincipal`, ...) and never reach
into `request.app.state`; this module is the only one that does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import Depends, Request, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection
from temporalio.client import Client

from yilian.api.consult_view import seen_consult
from yilian.api.event_hub import EventHub
from yilian.api.lecture_media import LectureViews, SegmentTimes
from yilian.api.lecture_view import must_moderate, must_see_attendance, must_watch, seen_lecture
from yilian.api.live_door import LiveProcesses
from yilian.api.referral_view import seen
from yilian.api.security import CheckedTokens, current_generation, grant_claims, patient_claims, token_claims
from yilian.api.workflow_client import (
    ConsultCommands,
    LectureCommands,
    QualityAuditCommands,
    ReferralCommands,
    StudiesReceived,
    TeachingCommands,
)
from yilian.config import Settings
from yilian.db.engine import reading
from yilian.db.queries import alliance
from yilian.db.queries import api_key as api_key_queries
from yilian.db.queries import cloud_film as cloud_film_queries
from yilian.db.queries import consult as consult_queries
from yilian.db.queries import lectures as lecture_queries
from yilian.db.queries import patient_index as patient_index_queries
from yilian.db.queries import referral as referral_queries
from yilian.dicom.instance import uid_problem
from yilian.domain import api_key
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import Role
from yilian.imaging.blob import BlobStore
from yilian.imaging.retrieve import FrameLayouts, RenderedImages, VisibleInstances
from yilian.search.reports import ReportIndex


@dataclass(frozen=True)
class Resources:
    """What every request of one API process shares; built once in `create_app`."""

    settings: Settings
    engine: AsyncEngine
    temporal: Client
    blobs: BlobStore
    on_stored: StudiesReceived  # wakes the referrals waiting for the studies just stored
    events: EventHub
    search: ReportIndex | None = None  # None: no OpenSearch configured (YILIAN_OPENSEARCH_URL)
    lecture_views: LectureViews | None = None  # the buffer of lecture segment views (api/lecture_media.py)
    segment_times: SegmentTimes | None = None
    principals: PrincipalCache = field(default_factory=lambda: PrincipalCache())  # DICOMweb callers, briefly
    layouts: FrameLayouts = field(default_factory=FrameLayouts)  # where the pixels are in files read lately
    rendered: RenderedImages = field(default_factory=RenderedImages)  # images rendered lately, by content and options
    visible: VisibleInstances = field(default_factory=VisibleInstances)  # frame requests' instances, briefly
    tokens: CheckedTokens = field(default_factory=CheckedTokens)  # tokens whose signature was checked


class PrincipalCache:
    """Signed-in DICOMweb callers as their user row said less than `ttl` seconds ago.

    A viewer opening a study sends hundreds of frame and metadata requests; each would read the same user row
    again. Only DICOMweb uses it: a deactivation or password change reaches DICOMweb within `ttl` seconds (the
    JSON API still asks the database every time), and the token itself is checked on every request.
    """

    def __init__(self, ttl: float = 2.0, size: int = 4096) -> None:
        self.ttl, self.size = ttl, size
        self._found: dict[tuple[str, Any], tuple[float, Principal]] = {}

    def get(self, claims: dict[str, Any]) -> Principal | None:
        found = self._found.get((str(claims.get("sub")), claims.get("gen")))
        if found is None or time.monotonic() - found[0] > self.ttl:
            return None
        return found[1]

    def put(self, claims: dict[str, Any], principal: Principal) -> None:
        if len(self._found) >= self.size:
            self._found.clear()  # a burst of callers: start again rather than track ages
        self._found[(str(claims.get("sub")), claims.get("gen"))] = (time.monotonic(), principal)


def resources(request: HTTPConnection) -> Resources:
    return cast(Resources, request.app.state.resources)


async def _settings(request: HTTPConnection) -> Settings:
    return resources(request).settings


async def _engine(request: HTTPConnection) -> AsyncEngine:
    return resources(request).engine


async def _temporal(request: HTTPConnection) -> Client:
    return resources(request).temporal


async def _blobs(request: HTTPConnection) -> BlobStore:
    return resources(request).blobs


async def _on_stored(request: HTTPConnection) -> StudiesReceived:
    return resources(request).on_stored


async def _events(request: HTTPConnection) -> EventHub:
    return resources(request).events


async def _search(request: HTTPConnection) -> ReportIndex:
    found = resources(request).search
    if found is None:
        raise YilianError(ErrorCode.SERVICE_UNAVAILABLE, "report search is not configured (YILIAN_OPENSEARCH_URL)")
    return found


async def _referral_commands(request: HTTPConnection) -> ReferralCommands:
    res = resources(request)
    return ReferralCommands(res.temporal, res.settings.task_queue)


async def _consult_commands(request: HTTPConnection) -> ConsultCommands:
    res = resources(request)
    return ConsultCommands(res.temporal, res.settings.task_queue, res.settings.consult_auto_close_minutes)


async def _live_processes(request: HTTPConnection) -> LiveProcesses:
    s = resources(request).settings
    return LiveProcesses(s.live_process_urls(), s.live_secret, s.live_room_capacity, s.live_max_video_bitrate)


async def _teaching_commands(request: HTTPConnection) -> TeachingCommands:
    res = resources(request)
    return TeachingCommands(res.temporal, res.settings.task_queue)


async def _quality_audit_commands(request: HTTPConnection) -> QualityAuditCommands:
    res = resources(request)
    return QualityAuditCommands(res.temporal, res.settings.task_queue)


async def _lecture_commands(request: HTTPConnection) -> LectureCommands:
    res = resources(request)
    return LectureCommands(res.temporal, res.settings.task_queue)


@dataclass(frozen=True)
class LectureMedia:
    """Where lectures' HLS files are, the secret of watch tokens, the view buffer and the segment durations."""

    root: Path
    secret: str
    views: LectureViews
    times: SegmentTimes


def lecture_files(res: Resources) -> LectureMedia:
    """The lecture files of these resources: for the route below and for the HLS door (api/hls_door.py)."""
    assert res.lecture_views is not None and res.segment_times is not None, "create_app builds them"
    return LectureMedia(res.settings.lecture_media_root(), res.settings.jwt_secret, res.lecture_views,
                        res.segment_times)  # fmt: skip


async def _lecture_media(request: HTTPConnection) -> LectureMedia:
    return lecture_files(resources(request))


async def _tokens(request: HTTPConnection) -> CheckedTokens:
    return resources(request).tokens


AppSettings = Annotated[Settings, Depends(_settings)]
Engine = Annotated[AsyncEngine, Depends(_engine)]
Temporal = Annotated[Client, Depends(_temporal)]
Blobs = Annotated[BlobStore, Depends(_blobs)]
OnStored = Annotated[StudiesReceived, Depends(_on_stored)]
Events = Annotated[EventHub, Depends(_events)]
Commands = Annotated[ReferralCommands, Depends(_referral_commands)]
ConsultActions = Annotated[ConsultCommands, Depends(_consult_commands)]
Live = Annotated[LiveProcesses, Depends(_live_processes)]
TeachingCommandsDep = Annotated[TeachingCommands, Depends(_teaching_commands)]
LectureActions = Annotated[LectureCommands, Depends(_lecture_commands)]
QualityAuditActions = Annotated[QualityAuditCommands, Depends(_quality_audit_commands)]
LectureFiles = Annotated[LectureMedia, Depends(_lecture_media)]
ReportSearch = Annotated[ReportIndex, Depends(_search)]
Tokens = Annotated[CheckedTokens, Depends(_tokens)]

_bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True)
class Session:
    """A signed-in caller and when their token runs out (the live stream ends then)."""

    principal: Principal
    expires_at: datetime


def _claims(
    settings: Settings, creds: HTTPAuthorizationCredentials | None, tokens: CheckedTokens | None = None
) -> dict[str, Any]:
    if creds is None or creds.scheme.lower() != "bearer":
        raise YilianError(ErrorCode.UNAUTHENTICATED, "sign in first: send Authorization: Bearer <token>")
    if tokens is not None and (checked := tokens.get(creds.credentials, CheckedTokens.STAFF)) is not None:
        return checked
    claims = token_claims(settings, creds.credentials)
    if tokens is not None:
        tokens.put(creds.credentials, CheckedTokens.STAFF, claims)
    return claims


def _principal(claims: dict[str, Any], user: dict[str, Any] | None) -> Principal:
    # The database, not the token, has the last word: a deactivated user is out at once.
    if user is None or not user["active"]:
        raise YilianError(ErrorCode.UNAUTHENTICATED, "this account is no longer active")
    if not current_generation(claims, user):
        raise YilianError(ErrorCode.UNAUTHENTICATED, "the password has changed since this sign-in: sign in again")
    licensed = frozenset(user["licensed_for"] or ())
    return Principal(user["id"], Role(user["role"]), user["hospital_id"], user["display_name"], licensed)


async def authenticate(
    settings: Settings,
    engine: AsyncEngine,
    creds: HTTPAuthorizationCredentials | None,
    tokens: CheckedTokens | None = None,
) -> Session:
    claims = _claims(settings, creds, tokens)
    async with reading(engine) as conn:
        user = await alliance.principal_row(conn, str(claims.get("sub")))
    return Session(_principal(claims, user), datetime.fromtimestamp(claims["exp"], UTC))


async def current_session(settings: AppSettings, engine: Engine, creds: Credentials, tokens: Tokens) -> Session:
    return await authenticate(settings, engine, creds, tokens)


async def current_principal(session: Annotated[Session, Depends(current_session)]) -> Principal:
    return session.principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


@dataclass(frozen=True)
class CaseAccess:
    """A signed-in caller and the referral of the request's path, which they may see."""

    principal: Principal
    row: dict[str, Any]  # the referral's projection row


async def case_access(
    referral_id: str, settings: AppSettings, engine: Engine, creds: Credentials, tokens: Tokens
) -> CaseAccess:
    """The caller and the referral in one query: signed in (401) first, then allowed to see the case (404)."""
    claims = _claims(settings, creds, tokens)
    async with reading(engine) as conn:
        user, row = await referral_queries.caller_and_referral(conn, str(claims.get("sub")), referral_id)
    principal = _principal(claims, user)
    return CaseAccess(principal, seen(principal, referral_id, row))


CaseCaller = Annotated[CaseAccess, Depends(case_access)]


@dataclass(frozen=True)
class ConsultAccess:
    """A signed-in caller and the consult of the request's path, which they may see."""

    principal: Principal
    row: dict[str, Any]  # the consult's projection row, with its invitee_ids and case_ids
    cases: list[dict[str, Any]]  # the referral rows of its cases (not all of which the caller may see)


async def consult_access(consult_id: str, principal: CurrentPrincipal, engine: Engine) -> ConsultAccess:
    """Signed in (401) first, then allowed to see the consult (404, as for an id that does not exist)."""
    async with engine.connect() as conn:
        row = await consult_queries.get(conn, consult_id)
        cases = await consult_queries.case_rows(conn, list(row["case_ids"])) if row else []
    return ConsultAccess(principal, seen_consult(principal, consult_id, row, cases), cases)


ConsultCaller = Annotated[ConsultAccess, Depends(consult_access)]


@dataclass(frozen=True)
class PatientSession:
    """A patient signed in on the phone (cloud film): the regional patient they are, and how they signed in."""

    regional_patient_id: str
    name: str
    via: str  # phone | share_link


async def current_patient(settings: AppSettings, engine: Engine, creds: Credentials) -> PatientSession:
    """A patient's token only (a staff token is refused, as a patient's is on every staff route)."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise YilianError(ErrorCode.UNAUTHENTICATED, "sign in with your phone first")
    claims = patient_claims(settings, creds.credentials)
    async with reading(engine) as conn:
        row = await patient_index_queries.get_regional_patient(conn, claims["sub"])
    if row is None:
        raise YilianError(ErrorCode.UNAUTHENTICATED, "sign in with your phone first")
    return PatientSession(row["id"], row["name"], str(claims.get("via", "")))


CurrentPatient = Annotated[PatientSession, Depends(current_patient)]


@dataclass(frozen=True)
class LectureAccess:
    """A signed-in caller and the lecture of the request's path (which exists)."""

    principal: Principal
    row: dict[str, Any]  # the lecture's projection row


async def lecture_access(lecture_id: str, principal: CurrentPrincipal, engine: Engine) -> LectureAccess:
    """Signed in (401) first, then a lecture that exists (404). Whether the caller is in its audience is the route's
    question (403): a lecture's existence is no secret, its catalogue is the alliance's."""
    async with reading(engine) as conn:
        row = await lecture_queries.get(conn, lecture_id)
    return LectureAccess(principal, seen_lecture(lecture_id, row))


LectureCaller = Annotated[LectureAccess, Depends(lecture_access)]


async def lecture_watcher(access: LectureCaller) -> LectureAccess:
    """In the lecture's audience (403 otherwise)."""
    must_watch(access.principal, access.row)
    return access


async def lecture_moderator(access: LectureCaller) -> LectureAccess:
    must_moderate(access.principal, access.row)
    return access


async def lecture_reporter(access: LectureCaller) -> LectureAccess:
    must_see_attendance(access.principal)
    return access


LectureWatcher = Annotated[LectureAccess, Depends(lecture_watcher)]
LectureModerator = Annotated[LectureAccess, Depends(lecture_moderator)]
LectureReporter = Annotated[LectureAccess, Depends(lecture_reporter)]


async def socket_principal(
    settings: Settings, engine: AsyncEngine, websocket: WebSocket, token: str | None
) -> Principal | YilianError:
    """The signed-in person of a WebSocket: the token from its first frame (browsers cannot set a WebSocket's
    headers, and a URL lands in logs), else `Authorization: Bearer` (other clients) or `?token=`. A refusal is
    returned, not raised: the socket answers it in its own protocol."""
    header = websocket.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    found = token or (credentials if scheme.lower() == "bearer" else "") or websocket.query_params.get("token")
    creds = HTTPAuthorizationCredentials(scheme="Bearer", credentials=found) if found else None
    try:
        return (await authenticate(settings, engine, creds)).principal
    except YilianError as err:
        return err


async def _grant_holder(engine: AsyncEngine, claims: dict[str, Any]) -> Principal:
    """A clinician with a patient's QR: the grant's studies as they are now, while it is neither revoked nor over."""
    async with reading(engine) as conn:
        grant = await cloud_film_queries.get_grant(conn, claims["sub"])
        studies = await cloud_film_queries.grant_studies(conn, grant) if grant else []
    if grant is None or grant["revoked_at"] is not None or grant["expires_at"] <= datetime.now(UTC):
        raise YilianError(ErrorCode.UNAUTHENTICATED, "the patient has withdrawn this QR code, or it has expired")
    return Principal(f"film-grant:{grant['id']}", Role.PATIENT, None, "QR", studies=frozenset(studies))


async def _principals(request: HTTPConnection) -> PrincipalCache:
    return resources(request).principals


async def principal_or_gateway(
    settings: Settings,
    engine: AsyncEngine,
    creds: HTTPAuthorizationCredentials | None,
    principals: PrincipalCache | None = None,
    tokens: CheckedTokens | None = None,
) -> Principal:
    """A signed-in person, a clinician holding a patient's QR, or a hospital's gateway presenting the hospital's
    API key (DICOMweb only). With `principals`, a person's user row read in the last seconds is not read again;
    with `tokens`, a token whose signature was checked is not checked again (the grant is read every time)."""
    return (await _caller(settings, engine, creds, principals, tokens))[0]


PersonToken = tuple[str, Any]  # a person's token as PrincipalCache keys it: its user and generation (`sub`, `gen`)


async def _caller(
    settings: Settings,
    engine: AsyncEngine,
    creds: HTTPAuthorizationCredentials | None,
    principals: PrincipalCache | None,
    tokens: CheckedTokens | None,
) -> tuple[Principal, PersonToken | None]:
    """`principal_or_gateway`, and for a person's token its user and generation (None for a QR grant, an API key)."""
    if creds is not None and (claims := _grant(settings, creds.credentials, tokens)) is not None:
        return await _grant_holder(engine, claims), None
    if creds is None or not creds.credentials.startswith(api_key.PREFIX):
        claims = _claims(settings, creds, tokens)
        person = (str(claims.get("sub")), claims.get("gen"))
        cached = principals.get(claims) if principals is not None else None
        if cached is not None:
            return cached, person
        async with reading(engine) as conn:
            user = await alliance.principal_row(conn, str(claims.get("sub")))
        principal = _principal(claims, user)
        if principals is not None:
            principals.put(claims, principal)
        return principal, person
    parsed = api_key.parse(creds.credentials)
    if parsed is not None:
        async with reading(engine) as conn:
            row = await api_key_queries.active_key(conn, parsed[0])
        if row is not None and api_key.matches(parsed[1], row["secret_sha256"]):
            retrieves = row["scope"] == api_key.KeyScope.STORE_RETRIEVE
            principal = Principal(
                api_key.actor_id(row["id"]), Role.GATEWAY, row["hospital_id"], row["label"], may_retrieve=retrieves
            )
            return principal, None
    raise YilianError(ErrorCode.UNAUTHENTICATED, "the API key is not valid or has been revoked")


def _grant(settings: Settings, token: str, tokens: CheckedTokens | None) -> dict[str, Any] | None:
    """The claims of a grant token; None for any other, at once for a person's token checked before."""
    if tokens is None:
        return grant_claims(settings, token)
    if (checked := tokens.get(token, CheckedTokens.GRANT)) is not None:
        return checked
    if tokens.get(token, CheckedTokens.STAFF) is not None:
        return None  # a person's token, checked as such: it is no grant token (those have an audience of their own)
    claims = grant_claims(settings, token)
    if claims is not None:
        tokens.put(token, CheckedTokens.GRANT, claims)
    return claims


async def dicomweb_caller(
    settings: AppSettings,
    engine: Engine,
    creds: Credentials,
    principals: Annotated[PrincipalCache, Depends(_principals)],
    tokens: Tokens,
) -> Principal:
    return await principal_or_gateway(settings, engine, creds, principals, tokens)


def require_role(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    async def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise YilianError(
                ErrorCode.FORBIDDEN,
                f"this needs the role {' or '.join(roles)}",
                {"role": principal.role, "required": list(roles)},
            )
        return principal

    return dependency


@dataclass(frozen=True)
class Archive:
    """The image archive's index and blob store, for the DICOMweb routes."""

    engine: AsyncEngine
    blobs: BlobStore
    layouts: FrameLayouts
    rendered: RenderedImages
    visible: VisibleInstances


def archive_of(res: Resources) -> Archive:
    return Archive(res.engine, res.blobs, res.layouts, res.rendered, res.visible)


async def _archive(request: Request) -> Archive:
    return archive_of(resources(request))


ArchiveAccess = Annotated[Archive, Depends(_archive)]


# --- DICOMweb callers ------------------------------------------------------------------------------------------
_STORERS = (Role.COUNTY_DOCTOR, Role.COORDINATOR, Role.GATEWAY)


def dicomweb_base(request: Request) -> str:
    """The request's own DICOMweb root, for RetrieveURLs and BulkDataURIs (never a configured host name)."""
    return str(request.base_url).rstrip("/") + "/dicomweb"


async def dicomweb_uids(request: Request) -> None:
    """A router-level dependency of /dicomweb: a malformed UID is a bad request, not an unknown study (404)."""
    check_dicomweb_uids(request.path_params)


def check_dicomweb_uids(path_params: Mapping[str, str]) -> None:
    """Every Study, Series and SOP Instance UID in a DICOMweb path is a UID (PS3.5 §9.1), else 400 naming it."""
    for name in ("study", "series", "sop"):
        value = path_params.get(name)
        if value is not None and (problem := uid_problem(value)):
            details = {"parameter": name, "value": value}
            raise YilianError(ErrorCode.MALFORMED_REQUEST, f"the {name} UID in the path {problem}", details)


def may_retrieve(principal: Principal) -> Principal:
    """The caller, if their credential may search and retrieve images (403 otherwise)."""
    if principal.role in (Role.PATIENT, Role.GATEWAY) and principal.studies is None and not principal.may_retrieve:
        # A gateway's key stores unless issued to retrieve: a stolen store key must not read the archive.
        raise YilianError(ErrorCode.FORBIDDEN, "this credential cannot search or retrieve images")
    return principal


async def viewer(principal: Annotated[Principal, Depends(dicomweb_caller)]) -> Principal:
    return may_retrieve(principal)


async def _door_caller(res: Resources, connection: HTTPConnection) -> tuple[Principal, PersonToken | None]:
    """What `dicomweb_caller` resolves to, outside FastAPI's dependency resolution (the doors before the router):
    the same bearer parsing, the same caches, the same refusals in the same order."""
    creds = await _bearer(connection)
    return await _caller(res.settings, res.engine, creds, res.principals, res.tokens)


async def door_viewer(res: Resources, connection: HTTPConnection) -> tuple[Principal, PersonToken | None]:
    """What `Viewer` resolves to, for the retrieve door (api/dicomweb/retrieve_door.py). With it, a person's token
    (user and generation), under which the door may keep what the caller may see (None: a QR grant or an API key,
    whose credential is read from the database on every request: nothing is kept for them)."""
    principal, person = await _door_caller(res, connection)
    return may_retrieve(principal), person


def may_store(principal: Principal) -> Principal:
    """The caller, if they may store images for their hospital (403 otherwise)."""
    if principal.role not in _STORERS or principal.hospital_id is None:
        raise YilianError(
            ErrorCode.FORBIDDEN,
            "images are stored by the sending hospital: its doctors, coordinator or gateway",
            {"role": principal.role},
        )
    return principal


async def storer(principal: Annotated[Principal, Depends(dicomweb_caller)]) -> Principal:
    return may_store(principal)


async def door_storer(res: Resources, connection: HTTPConnection) -> Principal:
    """What `Storer` resolves to, for the STOW-RS door (api/dicomweb/stow_door.py)."""
    principal, _ = await _door_caller(res, connection)
    return may_store(principal)


Viewer = Annotated[Principal, Depends(viewer)]
Storer = Annotated[Principal, Depends(storer)]
