"""Filling the report index from PostgreSQL: a full rebuild behind the alias (zero downtime), a catch-up, a count.

PostgreSQL is the source of truth; the index can always be rebuilt from it. A rebuild fills a new concrete index
while searches keep reading the old one, swaps the alias in one atomic request, then re-indexes whatever was
signed while it ran (the activity wrote that into the old index) and drops the old index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from opensearchpy import AsyncOpenSearch
from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.db.queries import search as q
from yilian.search import index as ix

BATCH = 500
# Margin for clocks and transactions still committing when the rebuild started.
CATCH_UP_MARGIN = timedelta(minutes=1)


@dataclass(frozen=True)
class ReindexResult:
    index: str  # the new concrete index behind the alias
    previous: list[str]  # the indices the alias pointed at before (now deleted)
    indexed: int
    caught_up: int  # reports signed during the rebuild, indexed again after the swap


async def _fill(
    engine: AsyncEngine, client: AsyncOpenSearch, target: str, *, changed_since: datetime | None = None
) -> int:
    done, after = 0, None
    while True:
        async with engine.connect() as conn:
            page = await q.signed_reports_page(conn, after=after, limit=BATCH, changed_since=changed_since)
        if not page:
            return done
        result = await ix.bulk_index(client, target, [ix.report_document(r) for r in page])
        done += result.indexed
        after = page[-1].referral_id


async def reindex(engine: AsyncEngine, client: AsyncOpenSearch, alias: str) -> ReindexResult:
    """Rebuild the index behind `alias` from PostgreSQL and swap the alias to it atomically."""
    started = datetime.now(UTC)
    new = ix.new_index_name(alias, started)
    await ix.create_index(client, new)
    try:
        indexed = await _fill(engine, client, new)
        await client.indices.refresh(index=new)
    except BaseException:
        await client.indices.delete(index=new, ignore_unavailable=True)
        raise
    previous = await ix.indices_of(client, alias)
    actions: list[dict[str, Any]] = [{"remove": {"index": old, "alias": alias}} for old in previous]
    actions.append({"add": {"index": new, "alias": alias, "is_write_index": True}})
    await client.indices.update_aliases(body={"actions": actions})
    caught_up = await _fill(engine, client, alias, changed_since=started - CATCH_UP_MARGIN)
    for old in previous:
        await client.indices.delete(index=old, ignore_unavailable=True)
    return ReindexResult(index=new, previous=previous, indexed=indexed, caught_up=caught_up)


async def sync(engine: AsyncEngine, client: AsyncOpenSearch, alias: str) -> int:
    """Index every signed report into `alias` (created when missing); idempotent, newer versions stay. For reports
    that never went through the activity, such as the demo's history, and after running without search."""
    await ix.ensure_alias(client, alias)
    done = await _fill(engine, client, alias)
    await client.indices.refresh(index=alias)
    return done


@dataclass(frozen=True)
class Counts:
    database: int  # referrals with a signed report
    index: int | None  # documents behind the alias; None when there is no alias yet


async def counts(engine: AsyncEngine, client: AsyncOpenSearch, alias: str) -> Counts:
    async with engine.connect() as conn:
        database = await q.count_signed(conn)
    if not await ix.indices_of(client, alias):
        return Counts(database, None)
    await client.indices.refresh(index=alias)
    return Counts(database, await ix.count(client, alias))
