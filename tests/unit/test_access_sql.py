"""The access rule's SQL (db/queries/access.py) is one text whatever the caller's lists: each list is one array
parameter, never an IN list expanded per execution, so SQLAlchemy compiles a statement once and asyncpg prepares it
once. What the SQL lets through is tested against the domain in tests/integration/test_access_rule.py."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.sql.compiler import SQLCompiler

from yilian.db.queries.access import visible_referrals, visible_studies
from yilian.db.queries.imaging import _visible_instances
from yilian.db.schema import dicom_studies, referrals
from yilian.domain.access import Principal
from yilian.domain.roles import Role

FEW, MANY = frozenset({"h-a"}), frozenset({"h-a", "h-b", "h-c", "h-d"})
PATH = {"study": "1.2", "series": "1.2.1", "sop": "1.2.1.1"}


def _compiled(statement: object) -> SQLCompiler:
    return statement.compile(dialect=asyncpg_dialect())  # type: ignore[attr-defined, no-any-return]


def _principal(role: Role, licensed_for: frozenset[str], studies: frozenset[str] | None = None) -> Principal:
    return Principal("u-1", role, "h-own", "someone", licensed_for=licensed_for, studies=studies)


@pytest.mark.parametrize("role", list(Role))
def test_the_rules_sql_does_not_depend_on_how_many_hospitals_a_reader_holds(role: Role) -> None:
    for where, table in ((visible_referrals, referrals), (visible_studies, dicom_studies)):
        few = _compiled(select(table.c[0]).where(where(_principal(role, FEW))))
        many = _compiled(select(table.c[0]).where(where(_principal(role, MANY))))
        assert few.string == many.string, (role, where.__name__)
        assert "POSTCOMPILE" not in few.string, (role, where.__name__)
        assert not [b.key for b in few.binds.values() if b.expanding], (role, where.__name__)


def test_a_qr_holders_studies_are_one_array_parameter() -> None:
    one = _compiled(_visible_instances(_principal(Role.COUNTY_DOCTOR, FEW, frozenset({"1.2.3"})), True, True, False))
    three = _compiled(
        _visible_instances(
            _principal(Role.COUNTY_DOCTOR, FEW, frozenset({"1.2.3", "1.2.4", "1.2.5"})), True, True, False
        )
    )
    assert one.string == three.string
    assert "= ANY (" in one.string
    assert sorted(v for v in three.construct_params(PATH).values() if isinstance(v, list)) == [
        ["1.2.3", "1.2.4", "1.2.5"]
    ]


def test_the_retrieve_statement_carries_the_listed_hospitals_as_their_values() -> None:
    """The array parameter holds the caller's own hospitals, so two readers share the SQL but not the answer."""
    params = _compiled(_visible_instances(_principal(Role.EXPERT, MANY), True, True, False)).construct_params(PATH)
    assert sorted(MANY) in params.values()


def test_a_callers_study_clause_is_built_once_and_a_changed_caller_gets_their_own() -> None:
    """QIDO-RS builds the study clause on every request: the same caller (an equal principal, as each request makes
    anew) gets the clause built the first time; a caller whose licences changed gets one carrying the new list."""
    few = visible_studies(_principal(Role.EXPERT, FEW))
    assert visible_studies(_principal(Role.EXPERT, FEW)) is few
    many = visible_studies(_principal(Role.EXPERT, MANY))
    assert many is not few
    params = _compiled(select(dicom_studies.c[0]).where(many)).construct_params()
    assert sorted(MANY) in params.values()
    assert sorted(FEW) not in params.values()
