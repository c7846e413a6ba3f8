"""ReportIndex: the report index on an OpenSearch cluster, as the API and the indexing activity use it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as SearchConnectionError
from opensearchpy.exceptions import ConnectionTimeout, TransportError

from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.report import SignedReport
from yilian.search import index as ix
from yilian.search.access import visible_reports
from yilian.search.query import (
    Hit,
    ReportQuery,
    SearchAnswer,
    facets_body,
    hits_body,
    parse_answer,
    parse_hits,
    similar_body,
)

log = logging.getLogger(__name__)
# The facet counts' budget: OpenSearch stops collecting them after FACET_TIMEOUT_S (partial counts are shown as
# none), and the client waits a little longer for that answer. The hits keep the client's whole timeout.
FACET_TIMEOUT_S = 3.0


@contextlib.contextmanager
def _answering() -> Iterator[None]:
    """A node that cannot be reached is the catalogue's 503 for the person searching."""
    try:
        yield
    except (SearchConnectionError, ConnectionTimeout) as exc:
        raise YilianError(ErrorCode.SERVICE_UNAVAILABLE, "report search is unavailable; try again shortly") from exc


def connect(url: str, *, timeout: float = 10.0) -> AsyncOpenSearch:
    """An async client for `url` (http://host:port, or https with credentials in the URL); connects lazily."""
    return AsyncOpenSearch(hosts=[url], timeout=timeout, max_retries=0)


class ReportIndex:
    """Reads and writes through the alias; the alias and its first index are created on first use."""

    def __init__(
        self, client: AsyncOpenSearch, alias: str = ix.DEFAULT_ALIAS, *, facet_timeout_s: float = FACET_TIMEOUT_S
    ) -> None:
        self.client = client
        self.alias = alias
        self.facet_timeout_s = facet_timeout_s
        self._ready = False

    @classmethod
    def from_url(cls, url: str, alias: str = ix.DEFAULT_ALIAS) -> ReportIndex:
        return cls(connect(url), alias)

    async def ensure(self) -> None:
        if not self._ready:
            await ix.ensure_alias(self.client, self.alias)
            self._ready = True

    async def index(self, report: SignedReport, *, refresh: bool = False) -> bool:
        """Index one signed report; False when the index already holds a newer version of it."""
        await self.ensure()
        return await ix.index_report(self.client, self.alias, report, refresh=refresh)

    async def search(self, p: Principal, q: ReportQuery) -> SearchAnswer:
        """The hits and, asked at the same time in a request of their own, the facet counts; the hits are answered
        without counts when those fail or are late (503 only when the hits cannot be had)."""
        access = visible_reports(p)
        with _answering():
            await self.ensure()
            facets = asyncio.create_task(self._facets(q, access))
            try:
                response = await self.client.search(index=self.alias, body=hits_body(q, access))
            except BaseException:
                facets.cancel()
                raise
        return parse_answer(response, await facets)

    async def _facets(self, q: ReportQuery, access: dict[str, Any]) -> Mapping[str, Any] | None:
        """The facets answer, or None when it failed, timed out or is partial (logged: the search goes on)."""
        body = facets_body(q, access, timeout=f"{int(self.facet_timeout_s * 1000)}ms")
        try:
            response: Mapping[str, Any] = await self.client.search(
                index=self.alias, body=body, request_cache=True, request_timeout=self.facet_timeout_s + 1
            )
        except TransportError as exc:
            log.warning("report search answered without facet counts: %s", exc)
            return None
        if response.get("timed_out") or response.get("_shards", {}).get("failed"):
            log.warning("report search answered without facet counts: they took over %s s", self.facet_timeout_s)
            return None
        return response

    async def similar(self, p: Principal, referral_id: str, *, limit: int = 10) -> list[Hit]:
        """Reports like this referral's, among those `p` may see; none when the referral is not indexed."""
        with _answering():
            await self.ensure()
            if not await self.client.exists(index=self.alias, id=referral_id):
                return []
            body = similar_body(self.alias, referral_id, visible_reports(p), limit)
            response = await self.client.search(index=self.alias, body=body)
        return parse_hits(response)

    async def get(self, referral_id: str) -> dict[str, Any] | None:
        await self.ensure()
        found = await self.client.get(index=self.alias, id=referral_id, ignore=[404])
        return found.get("_source") if found.get("found") else None

    async def count(self) -> int:
        await self.ensure()
        await self.client.indices.refresh(index=self.alias)
        return await ix.count(self.client, self.alias)

    async def close(self) -> None:
        await self.client.close()
