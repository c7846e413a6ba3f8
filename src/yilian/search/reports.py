"""ReportIndex: the report index on an OpenSearch cluster, as the API and the indexing activity use it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as SearchConnectionError
from opensearchpy.exceptions import ConnectionTimeout

from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.report import SignedReport
from yilian.search import index as ix
from yilian.search.access import visible_reports
from yilian.search.query import Hit, ReportQuery, SearchAnswer, parse_answer, parse_hits, search_body, similar_body


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

    def __init__(self, client: AsyncOpenSearch, alias: str = ix.DEFAULT_ALIAS) -> None:
        self.client = client
        self.alias = alias
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
        with _answering():
            await self.ensure()
            response = await self.client.search(index=self.alias, body=search_body(q, visible_reports(p)))
        return parse_answer(response)

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
