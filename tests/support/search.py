"""Report search in tests: the session's OpenSearch node (stoppable and restartable on the same data and port),
signed reports made up for the index, and a fresh alias per test module."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from opensearchpy import AsyncOpenSearch

from yilian.domain.report import ReportKind, SignedReport, SignedSection
from yilian.runtime import opensearch
from yilian.runtime.opensearch import OpenSearchNode
from yilian.search import index as ix


@dataclass
class SearchNode:
    """The node the session's search tests share; restart() keeps its data and (when free) its port."""

    data_dir: Path | None  # None: a node we did not start (YILIAN_TEST_OPENSEARCH_URL)
    external_url: str | None = None
    node: OpenSearchNode | None = None

    @property
    def url(self) -> str:
        if self.node is not None:
            return self.node.url
        assert self.external_url, "the node is stopped"
        return self.external_url

    @property
    def restartable(self) -> bool:
        return self.data_dir is not None

    def start(self) -> None:
        assert self.data_dir is not None
        self.node = opensearch.start_node(self.data_dir)

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop()
            self.node = None


def fresh_alias(name: str) -> str:
    """An alias of the test's own: tests sharing a node never see one another's documents."""
    return f"t-{name}-{uuid.uuid4().hex[:6]}"


def signed(
    referral_id: str,
    findings: str,
    impression: str = "",
    *,
    version: int = 3,
    signed_at: datetime | None = None,
    modality: str = "CT",
    body_part: str = "chest",
    hospital: tuple[str, str] = ("h-anping", "安平县医院"),
    reader: tuple[str, str] = ("wang.expert", "王医生"),
    discrepancy: str | None = None,
    critical: bool = False,
    offered_to: str | None = None,
    reading_hospital_id: str = "h-provincial",
    addenda: tuple[tuple[str, str], ...] = (),
) -> SignedReport:
    sections = [SignedSection(ReportKind.FINAL, version, findings, impression)]
    sections += [SignedSection(ReportKind.ADDENDUM, version + 1 + i, f, im) for i, (f, im) in enumerate(addenda)]
    return SignedReport(
        referral_id=referral_id,
        report_version=version + len(addenda),
        signed_at=signed_at or datetime.now(UTC),
        modality=modality,
        body_part=body_part,
        priority="routine",
        study_instance_uid=f"1.2.826.0.1.{abs(hash(referral_id)) % 10**8}",
        requesting_hospital_id=hospital[0],
        requesting_hospital_name=hospital[1],
        reading_hospital_id=reading_hospital_id,
        reading_hospital_name="省人民医院",
        offered_to=offered_to,
        reader_id=reader[0],
        reader_name=reader[1],
        signer_id=reader[0],
        discrepancy=discrepancy,
        critical=critical,
        sections=tuple(sections),
    )


async def index_without_countable_facets(client: AsyncOpenSearch, alias: str, reports: Iterable[SignedReport]) -> None:
    """`reports` behind `alias` in an index whose `discrepancy` is a text field (as a hand-made or older mapping
    could have it): OpenSearch refuses to count a facet on it, so every facet request fails while hits answer."""
    mappings = copy.deepcopy(ix.MAPPINGS)
    mappings["properties"]["discrepancy"] = {"type": "text"}
    body = {**ix.index_body(), "mappings": mappings, "aliases": {alias: {}}}
    await client.indices.create(index=f"{alias}-v{ix.MAPPING_VERSION}-text-discrepancy", body=body)
    await ix.bulk_index(client, alias, [ix.report_document(r) for r in reports], refresh=True)
