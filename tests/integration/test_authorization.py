"""The authorization matrix: every endpoint x every kind of caller, through the real API, worker and databases.

Each row is one endpoint with the referral in one state; each column is one caller. A cell is the status
that caller must get:

    401  no token, a token that is not ours, or an expired one;
    403  the wrong role, or a person the case's rules do not name for this action;
    404  a referral (or link, or notification) outside the caller's scope: it answers exactly as an unknown id;
    409  the right person, but the case is in the wrong state;
    2xx  the right person at the right time.

A refused cell must change nothing (projection row and audit trail); a granted action moves the case on.
Every route of the app needs a row: a new endpoint without one fails `test_every_endpoint_has_a_row`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import REPORT, Api, referral_body
from tests.support.cloud_film import PREFIXES as CLOUD_FILM_PREFIXES
from tests.support.live import serve
from tests.support.matrix import Caller, api_endpoints, parse_codes, seq_and_state, walk, walk_many, warm_tokens
from yilian.api.app import create_app
from yilian.config import Settings
from yilian.db.demo import DEMO_PASSWORD
from yilian.db.schema import agreements, consult_events, consults, hospitals, share_links, users

pytestmark = pytest.mark.integration

# An expert of the reading hospital with no licence (多机构执业备案) for any county: inserted by the fixture.
UNLICENSED = "zhou.unlicensed"
PATIENT = {"patient_id": "AUTHZ-0001", "name": "诸葛亮 Zhuge Liang", "birth_date": "1972-05-06", "sex": "M"}
NEW_PATIENT = {"patient_id": "AUTHZ-0002", "name": "孙尚香 Sun Shangxiang", "birth_date": "1980-08-08", "sex": "F"}
QS_PATIENT = {"patient_id": "AUTHZ-QS01", "name": "马超 Ma Chao", "birth_date": "1976-04-01", "sex": "M"}
# What the admin rows act on: the matrix's own county, agreement and doctor (inserted by the fixture), so a
# granted admin call changes nothing another test relies on; each PUT body restates the subject as it is.
ADMIN_COUNTY, ADMIN_AGREEMENT, ADMIN_USER = "h-matrix-county", "agr-matrix", "matrix.doctor"
ADMIN_COUNTY_BODY = {"name": "矩阵县医院 Matrix County", "level": "county", "patient_id_issuer": "MATRIX"}
ADMIN_AGREEMENT_BODY = {"requesting_hospital_id": ADMIN_COUNTY, "reading_hospital_id": "h-provincial",
                        "service_mode": "difficult_only"}  # fmt: skip
ADMIN_USER_BODY = {"username": ADMIN_USER, "display_name": "矩阵医生 Matrix Doctor", "role": "county_doctor",
                   "hospital_id": ADMIN_COUNTY}  # fmt: skip

COLUMNS = (
    Caller("anon"),  # no Authorization header
    Caller("bad", token="bad"),  # a string that is no JWT
    Caller("expired", token="expired"),  # zhao.anping's claims, our secret, exp an hour ago
    Caller("own", "zhao.anping"),  # county doctor of h-anping, where every matrix case comes from
    Caller("other", "sun.qingshan"),  # county doctor of h-qingshan
    Caller("offered", "wang.expert"),  # the expert the case is offered to, and its reader once accepted
    Caller("peer", "li.expert"),  # an expert licensed for h-anping who has nothing to do with the case
    Caller("unlic", UNLICENSED),  # an expert of the reading hospital without a licence for h-anping
    Caller("senior", "chen.senior"),  # the second reader
    Caller("coord", "liu.coord"),  # the alliance coordinator at the reading hospital
    Caller("admin", "admin"),
)

REF = "/api/referrals/{referral_id}"
IN_HOUSE = "/api/admin/hospitals/{hospital_id}/in-house-reading"
CON = "/api/consults/{consult_id}"


def consult_plan(invitees: tuple[str, ...]) -> dict[str, Any]:
    starts = datetime.now(UTC) + timedelta(hours=2)
    return {"starts_at": starts.isoformat(), "duration_minutes": 30, "invitee_ids": list(invitees)}


BODIES: dict[str, Any] = {
    "/api/auth/login": {"username": "zhao.anping", "password": DEMO_PASSWORD},
    "/api/me/duty": {"on_duty": True},
    "/api/referrals": referral_body(patient=NEW_PATIENT, difficult=True),  # covered by both counties' agreements
    f"{REF}/accept": {},
    f"{REF}/decline": {"comment": "在手术 / in theatre"},
    f"{REF}/draft": REPORT,
    f"{REF}/preliminary": REPORT,
    f"{REF}/addenda": {**REPORT, "impression": "补充 addendum"},
    f"{REF}/approve": {"discrepancy": "agree"},
    f"{REF}/request-changes": {"discrepancy": "minor", "comments": "请描述胸膜 / describe the pleura"},
    f"{REF}/request-info": {"comment": "请补充病史 / please add the history"},
    f"{REF}/provide-info": {"comment": "吸烟30年 / smoker for 30 years"},
    f"{REF}/cancel": {"comment": "患者转院 / patient transferred"},
    f"{REF}/question": {"comment": "咳嗽三周，发热 / cough for 3 weeks, fever"},
    f"{REF}/quality": {"grade": "2", "reasons": ["motion"]},  # the matrix's cases are CT: graded 3-0
    f"{REF}/retake": {"reasons": ["positioning"], "comment": "请双臂上举重拍 / arms raised"},
    f"{REF}/reassign": {"expert_id": "li.expert", "reason": "王医生手术中 / Dr Wang in theatre"},
    f"{REF}/acknowledge-receipt": {},
    f"{REF}/acknowledge-critical": {"comment": "已电话通知患者 / patient called"},
    f"{REF}/share-links#POST": {"days": 7},
    "/api/share/{token}": {"birth_date": PATIENT["birth_date"]},
    "/api/hospitals/{hospital_id}/api-keys": {"label": "matrix gateway"},
    "/api/gateway-quarantine": {"count": 0, "instances": []},
    "/api/admin/hospitals": {**ADMIN_COUNTY_BODY, "patient_id_issuer": "MATRIX-NEW"},
    "/api/admin/hospitals/{hospital_id}": ADMIN_COUNTY_BODY,
    "/api/admin/agreements": ADMIN_AGREEMENT_BODY,
    "/api/admin/agreements/{agreement_id}": ADMIN_AGREEMENT_BODY,
    "/api/admin/users": {**ADMIN_USER_BODY, "username": "matrix.created", "password": "matrix-password-1"},
    "/api/admin/users/{user_id}": ADMIN_USER_BODY,
    "/api/admin/users/{user_id}/password": {"password": "matrix-password-2"},
    IN_HOUSE: {"modalities": ["CT"]},
    # Consults: the request names the row's case (see Row.body); a consult's own routes act on the one in ctx.
    "/api/consults#POST": lambda ctx: {"title": "矩阵 MDT", "referral_id": ctx["referral_id"], "comment": "请会诊"},
    f"{CON}/schedule": lambda ctx: consult_plan(("he.surgeon", "xu.oncology")),
    f"{CON}/reschedule": lambda ctx: consult_plan(("wang.expert", "xu.oncology")),
    f"{CON}/open": {},
    f"{CON}/hand-over": {"to": "wang.expert"},
    f"{CON}/conclude": {"participants": ["liu.coord"], "discussion": "讨论", "recommendation": "随访 / follow up"},
    f"{CON}/cancel": {"reason": "患者转院 / transferred"},
    f"{CON}/recording-consent": {"consent": True},
    f"{CON}/messages#POST": {"body": "见第 42 层 / see slice 42"},
    # the matrix's own county has no graded study: a coordinator let in is told there is nothing to sample (422)
    "/api/quality/audits": {"hospital_id": ADMIN_COUNTY, "month": "2026-12", "size": 5, "mode": "random"},
    "/api/quality/audits/{audit_id}/outcomes": {"referral_id": "ref-20000101-0000000000", "verdict": "confirmed"},
    "/api/retention/policies": {"hospital_id": ADMIN_COUNTY, "encounter_type": "outpatient", "years": 15},
    "/api/retention/studies/{study_instance_uid}/encounter": {"encounter_type": "outpatient"},
    "/api/retention/studies/{study_instance_uid}/holds": {"reason": "矩阵 / matrix"},
    "/api/retention/holds/{hold_id}/release": {"reason": "矩阵 / matrix"},
    "/api/pacs-deliveries/{delivery_id}/outcome": {"state": "delivered", "dicom_status": 0},
    "/api/report-deliveries/{delivery_id}/retry": {"reason": "矩阵 / matrix"},
}
# Actions that go to the referral's workflow: a granted one moves the case on, so it gets a case of its own.
WORKFLOW_ACTIONS = frozenset(
    f"{REF}/{a}"
    for a in (
        "accept",
        "decline",
        "draft",
        "preliminary",
        "approve",
        "request-changes",
        "request-info",
        "provide-info",
        "cancel",
        "question",
        "quality",
        "retake",
        "reassign",
        "acknowledge-receipt",
        "acknowledge-critical",
        "addenda",
    )
) | {"/api/consults"}  # a granted request records its step on the case's timeline: a case of its own
# A consult's Updates: a granted one moves the consult on, so it gets a consult of its own.
CONSULT_ACTIONS = frozenset(
    f"{CON}/{a}" for a in ("schedule", "reschedule", "open", "hand-over", "conclude", "cancel", "recording-consent")
)
STREAMS = frozenset({"/api/events"})  # text/event-stream endpoints
GHOST_REFERRAL = "ref-20000101-0000000000"  # shaped like a referral id; no such referral
GHOST_LINK = "A" * 22  # shaped like a link id; no such link
ERRORS = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 409: "invalid_transition"}


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # the route's own template; "~" stands for /api/referrals/{referral_id}
    state: str | None  # the referral's (or, "consult:<state>", the consult's) state when the call is made
    codes: tuple[int, ...] = field(default=())

    @property
    def route(self) -> str:
        return self.path.replace("~", REF).replace("@", CON)

    @property
    def consult_state(self) -> str | None:
        return self.state.removeprefix("consult:") if self.state and self.state.startswith("consult:") else None

    @property
    def referral_state(self) -> str | None:
        return None if self.consult_state else self.state

    def body(self, ctx: dict[str, str] | None = None) -> Any:
        body = BODIES.get(f"{self.route}#{self.method}", BODIES.get(self.route))
        return body(ctx or {}) if callable(body) else body

    def __str__(self) -> str:
        return f"{self.method} {self.path}" + (f" [{self.state}]" if self.state else "")


def R(endpoint: str, state: str | None, codes: str) -> Row:  # noqa: N802 - the table's row constructor
    method, path = endpoint.split()
    return Row(method, path, state, parse_codes(codes, len(COLUMNS)))


# fmt: off
MATRIX = (
    # endpoint ("~": /api/referrals/{referral_id})        state           no  bad exp|own oth|off pee unl|sen crd adm
    R("POST /api/auth/login",                             None,          "200 200 200|200 200|200 200 200|200 200 200"),
    R("GET /api/health",                                  None,          "200 200 200|200 200|200 200 200|200 200 200"),
    R("GET /api/me",                                      None,          "401 401 401|200 200|200 200 200|200 200 200"),
    # only readers have a duty roster; the body keeps them on duty so other tests' routing is unchanged
    R("PUT /api/me/duty",                                 None,          "401 401 401|403 403|200 200 200|200 403 403"),
    R("GET /api/referrals",                               None,          "401 401 401|200 200|200 200 200|200 200 200"),
    R("POST /api/referrals",                              None,          "401 401 401|201 201|403 403 403|403 403 403"),
    R("GET /api/dashboard",                               None,          "401 401 401|403 403|403 403 403|403 200 403"),
    R("GET /api/audit-events",                            None,          "401 401 401|403 403|403 403 403|403 200 200"),
    R("GET /api/notifications",                           None,          "401 401 401|200 200|200 200 200|200 200 200"),
    # live updates (Server-Sent Events) for every signed-in person; each sees only what can_view lets through
    R("GET /api/events",                                  None,          "401 401 401|200 200|200 200 200|200 200 200"),
    # {notification_id} is one of zhao.anping's: nobody else's inbox has it
    R("POST /api/notifications/{notification_id}/read",   None,          "401 401 401|200 404|404 404 404|404 404 404"),
    R("GET ~",                                            "offered",     "401 401 401|200 404|200 200 404|200 200 200"),
    R("GET ~/priors",                                     "offered",     "401 401 401|200 404|200 200 404|200 200 200"),
    # 检查结果互认: the patient's consented studies elsewhere, for whoever may see the case (empty: no consent here)
    R("GET ~/recognised-priors",                          "offered",     "401 401 401|200 404|200 200 404|200 200 200"),
    R("GET ~/audit",                                      "offered",     "401 401 401|200 404|200 200 404|200 200 200"),
    R("POST ~/accept",                                    "offered",     "401 401 401|403 404|200 403 404|403 403 403"),
    R("POST ~/decline",                                   "offered",     "401 401 401|403 404|200 403 404|403 403 403"),
    R("PUT ~/draft",                                      "in_reading",  "401 401 401|403 404|200 403 404|403 403 403"),
    R("PUT ~/draft",                                      "preliminary", "401 401 401|403 404|409 403 404|403 403 403"),
    R("POST ~/preliminary",                               "in_reading",  "401 401 401|403 404|200 403 404|403 403 403"),
    R("POST ~/preliminary",                               "needs_info",  "401 401 401|403 404|409 403 404|403 403 403"),
    R("POST ~/request-info",                              "in_reading",  "401 401 401|403 404|200 403 404|403 403 403"),
    R("POST ~/request-info",                              "preliminary", "401 401 401|403 404|409 403 404|403 403 403"),
    R("POST ~/provide-info",                              "needs_info",  "401 401 401|200 404|403 403 404|403 403 403"),
    R("POST ~/provide-info",                              "in_reading",  "401 401 401|409 404|403 403 404|403 403 403"),
    R("POST ~/approve",                                   "preliminary", "401 401 401|403 404|403 403 404|200 403 403"),
    R("POST ~/approve",                                   "offered",     "401 401 401|403 404|403 403 404|409 403 403"),
    R("POST ~/request-changes",                           "preliminary", "401 401 401|403 404|403 403 404|200 403 403"),
    R("POST ~/request-changes",                           "in_reading",  "401 401 401|403 404|403 403 404|409 403 403"),
    R("POST ~/cancel",                                    "offered",     "401 401 401|200 404|403 403 404|403 403 403"),
    R("POST ~/cancel",                                    "in_reading",  "401 401 401|409 404|403 403 404|403 403 403"),
    R("POST ~/question",                                  "offered",     "401 401 401|200 404|403 403 404|403 403 403"),
    R("POST ~/question",                                  "in_reading",  "401 401 401|409 404|403 403 404|403 403 403"),
    R("POST ~/quality",                                   "in_reading",  "401 401 401|403 404|200 403 404|403 403 403"),
    R("POST ~/quality",                                   "preliminary", "401 401 401|403 404|409 403 404|403 403 403"),
    R("POST ~/retake",                                    "in_reading",  "401 401 401|403 404|200 403 404|403 403 403"),
    R("POST ~/retake",                                    "preliminary", "401 401 401|403 404|409 403 404|403 403 403"),
    R("GET /api/quality/scorecards",                      None,          "401 401 401|403 403|403 403 403|403 200 403"),
    R("GET /api/film-savings",                            None,          "401 401 401|403 403|403 403 403|403 200 403"),
    # quality audits: a coordinator's hospital's own; the matrix names no audit, so the one let in gets 404
    R("POST /api/quality/audits",                         None,          "401 401 401|403 403|403 403 403|403 422 403"),
    R("GET /api/quality/audits",                          None,          "401 401 401|403 403|403 403 403|403 200 403"),
    R("GET /api/quality/audits/{audit_id}",               None,          "401 401 401|403 403|403 403 403|403 404 403"),
    R("POST /api/quality/audits/{audit_id}/outcomes",     None,          "401 401 401|403 403|403 403 403|403 404 403"),
    R("POST ~/reassign",                                  "offered",     "401 401 401|403 404|403 403 404|403 200 403"),
    R("POST ~/reassign",                                  "preliminary", "401 401 401|403 404|403 403 404|403 409 403"),
    R("POST ~/acknowledge-receipt",                       "returned",    "401 401 401|200 404|403 403 404|403 403 403"),
    R("POST ~/acknowledge-receipt",                       "offered",     "401 401 401|409 404|403 403 404|403 403 403"),
    R("POST ~/acknowledge-critical",                      "critical",    "401 401 401|200 404|403 403 404|403 403 403"),
    R("POST ~/acknowledge-critical",                      "offered",     "401 401 401|409 404|403 403 404|403 403 403"),
    # addenda: only those who answer for the report (its reader, its second reader)
    R("POST ~/addenda",                                   "returned",    "401 401 401|403 404|200 403 404|200 403 403"),
    R("POST ~/addenda",                                   "in_reading",  "401 401 401|403 404|409 403 404|403 403 403"),
    # share links are managed by the county doctor and the coordinator; readers are refused by role, whatever the id
    R("GET ~/share-links",                                "returned",    "401 401 401|200 404|403 403 403|403 200 403"),
    R("POST ~/share-links",                               "returned",    "401 401 401|201 404|403 403 403|403 201 403"),
    R("POST ~/share-links",                               "offered",     "401 401 401|409 404|403 403 403|403 409 403"),
    R("POST /api/share-links/{link_id}/revoke",           "returned",    "401 401 401|200 404|403 403 403|403 200 403"),
    R("GET /api/share-links/{link_id}/accesses",          "returned",    "401 401 401|200 404|403 403 403|403 200 403"),
    # the patient's door: no account, the birth date is the second factor; a stray header changes nothing
    R("POST /api/share/{token}",                          "returned",    "200 200 200|200 200|200 200 200|200 200 200"),
    # key images need the short-lived signature handed out by a successful POST above; no header replaces it
    R("GET /api/share/{token}/images/{sop_instance_uid}", "returned",    "403 403 403|403 403|403 403 403|403 403 403"),
    # a hospital's gateway keys: its coordinator or an admin (h-anping has no coordinator of its own)
    R("POST /api/hospitals/{hospital_id}/api-keys",       None,          "401 401 401|403 403|403 403 403|403 403 201"),
    R("GET /api/hospitals/{hospital_id}/api-keys",        None,          "401 401 401|403 403|403 403 403|403 403 200"),
    R("DELETE /api/hospitals/{hospital_id}/api-keys/{key_id}", None,     "401 401 401|403 403|403 403 403|403 403 204"),
    # what its gateway quarantined: the same people see it; only a gateway's API key reports it (none in the matrix)
    R("GET /api/hospitals/{hospital_id}/gateway-quarantine", None,       "401 401 401|403 403|403 403 403|403 403 200"),
    R("PUT /api/gateway-quarantine",                      None,          "401 401 401|403 403|403 403 403|403 403 403"),
    # uploads are stored for the uploader's hospital; here the body has no files, so the granted get 422
    R("POST /api/studies/upload",                         None,          "401 401 401|422 422|403 403 403|403 422 403"),
    # the admin API: admins only; the granted calls act on the matrix's own subjects (ADMIN_COUNTY and co.)
    R("GET /api/admin/hospitals",                         None,          "401 401 401|403 403|403 403 403|403 403 200"),
    R("POST /api/admin/hospitals",                        None,          "401 401 401|403 403|403 403 403|403 403 201"),
    R("PUT /api/admin/hospitals/{hospital_id}",           None,          "401 401 401|403 403|403 403 403|403 403 200"),
    R("GET /api/admin/agreements",                        None,          "401 401 401|403 403|403 403 403|403 403 200"),
    R("POST /api/admin/agreements",                       None,          "401 401 401|403 403|403 403 403|403 403 201"),
    R("PUT /api/admin/agreements/{agreement_id}",         None,          "401 401 401|403 403|403 403 403|403 403 200"),
    R("GET /api/admin/users",                             None,          "401 401 401|403 403|403 403 403|403 403 200"),
    R("POST /api/admin/users",                            None,          "401 401 401|403 403|403 403 403|403 403 201"),
    R("PUT /api/admin/users/{user_id}",                   None,          "401 401 401|403 403|403 403 403|403 403 200"),
    R("POST /api/admin/users/{user_id}/password",         None,          "401 401 401|403 403|403 403 403|403 403 204"),
    R("GET /api/admin/changes",                           None,          "401 401 401|403 403|403 403 403|403 403 200"),
    # the in-house reading policy (本院写片) of the matrix's own county: made, read, then removed, in this order
    R(f"PUT {IN_HOUSE}",                                  None,          "401 401 401|403 403|403 403 403|403 403 201"),
    R(f"GET {IN_HOUSE}",                                  None,          "401 401 401|403 403|403 403 403|403 403 200"),
    R(f"DELETE {IN_HOUSE}",                               None,          "401 401 401|403 403|403 403 403|403 403 204"),
    # the directory: names for everyone signed in; agreements scoped to the caller's hospital (test_admin.py)
    R("GET /api/hospitals",                               None,          "401 401 401|200 200|200 200 200|200 200 200"),
    R("GET /api/agreements",                              None,          "401 401 401|200 200|200 200 200|200 200 200"),
    # where a doctor may send a case of a modality (the referral form's picker): h-anping's own county doctors and
    # admins; the matrix sends no ?modality=, so those let in get 422 (the others are refused before it is read)
    R("GET /api/hospitals/{hospital_id}/reading-choices", None,          "401 401 401|422 403|403 403 403|403 403 422"),
    # a case's possible readers, for coordinators; the matrix sends no ?referral_id=, so the one let in gets 422
    R("GET /api/readers",                                 None,          "401 401 401|403 403|403 403 403|403 422 403"),
    # MDT consults ("@": /api/consults/{consult_id}). The matrix's consult is on an offered h-anping case, hosted by
    # liu.coord with wang.expert invited: its case's people see it (li.expert and chen.senior read for h-anping).
    R("GET /api/people",                                  None,          "401 401 401|200 200|200 200 200|200 200 200"),
    R("GET /api/consults",                                None,          "401 401 401|200 200|200 200 200|200 200 200"),
    # anyone in the referral requests one (the offered expert is not in it yet)
    R("POST /api/consults",                               "offered",     "401 401 401|201 404|403 403 404|201 201 403"),
    R("GET @",                 "consult:scheduled", "401 401 401|200 404|200 200 404|200 200 200"),
    R("GET @/messages",        "consult:scheduled", "401 401 401|200 404|200 200 404|200 200 200"),
    R("GET @/attendance",      "consult:open",      "401 401 401|200 404|200 200 404|200 200 200"),
    R("GET @/audit",           "consult:scheduled", "401 401 401|200 404|200 200 404|200 200 200"),
    # a coordinator, expert or senior of one of its hospitals schedules a requested one
    R("POST @/schedule",       "consult:requested", "401 401 401|403 404|200 200 404|200 200 403"),
    R("POST @/schedule",       "consult:scheduled", "401 401 401|403 404|409 409 404|409 409 403"),
    R("POST @/reschedule",     "consult:scheduled", "401 401 401|403 404|403 403 404|403 200 403"),
    R("POST @/reschedule",     "consult:open",      "401 401 401|403 404|403 403 404|403 409 403"),
    R("POST @/open",           "consult:scheduled", "401 401 401|403 404|403 403 404|403 200 403"),
    R("POST @/hand-over",      "consult:scheduled", "401 401 401|403 404|403 403 404|403 200 403"),
    R("POST @/conclude",       "consult:open",      "401 401 401|403 404|403 403 404|403 200 403"),
    R("POST @/conclude",       "consult:scheduled", "401 401 401|403 404|403 403 404|403 409 403"),
    R("POST @/cancel",         "consult:scheduled", "401 401 401|403 404|403 403 404|403 200 403"),
    # the host and the invited chat; seeing a consult is not taking part in it
    R("POST @/messages",       "consult:scheduled", "401 401 401|403 404|201 403 404|403 201 403"),
    # recording: the host and the invited consent, and they alone play what was recorded (a file the cell places)
    R("POST @/recording-consent", "consult:scheduled", "401 401 401|403 404|200 403 404|403 200 403"),
    R("GET @/recordings",      "consult:scheduled", "401 401 401|403 404|200 403 404|403 200 403"),
    R("GET @/recordings/{name}", "consult:scheduled", "401 401 401|403 404|200 403 404|403 200 403"),
    # report search: every person who reads or sends cases; what each finds is their access rule's (test_search_*)
    R("GET /api/search",                                  None,          "401 401 401|200 200|200 200 200|200 200 200"),
    # the matrix sends no ?prefix=, so everyone let in gets 422
    R("GET /api/search/suggestions",                      None,          "401 401 401|422 422|422 422 422|422 422 422"),
    R("GET /api/search/similar/{referral_id}",            "returned",    "401 401 401|200 404|200 200 404|200 200 200"),
    # retention (docs/retention.md): admins set policies, coordinators read them; a study's retention, holds and
    # deletion for admins and coordinators who can see the study. The matrix names no stored study or hold, so
    # those let in get 404 (test_retention.py has the granted calls)
    R("GET /api/retention/policies",                      None,          "401 401 401|403 403|403 403 403|403 200 200"),
    R("PUT /api/retention/policies",                      None,          "401 401 401|403 403|403 403 403|403 403 200"),
    R("GET /api/retention/events",                        None,          "401 401 401|403 403|403 403 403|403 403 200"),
    R("GET /api/retention/studies/{study_instance_uid}",  None,          "401 401 401|403 403|403 403 403|403 404 404"),
    R("PUT /api/retention/studies/{study_instance_uid}/encounter", None, "401 401 401|403 403|403 403 403|403 404 404"),
    R("POST /api/retention/studies/{study_instance_uid}/holds", None,    "401 401 401|403 403|403 403 403|403 404 404"),
    R("POST /api/retention/holds/{hold_id}/release",      None,          "401 401 401|403 403|403 403 403|403 404 404"),
    R("DELETE /api/studies/{study_instance_uid}",         None,          "401 401 401|403 403|403 403 403|403 404 404"),
    # reports for a county PACS: only a hospital's gateway, with its API key (test_report_to_pacs.py), never a person
    R("GET /api/pacs-deliveries",                         None,          "401 401 401|403 403|403 403 403|403 403 403"),
    R("GET /api/pacs-deliveries/{delivery_id}/instance",  None,          "401 401 401|403 403|403 403 403|403 403 403"),
    R("POST /api/pacs-deliveries/{delivery_id}/outcome",  None,          "401 401 401|403 403|403 403 403|403 403 403"),
    # the same deliveries as people see them: the sending hospitals' people and coordinators, admins; an admin or the
    # hospital's coordinator sends a failed one again (the matrix names no delivery: those let in get 404)
    R("GET /api/report-deliveries",                       None,          "401 401 401|200 200|403 403 403|403 200 200"),
    R("POST /api/report-deliveries/{delivery_id}/retry",  None,          "401 401 401|403 403|403 403 403|403 404 404"),
)
# fmt: on


def _fresh(row: Row, code: int) -> bool:
    return row.route in WORKFLOW_ACTIONS and code < 300


def _fresh_consult(row: Row, code: int) -> bool:
    return row.route in CONSULT_ACTIONS and code < 300


CELLS = [
    pytest.param(row, caller, code, id=f"{row} {caller.key}")
    for row in MATRIX
    if row.route not in STREAMS
    for caller, code in zip(COLUMNS, row.codes, strict=True)
]
# Event streams never end on their own: their cells run over real HTTP and close once the status is known.
STREAM_CELLS = [
    pytest.param(row, caller, code, id=f"{row} {caller.key}")
    for row in MATRIX
    if row.route in STREAMS
    for caller, code in zip(COLUMNS, row.codes, strict=True)
]


# ---- the cases the matrix acts on ---------------------------------------------------------------
@dataclass
class Pool:
    shared: dict[str, str]  # state -> a referral refused cells may share (they change nothing)
    fresh: dict[tuple[str, str], str]  # (row, caller) -> a referral of its own for a granted action
    qingshan: str  # an offered case from h-qingshan
    consults: dict[str, str] = field(default_factory=dict)  # state -> a consult refused cells may share


async def _add_admin_subjects(engine: AsyncEngine) -> None:
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(insert(hospitals).values(id=ADMIN_COUNTY, **ADMIN_COUNTY_BODY, created_at=now)
                           .on_conflict_do_nothing())  # fmt: skip
        await conn.execute(
            insert(agreements).values(id=ADMIN_AGREEMENT, **ADMIN_AGREEMENT_BODY, terms={}, created_at=now)
            .on_conflict_do_nothing()
        )  # fmt: skip
        await conn.execute(
            insert(users).values(id=ADMIN_USER, **ADMIN_USER_BODY, password_hash="-", created_at=now)
            .on_conflict_do_nothing()
        )  # fmt: skip


async def _add_unlicensed_expert(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(users)
            .values(
                id=UNLICENSED,
                username=UNLICENSED,
                password_hash=PasswordHasher().hash(DEMO_PASSWORD),
                display_name="周无证 Zhou (no licence)",
                role="expert",
                hospital_id="h-provincial",
                title="主治医师",
                created_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing()
        )


@pytest.fixture(scope="module")
async def pool(api: Api, engine: AsyncEngine) -> Pool:
    """Every referral the matrix needs, walked to its state concurrently before the first cell runs."""
    await _add_unlicensed_expert(engine)
    await _add_admin_subjects(engine)
    await warm_tokens(api, [c.username for c in COLUMNS if c.username])
    shared_states = sorted({row.referral_state for row in MATRIX if row.referral_state})
    fresh_cells = [
        (row, c.key)
        for row in MATRIX
        for c, code in zip(COLUMNS, row.codes, strict=True)
        if _fresh(row, code) and row.referral_state
    ]
    wanted = shared_states + [row.referral_state for row, _ in fresh_cells if row.referral_state]
    qingshan, rids = await asyncio.gather(
        walk(api, engine, "offered", doctor="sun.qingshan", patient=QS_PATIENT, difficult=True),
        walk_many(api, engine, wanted, patient=PATIENT),
    )
    shared = dict(zip(shared_states, rids[: len(shared_states)], strict=True))
    fresh = {(str(row), key): rid for (row, key), rid in zip(fresh_cells, rids[len(shared_states) :], strict=True)}
    return Pool(shared, fresh, qingshan)


async def _context(api: Api, pool: Pool, row: Row, caller: Caller, code: int) -> dict[str, str]:
    """Values for the row's path parameters; links are made fresh so a revoke cannot spill into another cell."""
    ctx: dict[str, str] = {}
    if row.referral_state:
        ctx["referral_id"] = (
            pool.fresh.pop((str(row), caller.key)) if _fresh(row, code) else pool.shared[row.referral_state]
        )
    if row.consult_state:
        state = row.consult_state
        if _fresh_consult(row, code):
            ctx["consult_id"] = await _make_consult(api, pool.shared["offered"], state)
        else:
            if state not in pool.consults:
                pool.consults[state] = await _make_consult(api, pool.shared["offered"], state)
            ctx["consult_id"] = pool.consults[state]
    if "{link_id}" in row.path or "{token}" in row.path:
        link = await api.ok("zhao.anping", "POST", f"/api/referrals/{ctx['referral_id']}/share-links", 201, json={})
        ctx["link_id"], ctx["token"] = link["link_id"], link["token"]
    if "{sop_instance_uid}" in row.path:
        ctx["sop_instance_uid"] = "1.2.826.0.1.3680043.8.498.1"
    if "{hospital_id}" in row.path:
        ctx["hospital_id"] = "h-anping"
    if "{study_instance_uid}" in row.path:
        ctx["study_instance_uid"] = "1.2.826.0.1.3680043.8.498.404"  # no such study
    if "{audit_id}" in row.path:
        ctx["audit_id"] = "qa-20000101-0000000000"  # no such audit
    if "{name}" in row.path:
        ctx["name"] = "001-wang.expert-p1-0123abcd.webm"  # placed by _cell under the consult's recordings
    if "{delivery_id}" in row.path:
        ctx["delivery_id"] = "999999"  # no such delivery: a person is refused before it is looked up
    if "{hold_id}" in row.path:
        ctx["hold_id"] = "hold-000000000000"  # no such hold
    if row.path.startswith("/api/admin/"):
        ctx.update(hospital_id=ADMIN_COUNTY, agreement_id=ADMIN_AGREEMENT, user_id=ADMIN_USER)
    if "{key_id}" in row.path:
        key = await api.ok("admin", "POST", "/api/hospitals/h-anping/api-keys", 201, json={"label": "to revoke"})
        ctx["key_id"] = key["id"]
    if "{notification_id}" in row.path:
        inbox = (await api.ok("zhao.anping", "GET", "/api/notifications"))["items"]
        assert inbox, "zhao.anping should have been told about the returned case"
        ctx["notification_id"] = str(inbox[0]["id"])
    return ctx


async def _make_consult(api: Api, referral_id: str, state: str) -> str:
    """A consult on the case: requested by its county doctor, or scheduled by liu.coord (host) with wang.expert."""
    if state == "requested":
        body: dict[str, Any] = {"title": "矩阵 MDT", "referral_id": referral_id}
        return str((await api.ok("zhao.anping", "POST", "/api/consults", 201, json=body))["id"])
    body = {"title": "矩阵 MDT", "referral_id": referral_id, "schedule": consult_plan(("wang.expert",))}
    cid = str((await api.ok("liu.coord", "POST", "/api/consults", 201, json=body))["id"])
    if state == "open":
        await api.ok("liu.coord", "POST", f"/api/consults/{cid}/open", json={})
    return cid


async def _consult_steps(engine: AsyncEngine, consult_id: str) -> tuple[int, int]:
    """(projection seq, audit events) of a consult."""
    async with engine.connect() as conn:
        seq = await conn.scalar(select(consults.c.last_seq).where(consults.c.id == consult_id))
        events = await conn.scalar(
            select(func.count()).select_from(consult_events).where(consult_events.c.consult_id == consult_id)
        )
    return int(seq or 0), int(events or 0)


async def _link_revoked(engine: AsyncEngine, link_id: str) -> bool:
    async with engine.connect() as conn:
        return await conn.scalar(select(share_links.c.revoked_at).where(share_links.c.id == link_id)) is not None


# ---- the tests ----------------------------------------------------------------------------------
async def test_every_endpoint_has_a_row(settings: Settings, engine: AsyncEngine, temporal_client: Client) -> None:
    # DICOMweb routes have their own matrix (test_dicomweb_access.py): their callers include gateways; so have the
    # teaching routes (test_teaching_access.py) and the lecture routes (test_lecture_access.py): their callers include
    # educators. The viewer's routes and the web app's catch-all serve public static files; all data comes through
    # the API. The cloud film routes' callers include patients and clinicians holding a QR: test_cloud_film_access.py.
    routes = {
        r
        for r in api_endpoints(create_app(settings, engine, temporal_client))
        if not r[1].startswith(("/dicomweb", "/viewer", "/api/teaching", "/api/lectures", *CLOUD_FILM_PREFIXES))
        and r[1] != "/{rel:path}"
    }
    assert len(routes) > 20, routes
    rows = {(row.method, row.route) for row in MATRIX}
    assert routes - rows == set(), "endpoints without a row in the authorization matrix"
    assert rows - routes == set(), "matrix rows for endpoints the app does not have"
    for method, route in routes:
        if "{referral_id}" in route and method != "GET":
            assert any(r.route == route and r.method == method and any(c < 300 for c in r.codes) for r in MATRIX), (
                f"{method} {route}: no row shows who may do it"
            )


def _searches(row: object) -> bool:
    return isinstance(row, Row) and row.route.startswith("/api/search")


@pytest.mark.parametrize(("row", "caller", "expected"), [c for c in CELLS if not _searches(c.values[0])])
async def test_matrix(
    api: Api, engine: AsyncEngine, settings: Settings, pool: Pool, row: Row, caller: Caller, expected: int
) -> None:
    await _cell(api, engine, settings, pool, row, caller, expected)


@pytest.mark.parametrize(("row", "caller", "expected"), [c for c in CELLS if _searches(c.values[0])])
async def test_search_matrix(
    search_api: Api, engine: AsyncEngine, settings: Settings, pool: Pool, row: Row, caller: Caller, expected: int
) -> None:
    """The search rows, through the API with search on: only these cells pay for an OpenSearch node."""
    await _cell(search_api, engine, settings, pool, row, caller, expected)


async def _cell(
    api: Api, engine: AsyncEngine, settings: Settings, pool: Pool, row: Row, caller: Caller, expected: int
) -> None:
    ctx = await _context(api, pool, row, caller, expected)
    if "name" in ctx:  # a recorded file of the consult, as its live room writes them
        placed = settings.recordings_root() / "consults" / ctx["consult_id"] / ctx["name"]
        placed.parent.mkdir(parents=True, exist_ok=True)
        placed.write_bytes(b"\x1aE\xdf\xa3 webm")
    rid, cid = ctx.get("referral_id"), ctx.get("consult_id")
    before = await seq_and_state(engine, rid) if rid else None
    consult_before = await _consult_steps(engine, cid) if cid else None
    headers = await caller.headers(api, settings)
    async with asyncio.timeout(60):
        r = await api.client.request(row.method, row.route.format(**ctx), headers=headers, json=row.body(ctx))

    assert r.status_code == expected, f"{row} as {caller.key}: {r.status_code} {r.text}"
    if expected in ERRORS:
        assert r.json()["error"] == ERRORS[expected], r.text
    if rid and before:
        after = await seq_and_state(engine, rid)
        if _fresh(row, expected):
            assert after[1] > before[1] and after[2] > before[2], "a granted action must be recorded"
        else:
            assert after == before, f"{row} as {caller.key} changed the case: {before} -> {after}"
    if cid and consult_before:
        consult_after = await _consult_steps(engine, cid)
        if _fresh_consult(row, expected):
            assert consult_after[0] > consult_before[0] and consult_after[1] > consult_before[1], "not recorded"
        else:
            assert consult_after == consult_before, f"{row} as {caller.key} changed the consult"
    if "link_id" in ctx and row.route.endswith("/revoke"):
        assert await _link_revoked(engine, ctx["link_id"]) == (expected == 200)
    ghosts = (
        ("referral_id", GHOST_REFERRAL),
        ("link_id", GHOST_LINK),
        ("notification_id", "999999999"),
        ("consult_id", "con-20000101-0000000000"),
    )
    for name, ghost in ghosts:
        if expected == 404 and f"{{{name}}}" in row.route:
            # Outside the caller's scope reads exactly like an id that does not exist.
            g = await api.client.request(
                row.method, row.route.format(**{**ctx, name: ghost}), headers=headers, json=row.body(ctx)
            )
            assert g.status_code == 404
            assert json.loads(r.text.replace(ctx[name], ghost)) == g.json()
            if name == "link_id":
                assert str(rid) not in r.text, "a link id must not lead to the referral behind it"


@pytest.fixture(scope="module")
async def stream_url(
    worker: None, temporal_client: Client, engine: AsyncEngine, settings: Settings
) -> AsyncIterator[str]:
    """The API over real HTTP with its lifespan run (the event hub listens), for the streaming rows."""
    app = create_app(settings, engine, temporal_client)
    async with app.router.lifespan_context(app), serve(app) as url:
        yield url


@pytest.mark.parametrize(("row", "caller", "expected"), STREAM_CELLS)
async def test_stream_matrix(
    api: Api, settings: Settings, pool: Pool, stream_url: str, row: Row, caller: Caller, expected: int
) -> None:
    headers = await caller.headers(api, settings)
    async with (
        asyncio.timeout(30),
        httpx.AsyncClient(base_url=stream_url, timeout=httpx.Timeout(10.0)) as client,
        client.stream(row.method, row.route, headers=headers) as r,
    ):
        assert r.status_code == expected, f"{row} as {caller.key}: {r.status_code} {(await r.aread())!r}"
        if expected in ERRORS:
            assert json.loads(await r.aread())["error"] == ERRORS[expected]
        else:  # the first event says the stream is open; leaving the block closes it
            lines = r.aiter_lines()
            assert [await anext(lines), await anext(lines)][1] == "event: ready"


@pytest.mark.parametrize(("case_from", "viewer"), [("h-anping", "sun.qingshan"), ("h-qingshan", "zhao.anping")])
async def test_a_county_cannot_see_the_other_countys_cases(
    api: Api,
    settings: Settings,
    engine: AsyncEngine,
    temporal_client: Client,
    pool: Pool,
    case_from: str,
    viewer: str,
) -> None:
    """Every referral route, both directions: 404 (or the role refusal), word for word the answer for a missing id."""
    rid = pool.shared["offered"] if case_from == "h-anping" else pool.qingshan
    owner = "zhao.anping" if case_from == "h-anping" else "sun.qingshan"
    assert (await api.ok(owner, "GET", f"/api/referrals/{rid}"))["requesting_hospital_id"] == case_from
    before = await seq_and_state(engine, rid)
    routes = sorted(e for e in api_endpoints(create_app(settings, engine, temporal_client)) if "{referral_id}" in e[1])
    assert len(routes) > 10, routes
    ghost = GHOST_REFERRAL
    for method, path in routes:
        body = Row(method, path, "offered").body()
        seen = await api.call(viewer, method, path.format(referral_id=rid), json=body)
        unknown = await api.call(viewer, method, path.format(referral_id=ghost), json=body)
        # 404; or 403 when the route is closed to the viewer's role whatever the case (teaching proposals are the
        # educators'), which tells nothing either: the answer must be word for word the one for a missing id.
        assert seen.status_code in (403, 404), f"{method} {path}: {seen.status_code} {seen.text}"
        assert seen.status_code == 404 or seen.json()["error"] == "forbidden", f"{method} {path}: {seen.text}"
        assert json.loads(seen.text.replace(rid, ghost)) == unknown.json()
    assert await seq_and_state(engine, rid) == before
    worklist = await api.ok(viewer, "GET", "/api/referrals", params={"hospital_id": case_from, "limit": 500})
    assert rid not in {item["id"] for item in worklist["items"]}
    assert worklist["items"] == []  # filtering by the other hospital yields nothing, not their cases


async def test_unlicensed_expert_sees_nothing_of_the_county(api: Api, pool: Pool) -> None:
    worklist = (await api.ok(UNLICENSED, "GET", "/api/referrals"))["items"]
    assert worklist == []
    r = await api.call(UNLICENSED, "GET", f"/api/referrals/{pool.shared['offered']}")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
