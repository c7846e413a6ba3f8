"""The teaching access rule (domain.teaching.TEACHING_GRANTS) compiled to SQL, for the teaching queries and the
archive's study filter alike."""

from __future__ import annotations

from sqlalchemy import ARRAY, ColumnElement, String, and_, any_, bindparam, false, true

from yilian.db.schema import teaching_cases
from yilian.domain.roles import Role
from yilian.domain.teaching import LIBRARY_STATES, TEACHING_GRANTS


def visible_cases(role: Role) -> ColumnElement[bool]:
    """The teaching cases a person of `role` may see: exactly what `domain.teaching.can_see` lets through."""
    grant = TEACHING_GRANTS.get(role)
    if grant is None:
        return false()
    if grant.every_state:
        return true()
    if not grant.published:
        return false()
    tc = teaching_cases.c
    # Each list is one array parameter (`= ANY`), not an IN list: the statement's SQL is then the same for every
    # execution, so SQLAlchemy compiles it once and asyncpg prepares it once (an IN list is expanded each time).
    return and_(
        tc.state == any_(bindparam(None, sorted(LIBRARY_STATES), type_=ARRAY(String()))),
        tc.visibility == any_(bindparam(None, sorted(grant.published), type_=ARRAY(String()))),
    )
