"""Who may see a consult: the SQL filter (db/queries/consult.visible_consults) and the domain's rule
(domain.consult.can_view_consult) agree on every (person, consult) pair of a seeded random alliance."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.population import Case, make_population
from yilian.db.engine import make_engine
from yilian.db.queries.consult import visible_consults
from yilian.db.schema import consult_cases, consult_invitees, consults
from yilian.domain.access import Principal, can_view
from yilian.domain.consult import CONSULT_GRANTS, ConsultScope, can_view_consult, holding_grants

pytestmark = pytest.mark.integration
SEED = 11


@pytest.fixture(scope="module")
async def db(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


def _scope(p: Principal, row: dict[str, object], cases: list[Case]) -> ConsultScope:
    return ConsultScope(
        host_id=row["host_id"],  # type: ignore[arg-type]
        requested_by=row["requested_by"],  # type: ignore[arg-type]
        invitee_ids=frozenset(row["invitees"]),  # type: ignore[arg-type]
        hospital_ids=frozenset(row["hospital_ids"]),  # type: ignore[arg-type]
        sees_a_case=any(can_view(p, c.scope) for c in cases),
    )


async def test_the_sql_filter_and_the_rule_agree(db: AsyncEngine) -> None:
    pop = await make_population(db, seed=SEED, cases=80)
    rng = random.Random(SEED)
    people = [p for p in pop.principals if p.hospital_id is not None or p.role.value == "admin"]
    hospitals = pop.reading + pop.counties
    now = datetime.now(UTC)
    made: list[tuple[dict[str, object], list[Case]]] = []
    for i in range(60):
        cases = rng.sample(pop.cases, rng.choice([1, 1, 2, 3]))
        row: dict[str, object] = {
            "id": f"con-pop{i}-{pop.suffix}",
            "title": "t",
            "referral_id": cases[0].id if rng.random() < 0.7 else None,
            "hospital_ids": sorted(set(rng.sample(hospitals, rng.choice([1, 2, 3])))),
            "state": rng.choice(["requested", "scheduled", "open", "concluded", "cancelled"]),
            "created_by": pop.actor_id,
            "requested_by": rng.choice(people).user_id if rng.random() < 0.5 else None,
            "host_id": rng.choice(people).user_id if rng.random() < 0.8 else None,
            "last_seq": 1,
            "created_at": now,
            "updated_at": now,
        }
        invitees = sorted({rng.choice(people).user_id for _ in range(rng.choice([0, 1, 3, 6]))})
        made.append(({**row, "invitees": invitees}, cases))
        async with db.begin() as conn:
            await conn.execute(consults.insert().values(row))
            await conn.execute(
                consult_cases.insert().values(
                    [{"consult_id": row["id"], "referral_id": c.id, "position": n} for n, c in enumerate(cases)]
                )
            )
            if invitees:
                await conn.execute(
                    consult_invitees.insert().values([{"consult_id": row["id"], "user_id": u} for u in invitees])
                )
    ids = [str(r["id"]) for r, _ in made]

    hits: Counter[str] = Counter()
    for p in pop.principals:
        async with db.connect() as conn:
            seen_by_sql = set(
                (await conn.scalars(select(consults.c.id).where(visible_consults(p), consults.c.id.in_(ids)))).all()
            )
        seen_by_rule = {str(r["id"]) for r, cases in made if can_view_consult(p, _scope(p, r, cases))}
        assert seen_by_sql == seen_by_rule, p
        for r, cases in made:
            scope = _scope(p, r, cases)
            passing = holding_grants(p, scope)
            hits[f"{p.role} {'sees' if passing else 'refused'}"] += 1
            if len(passing) == 1:
                hits[f"{p.role} grant {passing[0]} alone"] += 1
    # The population reaches every grant of every role on its own, and refusals, so agreement means something.
    for role, grants in CONSULT_GRANTS.items():
        if role.value == "admin":
            continue
        for n in range(len(grants)):
            assert hits[f"{role} grant {n} alone"], (role, n, hits)
        assert hits[f"{role} refused"], role
