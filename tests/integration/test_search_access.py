"""Search obeys the one access rule: on a seeded random alliance (tests/support/population.py), the reports each
person finds are exactly the referrals the worklist's SQL filter and domain.access.can_view let them see."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.population import Population, make_population
from tests.support.search import fresh_alias, signed
from yilian.db.engine import make_engine
from yilian.db.queries.access import visible_referrals
from yilian.db.schema import referrals
from yilian.domain.access import can_view
from yilian.search import index as ix
from yilian.search.query import ReportQuery
from yilian.search.reports import ReportIndex

pytestmark = pytest.mark.integration
SEED = 13  # issue 13


@pytest.fixture(scope="module")
async def db(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
async def pop(db: AsyncEngine) -> Population:
    return await make_population(db, seed=SEED)


@pytest.fixture(scope="module")
async def population_index(opensearch_url: str, pop: Population) -> AsyncIterator[ReportIndex]:
    """Every case of the population as a signed report carrying its parties (whatever its state: the rule is
    about parties, and the filter must get each one right)."""
    index = ReportIndex.from_url(opensearch_url, fresh_alias("access"))
    await index.ensure()
    docs = [
        ix.report_document(
            signed(
                c.id,
                "右肺上叶磨玻璃结节。 Ground-glass nodule in the right upper lobe.",
                "磨玻璃结节",
                hospital=(c.scope.requesting_hospital_id, c.scope.requesting_hospital_id),
                reading_hospital_id=c.scope.reading_hospital_id,
                offered_to=c.scope.offered_to,
            )
        )
        for c in pop.cases
    ]
    for doc, case in zip(docs, pop.cases, strict=True):
        doc["reader_id"] = case.scope.reader_id  # the party itself; None where routing named nobody yet
    result = await ix.bulk_index(index.client, index.alias, docs, refresh=True)
    assert result.indexed == len(pop.cases)
    yield index
    for name in await ix.indices_of(index.client, index.alias):
        await index.client.indices.delete(index=name)
    await index.close()


async def test_search_finds_exactly_what_the_worklist_shows(
    db: AsyncEngine, pop: Population, population_index: ReportIndex
) -> None:
    limit = len(pop.cases)
    wrong: list[str] = []
    pairs = seen = 0
    async with db.connect() as conn:
        for p in pop.principals:
            answer = await population_index.search(p, ReportQuery("磨玻璃结节", limit=limit))
            found = {h.referral_id for h in answer.hits}
            assert answer.total == len(found), "one page holds every hit"
            sql = set(
                (
                    await conn.scalars(
                        select(referrals.c.id).where(referrals.c.id.in_(pop.case_ids), visible_referrals(p))
                    )
                ).all()
            )
            python = {c.id for c in pop.cases if can_view(p, c.scope)}
            if not found == sql == python:
                wrong.append(
                    f"{p.user_id} ({p.role}, {p.hospital_id}, licensed {sorted(p.licensed_for)}): "
                    f"search-only {sorted(found - python)[:3]}, missing {sorted(python - found)[:3]}, "
                    f"sql≠python {sorted(sql ^ python)[:3]}"
                )
            pairs += len(pop.cases)
            seen += len(found)
    assert wrong == [], "\n".join(wrong[:5])
    assert pairs >= 10_000, pairs
    assert 0 < seen < pairs, "the population must hold both seen and refused pairs"
    print(f"{len(pop.principals)} people x {len(pop.cases)} cases = {pairs} pairs, {seen} seen")
