"""Report search: find signed reports by what they say (zh, en, synonyms, negation-aware), similar cases, and
suggestions as you type. Results obey the worklist's access rule, applied inside the query; every search is
audited (who, what, how many found)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import StringConstraints

from yilian.api.deps import CaseCaller, Engine, ReportSearch, require_role
from yilian.api.models.search import ReportHit, SearchResults, Suggestion
from yilian.api.schemas import Page
from yilian.db.queries import search as queries
from yilian.domain.access import Principal
from yilian.domain.roles import Role
from yilian.search.query import Facet, ReportQuery, Sort, slots
from yilian.search.suggest import suggest

router = APIRouter(prefix="/api/search", tags=["search"])

SEARCHERS = (Role.COUNTY_DOCTOR, Role.COORDINATOR, Role.EXPERT, Role.SENIOR, Role.ADMIN)
Searcher = Annotated[Principal, Depends(require_role(*SEARCHERS))]
Values = Annotated[list[str] | None, Query(max_length=30)]
# Checked per value at the edge: OpenSearch answers 400 to an empty or malformed date or boolean, which would be
# our 500 (Schemathesis found `month=`).
Month = Annotated[str, StringConstraints(pattern=r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$")]
Flag = Annotated[str, StringConstraints(pattern=r"^(true|false)$")]


@router.get("")
async def search_reports(
    principal: Searcher,  # first: who may ask is settled before anything else (401/403, then 503)
    engine: Engine,
    index: ReportSearch,
    q: Annotated[str, Query(max_length=500, description='words, synonyms welcome; "quoted" for an exact phrase')] = "",
    include_negated: Annotated[bool, Query(description="also find negated and uncertain mentions")] = False,
    sort: Sort = Sort.RELEVANCE,
    modality: Values = None,
    body_part: Values = None,
    hospital: Values = None,
    reader: Values = None,
    month: Annotated[list[Month] | None, Query(max_length=30, description="yyyy-MM")] = None,
    discrepancy: Values = None,
    critical: Annotated[list[Flag] | None, Query(max_length=2, description="true | false")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> SearchResults:
    chosen = {
        Facet.MODALITY: modality,
        Facet.BODY_PART: body_part,
        Facet.HOSPITAL: hospital,
        Facet.READER: reader,
        Facet.MONTH: month,
        Facet.DISCREPANCY: discrepancy,
        Facet.CRITICAL: critical,
    }
    query = ReportQuery(
        text=q,
        include_negated=include_negated,
        chosen={f: v for f, v in chosen.items() if v},
        sort=sort,
        offset=offset,
        limit=limit,
    )
    answer = await index.search(principal, query)
    asked = {"q": q, "include_negated": include_negated, "sort": str(sort), "offset": offset,
             "facets": {str(f): list(v) for f, v in query.chosen.items()}}  # fmt: skip
    async with engine.begin() as conn:
        await queries.record_search(
            conn, principal, kind="search", query=asked, total=answer.total, at=datetime.now(UTC)
        )
    return SearchResults.of_answer(answer, limit=limit, offset=offset, slots=slots(q))


@router.get("/suggestions")
async def search_suggestions(
    principal: Searcher,
    prefix: Annotated[str, Query(min_length=1, max_length=50)],
    limit: Annotated[int, Query(ge=1, le=30)] = 10,
) -> Page[Suggestion]:
    """Terms of the curated dictionary (zh, en, abbreviations) for what is being typed."""
    return Page[Suggestion].of([Suggestion.of(s) for s in suggest(prefix, limit)], limit=limit)


@router.get("/similar/{referral_id}")
async def similar_cases(
    case: CaseCaller,  # first: 401, then 404 for a case one may not see, whether or not search is up
    engine: Engine,
    index: ReportSearch,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Page[ReportHit]:
    """Signed reports like this case's (on what it has, not what it was found not to have), among those the
    caller may see; empty while the case is unsigned."""
    principal, referral_id = case.principal, str(case.row["id"])
    hits = await index.similar(principal, referral_id, limit=limit)
    async with engine.begin() as conn:
        await queries.record_search(
            conn,
            principal,
            kind="similar",
            query={"referral_id": referral_id},
            total=len(hits),
            at=datetime.now(UTC),
        )
    return Page[ReportHit].of([ReportHit.of(h) for h in hits], limit=limit)
