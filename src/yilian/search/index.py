"""The report index: its analyzers and mapping, the document a signed report becomes, bulk indexing, the alias.

Chinese text goes through `yl_zh` (standard tokenizer, cjk_width, lowercase, cjk_bigram with unigrams: bigrams
rank and phrase-match domain compounds such as 磨玻璃结节, unigrams let 肝 or 肺 alone match), English through
`yl_en` (light stemming, no stop filter: "no" and "not" stay searchable), both at index and search time. Each
section (findings, impression) is indexed whole and split by the negation tagger into present, negated and
uncertain parts, each a field of its own; queries look at the present parts unless asked otherwise.

Documents are keyed by referral id and versioned by the report's newest version number (external_gte), so a
retried or late indexing never replaces a newer report. Readers and writers use an alias; a mapping change is a
new index filled from PostgreSQL and an atomic alias swap (search/reindex.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import RequestError
from opensearchpy.helpers import async_bulk

from yilian.domain.report import ReportKind, SignedReport
from yilian.search import negation

MAPPING_VERSION = 1
DEFAULT_ALIAS = "yilian-reports"
SECTIONS = ("findings", "impression")
STATUSES = ("present", "negated", "uncertain")

ANALYSIS: dict[str, Any] = {
    "filter": {
        "yl_cjk_bigram": {"type": "cjk_bigram", "output_unigrams": True},
        "yl_en_possessive": {"type": "stemmer", "language": "possessive_english"},
        "yl_en_stem": {"type": "stemmer", "language": "light_english"},
    },
    "analyzer": {
        "yl_zh": {"type": "custom", "tokenizer": "standard", "filter": ["cjk_width", "lowercase", "yl_cjk_bigram"]},
        "yl_en": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["cjk_width", "lowercase", "yl_en_possessive", "yl_en_stem"],
        },
    },
}


def _text() -> dict[str, Any]:
    # offsets: the unified highlighter reads postings instead of re-analysing the text.
    return {
        "type": "text",
        "analyzer": "yl_zh",
        "index_options": "offsets",
        "fields": {"en": {"type": "text", "analyzer": "yl_en", "index_options": "offsets"}},
    }


def _keyword() -> dict[str, Any]:
    return {"type": "keyword"}


def section_field(section: str, status: str | None) -> str:
    """`findings` (the whole section) or `findings_present` / `_negated` / `_uncertain`."""
    return section if status is None else f"{section}_{status}"


MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        **{section_field(s, st): _text() for s in SECTIONS for st in (None, *STATUSES)},
        **{f"concepts_{st}": _keyword() for st in STATUSES},
        "referral_id": _keyword(),
        "report_version": {"type": "integer"},
        "signed_at": {"type": "date"},
        "has_addendum": {"type": "boolean"},
        "modality": {"type": "keyword", "eager_global_ordinals": True},
        "body_part": {"type": "keyword", "eager_global_ordinals": True},
        "priority": _keyword(),
        "study_instance_uid": _keyword(),
        "requesting_hospital_id": {"type": "keyword", "eager_global_ordinals": True},
        "requesting_hospital_name": _keyword(),
        "reading_hospital_id": _keyword(),
        "reading_hospital_name": _keyword(),
        "offered_to": _keyword(),
        "reader_id": {"type": "keyword", "eager_global_ordinals": True},
        "reader_name": _keyword(),
        "signer_id": _keyword(),
        "discrepancy": _keyword(),
        "critical": {"type": "boolean"},
        "indexed_at": {"type": "date"},
    },
}


def index_body() -> dict[str, Any]:
    """Settings and mappings of a new report index (one shard, no replica: a single node stays green)."""
    return {
        "settings": {
            "index": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "1s"},
            "analysis": ANALYSIS,
        },
        "mappings": MAPPINGS,
    }


def new_index_name(alias: str, now: datetime | None = None) -> str:
    """A concrete index behind `alias`: the mapping version and a timestamp, so a reindex never reuses a name."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%f")
    return f"{alias}-v{MAPPING_VERSION}-{stamp}"


async def create_index(client: AsyncOpenSearch, name: str) -> None:
    """Create the concrete index `name` with the report mapping (no alias)."""
    await client.indices.create(index=name, body=index_body())
    await wait_started(client, name)


async def ensure_alias(client: AsyncOpenSearch, alias: str) -> str:
    """The index behind `alias`, created with the alias when there is none yet. The first index has a fixed name,
    so processes racing to create it (the API, the worker) end up with one index: the losers find it there."""
    current = await indices_of(client, alias)
    if current:
        # The alias comes into being with its index, whose shard may still be recovering in another process's hands.
        await wait_started(client, current[0])
        return current[0]
    name = f"{alias}-v{MAPPING_VERSION}-first"
    try:
        await client.indices.create(index=name, body={**index_body(), "aliases": {alias: {}}})
    except RequestError as exc:
        if exc.error != "resource_already_exists_exception":
            raise
        await client.indices.put_alias(index=name, name=alias)
    # The loser of the race must not read before the winner's shard has started.
    await wait_started(client, name)
    return name


async def wait_started(client: AsyncOpenSearch, name: str, *, within_s: float = 180.0) -> None:
    """Return once `name`'s shard has started; raise naming the index when it has not within `within_s`.

    One health call waits at most 30 s and then answers `timed_out` instead of failing, and a busy node can take
    longer than that to recover a new shard: reading it meanwhile gets 503 RECOVERING.
    """
    deadline = time.monotonic() + within_s
    while True:
        wait_s = max(1, min(30, round(deadline - time.monotonic())))
        health = await client.cluster.health(
            index=name,
            wait_for_status="green",
            params={"timeout": f"{wait_s}s", "request_timeout": wait_s + 10, "ignore": 408},
        )
        if not health.get("timed_out"):
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"the search index {name} did not start within {within_s:.0f} s: {health.get('status')}")


async def indices_of(client: AsyncOpenSearch, alias: str) -> list[str]:
    """The concrete indices `alias` points at (none when the alias does not exist)."""
    if not await client.indices.exists_alias(name=alias):
        return []
    found = await client.indices.get_alias(name=alias)
    return sorted(found)


# --- the document ------------------------------------------------------------------------------------


def split_by_status(text: str) -> dict[str, list[str]]:
    """The text's present, negated and uncertain parts (negation.segment), each a list of clauses."""
    parts: dict[str, list[str]] = {st: [] for st in STATUSES}
    for seg in negation.segment(text):
        piece = text[seg.start : seg.end].strip()
        if piece:
            parts[str(seg.status)].append(piece)
    return parts


def report_document(report: SignedReport, *, indexed_at: datetime | None = None) -> dict[str, Any]:
    """The document a signed report becomes: whole sections, their parts by assertion status, facets and parties.

    Addenda are indexed after the final report's text as further values of the same fields (a position gap keeps
    phrases from running across them). No patient name, id or birth date enters the index.
    """
    doc: dict[str, Any] = {section_field(s, st): [] for s in SECTIONS for st in (None, *STATUSES)}
    concepts: dict[str, set[str]] = {st: set() for st in STATUSES}
    for sec in report.sections:
        for section in SECTIONS:
            text: str = getattr(sec, section).strip()
            if not text:
                continue
            doc[section].append(text)
            for status, pieces in split_by_status(text).items():
                doc[section_field(section, status)].extend(pieces)
            for concept, status in negation.findings(text).items():
                concepts[str(status)].add(concept)
    doc.update({f"concepts_{st}": sorted(found) for st, found in concepts.items()})
    doc.update(
        referral_id=report.referral_id,
        report_version=report.report_version,
        signed_at=report.signed_at.isoformat(),
        has_addendum=any(sec.kind is ReportKind.ADDENDUM for sec in report.sections),
        modality=report.modality,
        body_part=report.body_part,
        priority=report.priority,
        study_instance_uid=report.study_instance_uid,
        requesting_hospital_id=report.requesting_hospital_id,
        requesting_hospital_name=report.requesting_hospital_name,
        reading_hospital_id=report.reading_hospital_id,
        reading_hospital_name=report.reading_hospital_name,
        offered_to=report.offered_to,
        reader_id=report.reader_id,
        reader_name=report.reader_name,
        signer_id=report.signer_id,
        discrepancy=report.discrepancy,
        critical=report.critical,
        indexed_at=(indexed_at or datetime.now(UTC)).isoformat(),
    )
    return doc


# --- writing -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkResult:
    indexed: int  # written (new, or the same version again)
    stale: int  # refused because the index already holds a newer version of that report


def _action(index: str, doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "_op_type": "index",
        "_index": index,
        "_id": doc["referral_id"],
        "version": doc["report_version"],
        "version_type": "external_gte",
        "_source": doc,
    }


async def bulk_index(
    client: AsyncOpenSearch, index: str, docs: Iterable[dict[str, Any]], *, chunk_size: int = 500, refresh: bool = False
) -> BulkResult:
    """Index `docs` (report_document()s) into `index` (an alias or a concrete index). A version conflict means a
    newer version is already there, which is success for an idempotent writer; any other failure raises."""
    indexed, errors = await async_bulk(
        client,
        (_action(index, d) for d in docs),
        chunk_size=chunk_size,
        raise_on_error=False,
        raise_on_exception=True,
        refresh=refresh,
        max_retries=3,
    )
    failures = errors if isinstance(errors, list) else []
    stale = [e for e in failures if _status(e) == 409]
    real = [e for e in failures if _status(e) != 409]
    if real:
        raise BulkIndexError(f"{len(real)} report(s) could not be indexed into {index}: {real[:3]}")
    return BulkResult(indexed=int(indexed), stale=len(stale))


def _status(error: Any) -> int | None:
    item: Any = next(iter(error.values()), {}) if isinstance(error, dict) else {}
    status = item.get("status") if isinstance(item, dict) else None
    return status if isinstance(status, int) else None


class BulkIndexError(RuntimeError):
    """Some documents were refused for a reason other than a newer version being there already."""


async def index_report(client: AsyncOpenSearch, index: str, report: SignedReport, *, refresh: bool = False) -> bool:
    """Index one signed report; False when the index already held a newer version of it."""
    result = await bulk_index(client, index, [report_document(report)], refresh=refresh)
    return result.stale == 0


async def count(client: AsyncOpenSearch, index: str) -> int:
    found = await client.count(index=index)
    return int(found["count"])
