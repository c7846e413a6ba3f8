"""Teaching cases: flagging, the educators' proposals queue and curation, the library, unknown-case attempts, a
doctor's history and collections. Changes to a case go to its TeachingCaseWorkflow as Updates."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from yilian.api import teaching_service as service
from yilian.api.action_routes import ActionRoute, add_action_routes
from yilian.api.deps import Engine, TeachingCommandsDep, require_role
from yilian.api.models.teaching import (
    Attempt,
    Collection,
    CollectionDetail,
    Facets,
    HistoryItem,
    LibraryPage,
    Nomination,
    Proposal,
    ProposalDecided,
    TeachingCaseDetail,
    UnknownCase,
)
from yilian.api.schemas import Page, RequestBody
from yilian.db.engine import reading
from yilian.db.queries import teaching as q
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import Role
from yilian.domain.teaching import (
    ICD10,
    LIST_MAX,
    REPORT_MAX,
    REVIEWED_MAX,
    TEACHING_GRANTS,
    TITLE_MAX,
    Certainty,
    Curation,
    Difficulty,
    ProposalDecision,
    TeachingAction,
    TeachingState,
    Visibility,
)
from yilian.domain.teaching_io import CurationInput, EducatorInput

router = APIRouter(prefix="/api/teaching", tags=["teaching"])

Educator = Annotated[Principal, Depends(require_role(Role.EDUCATOR))]
Learner = Annotated[Principal, Depends(require_role(*TEACHING_GRANTS))]  # every signed-in doctor
Flagger = Annotated[Principal, Depends(require_role(Role.EXPERT, Role.SENIOR, Role.EDUCATOR))]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0)]


# ---- bodies -------------------------------------------------------------------------------------
class NominationBody(RequestBody):
    referral_id: str = Field(min_length=1, max_length=64)


class CommentBody(RequestBody):
    comment: str = Field(default="", max_length=2000)


class CurationBody(RequestBody):
    """A new version: the fields sent replace the current version's, the others stay as they are."""

    title: str = Field(default="", max_length=TITLE_MAX)
    diagnosis: str = Field(default="", max_length=8000)
    icd10: str = Field(default="", max_length=16, pattern=ICD10.pattern + "|^$")
    differential: list[str] = Field(default_factory=list, max_length=LIST_MAX)
    teaching_points: str = Field(default="", max_length=8000)
    key_images: list[str] = Field(default_factory=list, max_length=LIST_MAX)
    modality: str = Field(default="", max_length=16)
    body_part: str = Field(default="", max_length=64)
    difficulty: Difficulty = Difficulty.INTERMEDIATE
    tags: list[str] = Field(default_factory=list, max_length=LIST_MAX)
    certainty: Certainty = Certainty.PRESUMPTIVE
    visibility: Visibility = Visibility.DRAFT
    history: str = Field(default="", max_length=REPORT_MAX)
    findings: str = Field(default="", max_length=REPORT_MAX)
    impression: str = Field(default="", max_length=REPORT_MAX)
    reviewed_images: list[str] = Field(default_factory=list, max_length=REVIEWED_MAX)
    comment: str = Field(default="", max_length=2000, description="what this version changes")

    def curation(self, current: Curation) -> Curation:
        return replace(current, **self.model_dump(exclude_unset=True, exclude={"comment"}))


class AttemptBody(RequestBody):
    impression: str = Field(min_length=1, max_length=8000)


class CollectionBody(RequestBody):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)


class CollectionCases(RequestBody):
    case_ids: list[str] = Field(max_length=200)


# ---- capture ------------------------------------------------------------------------------------
@router.post("/nominations", status_code=201)
async def nominate(
    body: NominationBody, engine: Engine, commands: TeachingCommandsDep, principal: Flagger
) -> Nomination:
    """Flag a signed case as a teaching case in one click: its reader, its second reader, or an educator (whose own
    flag is accepted at once). A case already flagged is a 409 naming it."""
    result = await service.nominate(engine, commands, principal, body.referral_id)
    return Nomination(case_id=result.case_id, referral_id=body.referral_id, state=result.state)


@router.get("/proposals")
async def list_proposals(engine: Engine, _: Educator, limit: Limit = 50, offset: Offset = 0) -> Page[Proposal]:
    """Signed cases worth a look (minor or major discrepancy, critical finding, rare diagnosis), undecided."""
    async with reading(engine) as conn:
        rows = await q.proposals(conn, limit=limit, offset=offset)
    return Page[Proposal].of([Proposal(**r) for r in rows], limit=limit, offset=offset)


@router.post("/proposals/{referral_id}/accept", status_code=201)
async def accept_proposal(
    referral_id: str, engine: Engine, commands: TeachingCommandsDep, principal: Educator
) -> ProposalDecided:
    case_id = await service.decide_proposal(engine, commands, principal, referral_id, ProposalDecision.ACCEPTED)
    return ProposalDecided(referral_id=referral_id, decision=ProposalDecision.ACCEPTED, case_id=case_id)


@router.post("/proposals/{referral_id}/dismiss")
async def dismiss_proposal(
    referral_id: str, engine: Engine, commands: TeachingCommandsDep, principal: Educator
) -> ProposalDecided:
    await service.decide_proposal(engine, commands, principal, referral_id, ProposalDecision.DISMISSED)
    return ProposalDecided(referral_id=referral_id, decision=ProposalDecision.DISMISSED, case_id=None)


# ---- the library --------------------------------------------------------------------------------
@router.get("/cases")
async def library(
    engine: Engine,
    principal: Learner,
    q_: Annotated[str, Query(alias="q", max_length=200)] = "",
    modality: Annotated[str | None, Query(max_length=16)] = None,
    body_part: Annotated[str | None, Query(max_length=64)] = None,
    difficulty: Difficulty | None = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    state: TeachingState | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> LibraryPage:
    """The cases the caller may see (learners: published ones), filtered, with facet counts."""
    async with reading(engine) as conn:
        rows, facets = await q.library(
            conn, principal.role, q=q_, modality=modality, body_part=body_part,
            difficulty=str(difficulty) if difficulty else None, tag=tag, state=str(state) if state else None,
            full=principal.role is Role.EDUCATOR, limit=limit, offset=offset,
        )  # fmt: skip
    page = Page.of([service.card(r) for r in rows], limit=limit, offset=offset)
    return LibraryPage(**page.model_dump(), facets=Facets(**facets))


@router.get("/cases/{case_id}")
async def get_case(case_id: str, engine: Engine, principal: Learner) -> TeachingCaseDetail:
    """A case as the caller may see it; educators also get its source, the de-identification diff and its trail."""
    return await service.detail(engine, principal, case_id)


@router.get("/cases/{case_id}/unknown")
async def unknown_case(case_id: str, engine: Engine, principal: Learner) -> UnknownCase:
    """Unknown-case mode: the history and the images, not the answer."""
    return await service.unknown(engine, principal, case_id)


@router.post("/cases/{case_id}/attempts", status_code=201)
async def attempt(case_id: str, body: AttemptBody, engine: Engine, principal: Learner) -> Attempt:
    """The doctor's impression; the answer comes back with it, compared finding by finding."""
    return await service.attempt(engine, principal, case_id, body.impression)


# ---- curation (the educator's Updates) ----------------------------------------------------------
async def _act(
    engine: Engine, commands: TeachingCommandsDep, principal: Principal, case_id: str, action: TeachingAction,
    arg: EducatorInput | CurationInput,
) -> TeachingCaseDetail:  # fmt: skip
    await service.visible_case(engine, principal, case_id)
    result = await commands.act(case_id, action, arg)
    if result.leaks:
        raise YilianError(
            ErrorCode.CONFLICT,
            "the leak scan found identifying information: publishing is blocked",
            {"leaks": [leak.__dict__ for leak in result.leaks]},
        )
    return await service.detail(engine, principal, case_id)


async def _act_by_route(route: ActionRoute[TeachingAction], case_id: str, body: Any, engine: Engine,
                        commands: TeachingCommandsDep, principal: Educator) -> TeachingCaseDetail:  # fmt: skip
    return await _act(engine, commands, principal, case_id, route.action, await route.input(engine, principal, body))


def _educator(p: Principal, b: CommentBody) -> EducatorInput:
    return EducatorInput(p.actor, b.comment)


ACTION_ROUTES = (
    ActionRoute("accept", TeachingAction.ACCEPT, CommentBody, _educator),
    ActionRoute("dismiss", TeachingAction.DISMISS, CommentBody, _educator),
    ActionRoute("publish", TeachingAction.PUBLISH, CommentBody, _educator,
                doc="Runs the leak scan first: anything identifying left blocks it (409, with what was found)."),
    ActionRoute("unpublish", TeachingAction.UNPUBLISH, CommentBody, _educator),
)  # fmt: skip
add_action_routes(router, "case_id", ACTION_ROUTES[:2], _act_by_route, prefix="/cases")


@router.put("/cases/{case_id}/curation")
async def edit(
    case_id: str, body: CurationBody, engine: Engine, commands: TeachingCommandsDep, principal: Educator
) -> TeachingCaseDetail:
    """A new version of the curation (title, diagnosis, ... visibility, the de-identified texts as corrected)."""
    current = service.curation_of(await service.visible_case(engine, principal, case_id))
    arg = CurationInput(principal.actor, body.curation(current), body.comment)
    return await _act(engine, commands, principal, case_id, TeachingAction.EDIT, arg)


add_action_routes(router, "case_id", ACTION_ROUTES[2:], _act_by_route, prefix="/cases")  # after it, as documented


# ---- a doctor's own history ---------------------------------------------------------------------
@router.get("/history")
async def history(engine: Engine, principal: Learner, limit: Limit = 50, offset: Offset = 0) -> Page[HistoryItem]:
    """The cases the caller opened and attempted, newest first."""
    async with reading(engine) as conn:
        rows = await q.history(conn, principal.user_id, principal.role, limit=limit, offset=offset)
    return Page[HistoryItem].of([HistoryItem(case_id=r["id"], **{k: v for k, v in r.items() if k != "id"})
                                 for r in rows], limit=limit, offset=offset)  # fmt: skip


# ---- collections --------------------------------------------------------------------------------
@router.get("/collections")
async def list_collections(
    engine: Engine, principal: Learner, limit: Limit = 50, offset: Offset = 0
) -> Page[Collection]:
    async with reading(engine) as conn:
        rows = await q.collections(conn, principal.role, limit=limit, offset=offset)
    return Page[Collection].of([Collection(**r) for r in rows], limit=limit, offset=offset)


@router.post("/collections", status_code=201)
async def create_collection(body: CollectionBody, engine: Engine, principal: Educator) -> CollectionDetail:
    now = datetime.now(UTC)
    collection_id = f"col-{secrets.token_hex(5)}"
    async with engine.begin() as conn:
        await q.create_collection(conn, collection_id, body.title, body.description, principal.user_id, now)
    return await _collection(engine, principal, collection_id)


@router.get("/collections/{collection_id}")
async def get_collection(collection_id: str, engine: Engine, principal: Learner) -> CollectionDetail:
    return await _collection(engine, principal, collection_id)


@router.put("/collections/{collection_id}/cases")
async def set_collection_cases(
    collection_id: str, body: CollectionCases, engine: Engine, principal: Educator
) -> CollectionDetail:
    """The collection's cases in order (the whole list). Its owner only; every case must exist."""
    found = await _collection(engine, principal, collection_id)
    if found.owner_id != principal.user_id:
        raise YilianError(ErrorCode.FORBIDDEN, "only its owner edits a collection", {"owner_id": found.owner_id})
    ids = list(dict.fromkeys(body.case_ids))
    async with engine.begin() as conn:
        missing = set(ids) - await q.visible_ids(conn, ids, principal.role)
        if missing:
            raise YilianError(ErrorCode.VALIDATION_FAILED, "no such teaching cases", {"case_ids": sorted(missing)})
        await q.set_collection_cases(conn, collection_id, ids, datetime.now(UTC))
    return await _collection(engine, principal, collection_id)


async def _collection(engine: Engine, principal: Principal, collection_id: str) -> CollectionDetail:
    async with reading(engine) as conn:
        found = await q.collection(conn, collection_id, principal.role)
    if found is None:
        raise YilianError(ErrorCode.NOT_FOUND, f"no collection {collection_id}", {"collection_id": collection_id})
    items = [service.card(r) for r in found.pop("items")]
    return CollectionDetail(**found, cases=len(items), items=items)
