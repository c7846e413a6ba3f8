"""Report queries as OpenSearch bodies, and their answers as values: text with synonyms, facets, highlights.

A query is split into slots by the curated synonyms (synonyms.expand: 磨玻璃结节 / GGO / ground-glass nodule are
one slot); every slot must match, each of its terms as a phrase, in the present parts of the findings and the
impression unless negated and uncertain mentions are asked for too. Text in double quotes is one exact phrase.
The access filter is part of the query (it scores nothing and narrows the facet counts); chosen facet values go in
`post_filter`, and each facet counts under every choice but its own, so its numbers stay true while it is chosen.
Hits and facet counts are two requests (`hits_body`, `facets_body`): the counts are the expensive part on a large
index, and a search answers its hits without them when they fail or are late.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from yilian.search import synonyms
from yilian.search.index import SECTIONS, section_field

PRE, POST = "\ue000", "\ue001"  # highlight marks (private use: never in report text, and Java trim() keeps them)
_QUOTED = re.compile(r'"([^"]+)"')
IMPRESSION_BOOST = 2


class Sort(StrEnum):
    RELEVANCE = "relevance"
    DATE = "date"


class Facet(StrEnum):
    """The facets, named for people; FACET_FIELDS says which field each counts."""

    MODALITY = "modality"
    BODY_PART = "body_part"
    HOSPITAL = "hospital"
    READER = "reader"
    MONTH = "month"
    DISCREPANCY = "discrepancy"
    CRITICAL = "critical"


FACET_FIELDS: Mapping[Facet, str] = {
    Facet.MODALITY: "modality",
    Facet.BODY_PART: "body_part",
    Facet.HOSPITAL: "requesting_hospital_id",
    Facet.READER: "reader_id",
    Facet.MONTH: "signed_at",
    Facet.DISCREPANCY: "discrepancy",
    Facet.CRITICAL: "critical",
}
# A facet whose ids mean nothing to people carries the name the document holds beside them.
FACET_LABELS: Mapping[Facet, str] = {Facet.HOSPITAL: "requesting_hospital_name", Facet.READER: "reader_name"}
MONTH_FORMAT = "yyyy-MM"


@dataclass(frozen=True)
class ReportQuery:
    text: str = ""
    include_negated: bool = False  # also find negated and uncertain mentions ("未见结节" for 结节)
    chosen: Mapping[Facet, Sequence[str]] = field(default_factory=dict)
    sort: Sort = Sort.RELEVANCE
    offset: int = 0
    limit: int = 20


def slots(text: str) -> list[list[str]]:
    """The query's slots: each quoted phrase as itself, the rest through the synonyms."""
    phrases = [m.strip() for m in _QUOTED.findall(text) if m.strip()]
    rest = _QUOTED.sub(" ", text)
    return [[p] for p in phrases] + [s for s in synonyms.expand(rest) if s]


def text_fields(include_negated: bool) -> list[str]:
    status = None if include_negated else "present"
    fields: list[str] = []
    for section in SECTIONS:
        name = section_field(section, status)
        boost = f"^{IMPRESSION_BOOST}" if section == "impression" else ""
        fields += [f"{name}{boost}", f"{name}.en{boost}"]
    return fields


def text_clause(text: str, include_negated: bool) -> dict[str, Any] | None:
    """Every slot must match; a slot matches when any of its terms does, as a phrase."""
    fields = text_fields(include_negated)
    musts = [
        {
            "dis_max": {
                "queries": [{"multi_match": {"query": term, "type": "phrase", "fields": fields}} for term in slot]
            }
        }
        for slot in slots(text)
    ]
    if not musts:
        return None
    return {"bool": {"must": musts}}


def _choice(facet: Facet, values: Sequence[str]) -> dict[str, Any]:
    name = FACET_FIELDS[facet]
    if facet is Facet.MONTH:
        ranges = [{"range": {name: {"gte": v, "lt": f"{v}||+1M", "format": MONTH_FORMAT}}} for v in values]
        return {"bool": {"should": ranges, "minimum_should_match": 1}}
    if facet is Facet.CRITICAL:
        return {"terms": {name: [v == "true" for v in values]}}
    return {"terms": {name: list(values)}}


def _facet_agg(facet: Facet) -> dict[str, Any]:
    name = FACET_FIELDS[facet]
    if facet is Facet.MONTH:
        return {"date_histogram": {"field": name, "calendar_interval": "month", "format": MONTH_FORMAT,
                                   "min_doc_count": 1, "order": {"_key": "desc"}}}  # fmt: skip
    agg: dict[str, Any] = {"terms": {"field": name, "size": 30}}
    if facet in FACET_LABELS:
        agg["aggs"] = {"label": {"terms": {"field": FACET_LABELS[facet], "size": 1}}}
    return agg


def highlight(include_negated: bool) -> dict[str, Any]:
    status = None if include_negated else "present"
    names = [section_field(s, status) for s in SECTIONS]
    return {
        "type": "unified",
        "pre_tags": [PRE],
        "post_tags": [POST],
        "fragment_size": 120,
        "number_of_fragments": 3,
        "no_match_size": 0,
        "fields": {n: {} for name in names for n in (name, f"{name}.en")},
    }


def _query(q: ReportQuery, access: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    clause = text_clause(q.text, q.include_negated)
    return {"bool": {"filter": [access], **({"must": [clause]} if clause else {})}}, clause


def _chosen(q: ReportQuery) -> dict[Facet, dict[str, Any]]:
    return {f: _choice(f, v) for f, v in q.chosen.items() if v}


def hits_body(q: ReportQuery, access: dict[str, Any]) -> dict[str, Any]:
    """The hits request: access and text in `query`, chosen facets in `post_filter`; no aggregations (they are
    `facets_body`'s, a request of their own, so the hits never wait for the counts)."""
    query, clause = _query(q, access)
    chosen = _chosen(q)
    sort: list[Any] = (
        ["_score", {"signed_at": "desc"}] if q.sort is Sort.RELEVANCE and clause else [{"signed_at": "desc"}, "_score"]
    )
    body: dict[str, Any] = {
        "query": query,
        "sort": sort,
        "from": q.offset,
        "size": q.limit,
        "track_total_hits": True,
        "_source": {"excludes": [section_field(s, st) for s in SECTIONS for st in ("present", "negated", "uncertain")]},
    }
    if chosen:
        body["post_filter"] = {"bool": {"filter": list(chosen.values())}}
    if clause:
        body["highlight"] = highlight(q.include_negated)
    return body


def facets_body(q: ReportQuery, access: dict[str, Any], timeout: str | None = None) -> dict[str, Any]:
    """The facet counts as a `size: 0` request (which the shard request cache keeps): the same query as the hits,
    every facet counted under the other facets' choices. `timeout` stops the shards' collection early (the answer
    then says `timed_out` and its counts are partial)."""
    query, _ = _query(q, access)
    chosen = _chosen(q)
    aggs: dict[str, Any] = {}
    for facet in Facet:
        others = [c for f, c in chosen.items() if f is not facet]
        aggs[facet.value] = {
            "filter": {"bool": {"filter": others}} if others else {"match_all": {}},
            "aggs": {"values": _facet_agg(facet)},
        }
    body: dict[str, Any] = {"query": query, "aggs": aggs, "size": 0, "track_total_hits": False}
    if timeout:
        body["timeout"] = timeout
    return body


def similar_body(index: str, referral_id: str, access: dict[str, Any], limit: int = 10) -> dict[str, Any]:
    """Cases like this one: more_like_this on the present findings and impression (what the case has, not what it
    was found not to have), tuned for short reports (every term counts once it appears), same modality first."""
    mlt = {
        "more_like_this": {
            "fields": [section_field(s, "present") for s in SECTIONS],
            "like": [{"_index": index, "_id": referral_id}],
            "min_term_freq": 1,
            "min_doc_freq": 1,
            "max_query_terms": 40,
            "minimum_should_match": "30%",
            "include": False,
        }
    }
    return {
        "query": {"bool": {"must": [mlt], "filter": [access], "must_not": [{"ids": {"values": [referral_id]}}]}},
        "size": limit,
        "_source": {"excludes": [section_field(s, st) for s in SECTIONS for st in ("present", "negated", "uncertain")]},
    }


# --- answers -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    text: str
    hit: bool


@dataclass(frozen=True)
class Hit:
    referral_id: str
    score: float | None
    source: Mapping[str, Any]
    # field -> fragments, each fragment a list of pieces (highlighted or not), field names without ".en"
    highlights: Mapping[str, list[list[Piece]]]


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    label: str | None = None


@dataclass(frozen=True)
class SearchAnswer:
    total: int
    hits: list[Hit]
    facets: Mapping[Facet, list[FacetValue]]
    facets_available: bool  # False: the counts failed or were late, and `facets` is empty; the hits are whole
    took_ms: int


def pieces(fragment: str) -> list[Piece]:
    """'a\\x02b\\x03c' -> [a, b (hit), c]; adjacent hits (a bigram then its unigram) become one piece."""
    out: list[Piece] = []
    hit, buf = False, list[str]()
    for ch in [*fragment, POST if fragment.count(PRE) > fragment.count(POST) else ""]:
        if ch in (PRE, POST, ""):
            if buf:
                text = "".join(buf)
                if out and out[-1].hit == hit:
                    out[-1] = Piece(out[-1].text + text, hit)
                else:
                    out.append(Piece(text, hit))
                buf = []
            hit = ch == PRE
        else:
            buf.append(ch)
    return out


def _highlights(raw: Mapping[str, list[str]]) -> dict[str, list[list[Piece]]]:
    out: dict[str, list[list[Piece]]] = {}
    for name in sorted(raw, key=lambda n: n.endswith(".en")):  # the zh analysis first, English where it has none
        base = name.removesuffix(".en")
        if base not in out:
            out[base] = [pieces(f) for f in raw[name]]
    return out


def parse_hits(response: Mapping[str, Any]) -> list[Hit]:
    return [
        Hit(
            referral_id=str(h["_id"]),
            score=h.get("_score"),
            source=h.get("_source", {}),
            highlights=_highlights(h.get("highlight", {})),
        )
        for h in response["hits"]["hits"]
    ]


def parse_facets(response: Mapping[str, Any]) -> dict[Facet, list[FacetValue]]:
    facets: dict[Facet, list[FacetValue]] = {}
    for facet in Facet:
        buckets = response.get("aggregations", {}).get(facet.value, {}).get("values", {}).get("buckets", [])
        values = []
        for b in buckets:
            value = str(b.get("key_as_string", b["key"]))
            labels = b.get("label", {}).get("buckets", [])
            values.append(FacetValue(value, int(b["doc_count"]), str(labels[0]["key"]) if labels else None))
        facets[facet] = values
    return facets


def parse_answer(response: Mapping[str, Any], facets: Mapping[str, Any] | None) -> SearchAnswer:
    """The hits answer with the facets answer; `facets` None (they failed or did not come in time): no counts."""
    total = response["hits"]["total"]
    return SearchAnswer(
        total=int(total["value"] if isinstance(total, dict) else total),
        hits=parse_hits(response),
        facets=parse_facets(facets) if facets is not None else {},
        facets_available=facets is not None,
        took_ms=int(response.get("took", 0)),
    )
