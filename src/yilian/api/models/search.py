"""Report search answers: hits with highlighted fragments, facet counts, suggestions."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from yilian.api.schemas import ApiModel, Page, Timestamp
from yilian.search.query import Facet, Hit, SearchAnswer
from yilian.search.suggest import Suggestion as SuggestionValue


class HighlightPiece(ApiModel):
    text: str
    hit: bool = Field(description="true: this piece matched the query (shown marked)")


class HighlightFragment(ApiModel):
    section: str = Field(description="findings | impression")
    pieces: list[HighlightPiece]


class ReportHit(ApiModel):
    """A signed report found: its case, its facets, where it matched. No patient identity is indexed."""

    referral_id: str
    signed_at: Timestamp
    modality: str
    body_part: str
    hospital_id: str
    hospital_name: str
    reader_id: str | None
    reader_name: str
    discrepancy: str | None = Field(description="the second reading's grade (agree | minor | major), if any")
    critical: bool
    has_addendum: bool
    study_instance_uid: str
    impression: str = Field(description="the signed impression (and addenda), for the result list")
    score: float | None = Field(description="relevance; null when sorted by date")
    highlights: list[HighlightFragment]

    @classmethod
    def of(cls, hit: Hit) -> ReportHit:
        s: dict[str, Any] = dict(hit.source)
        return cls(
            referral_id=hit.referral_id,
            signed_at=s["signed_at"],
            modality=s["modality"],
            body_part=s["body_part"],
            hospital_id=s["requesting_hospital_id"],
            hospital_name=s["requesting_hospital_name"],
            reader_id=s.get("reader_id"),
            reader_name=s.get("reader_name") or "",
            discrepancy=s.get("discrepancy"),
            critical=bool(s.get("critical")),
            has_addendum=bool(s.get("has_addendum")),
            study_instance_uid=s.get("study_instance_uid") or "",
            impression="\n".join(s.get("impression") or []),
            score=hit.score,
            highlights=[
                HighlightFragment(
                    section=name.split("_")[0],
                    pieces=[HighlightPiece(text=p.text, hit=p.hit) for p in fragment],
                )
                for name, fragments in hit.highlights.items()
                for fragment in fragments
            ],
        )


class FacetCount(ApiModel):
    value: str
    count: int
    label: str | None = Field(description="a name for people where the value is an id (hospital, reader)")


class SearchResults(Page[ReportHit]):
    """One page of reports found, how many in all, and the facets counted over all of them."""

    total: int = Field(description="reports found among those the caller may see")
    facets: dict[Facet, list[FacetCount]] = Field(description="empty when `facets_available` is false")
    facets_available: bool = Field(
        description="false: the facet counts failed or did not come in time; the hits and `total` are whole"
    )
    slots: list[list[str]] = Field(description="how the query was read: each slot and the synonyms it matched")
    took_ms: int

    @classmethod
    def of_answer(cls, answer: SearchAnswer, *, limit: int, offset: int, slots: list[list[str]]) -> SearchResults:
        items = [ReportHit.of(h) for h in answer.hits]
        more = offset + len(items) < answer.total
        return cls(
            items=items,
            limit=limit,
            offset=offset,
            next_offset=offset + len(items) if more and items else None,
            total=answer.total,
            facets={
                f: [FacetCount(value=v.value, count=v.count, label=v.label) for v in values]
                for f, values in answer.facets.items()
            },
            facets_available=answer.facets_available,
            slots=slots,
            took_ms=answer.took_ms,
        )


class Suggestion(ApiModel):
    text: str
    concept: str = Field(description="the synonym group: terms with the same concept mean the same thing")
    kind: str = Field(description="anatomy | finding | diagnosis | modality")

    @classmethod
    def of(cls, s: SuggestionValue) -> Suggestion:
        return cls(text=s.text, concept=s.concept, kind=s.kind)
