"""The domain's access rule (domain/access.py) compiled to SQL: the rows a principal may see, as WHERE clauses."""

from __future__ import annotations

import functools

from sqlalchemy import ARRAY, ColumnElement, FromClause, String, and_, any_, bindparam, exists, false, or_, select, true

from yilian.db.queries.teaching_access import visible_cases
from yilian.db.schema import (
    consult_cases,
    consult_invitees,
    consults,
    dicom_studies,
    film_consents,
    patient_index,
    patients,
    referrals,
    teaching_cases,
)
from yilian.domain.access import (
    REFERRAL_GRANTS,
    Grant,
    Match,
    Principal,
    StudyReach,
    mine,
    study_grant,
)
from yilian.domain.consult import ConsultState


def _match(m: Match, p: Principal) -> ColumnElement[bool]:
    column = referrals.c[m.party.value]
    ours = mine(p, m.mine)
    if ours is None:
        return false()
    if isinstance(ours, frozenset):
        return _one_of(column, ours)
    return column == ours


def _one_of(column: ColumnElement[str], values: frozenset[str]) -> ColumnElement[bool]:
    """`column IN values`, as one array parameter (`column = ANY(:array)`): the SQL is the same whatever the list and
    its length, so a statement built from the rule is compiled once by SQLAlchemy and prepared once by asyncpg (an IN
    list is expanded again on every execution). The same truth values as IN, NULL included; nothing for no values."""
    if not values:
        return false()
    return column == any_(bindparam(None, sorted(values), type_=ARRAY(String())))


def _grant(grant: Grant, p: Principal) -> ColumnElement[bool]:
    return and_(true(), *(_match(m, p) for m in grant))


def visible_referrals(p: Principal) -> ColumnElement[bool]:
    """Referral projection rows `p` may see: exactly those `domain.access.can_view` lets through."""
    return or_(false(), *(_grant(g, p) for g in REFERRAL_GRANTS.get(p.role, ())))


@functools.lru_cache(maxsize=1024)
def visible_studies(p: Principal) -> ColumnElement[bool]:
    """Archive studies `p` may search and retrieve: exactly those `domain.access.can_view_study` lets through.

    Built once per caller (the principal is the key, so a caller whose role, hospital or licences change gets a clause
    of their own): building it costs about 1.2-1.6 ms of CPU (its aliases and subqueries), which every QIDO-RS request
    paid before its query ran. A clause is immutable, so the statements of any number of requests may share it."""
    st, r = dicom_studies.c, referrals.c
    if p.studies is not None:  # a clinician holding a patient's QR
        return _one_of(st.study_instance_uid, p.studies)
    # A teaching case's de-identified copy: whoever may see the case (domain.teaching.can_see) sees its images.
    ways: list[ColumnElement[bool]] = [
        exists(
            select(1).where(teaching_cases.c.deid_study_instance_uid == st.study_instance_uid, visible_cases(p.role))
        )
    ]
    grant = study_grant(p)
    if grant is None:
        return or_(false(), *ways)
    if grant.everything:
        return true()
    ways.append(_consult_case_studies(p))
    if grant.own_hospital and p.hospital_id is not None:
        ways.append(st.hospital_id == p.hospital_id)
    if grant.recognised and p.hospital_id is not None:
        ways.append(recognised_studies(p.hospital_id))
    if grant.recognised_through_referrals:
        ways.append(recognised_through_referrals(p))
    if grant.through_referrals is not None:
        reach: ColumnElement[bool] = r.study_instance_uid == st.study_instance_uid
        source: FromClause = referrals
        if grant.through_referrals is StudyReach.PRIORS:
            source = referrals.join(patients, patients.c.id == r.patient_ref)
            reach = or_(reach, patients.c.patient_id == st.patient_id)
        ways.append(
            exists(
                select(1)
                .select_from(source)
                .where(visible_referrals(p), r.requesting_hospital_id == st.hospital_id, reach)
            )
        )
    return or_(false(), *ways)


def recognised_studies(hospital_id: str) -> ColumnElement[bool]:
    """Studies of a patient who consents to 检查结果互认 and of whom `hospital_id` holds a record in the regional
    patient index (the study's own record and the hospital's are one regional patient)."""
    ours = patients.alias("ours")
    return _consenting_patient_of(ours, ours.c.id, ours.c.hospital_id == hospital_id, tag="rs")


def recognised_through_referrals(p: Principal) -> ColumnElement[bool]:
    """Studies of a patient who consents to 检查结果互认 and who is, in the regional patient index, the patient of a
    case `p` may see (at any hospital)."""
    return _consenting_patient_of(referrals, referrals.c.patient_ref, visible_referrals(p), tag="rt")


def _consenting_patient_of(
    rows: FromClause, patient_ref: ColumnElement[str], where: ColumnElement[bool], *, tag: str
) -> ColumnElement[bool]:
    """Studies whose patient consents to 检查结果互认 (an unrevoked consent of the regional patient the study's own
    record belongs to) and is, in the regional patient index, also the patient of one of `rows` meeting `where`
    (`patient_ref`: that row's patient record). `tag` keeps each caller's aliases apart."""
    st = dicom_studies.c
    theirs, theirs_ix = patients.alias(f"{tag}_theirs"), patient_index.alias(f"{tag}_theirs_ix")
    same_ix = patient_index.alias(f"{tag}_same_ix")
    return exists(
        select(1)
        .select_from(
            theirs.join(theirs_ix, theirs_ix.c.patient_ref == theirs.c.id)
            .join(film_consents, film_consents.c.regional_patient_id == theirs_ix.c.regional_patient_id)
            .join(same_ix, same_ix.c.regional_patient_id == theirs_ix.c.regional_patient_id)
            .join(rows, patient_ref == same_ix.c.patient_ref)
        )
        .where(
            theirs.c.hospital_id == st.hospital_id,
            theirs.c.patient_id == st.patient_id,
            film_consents.c.revoked_at.is_(None),
            where,
        )
    )


def _consult_case_studies(p: Principal) -> ColumnElement[bool]:
    """Studies of the cases of a consult `p` hosts or is invited to (not cancelled), as the sender stored them."""
    st, r, c = dicom_studies.c, referrals.c, consults.c
    taking_part = or_(
        c.host_id == p.user_id,
        exists(select(1).where(consult_invitees.c.consult_id == c.id, consult_invitees.c.user_id == p.user_id)),
    )
    return exists(
        select(1)
        .select_from(
            consult_cases.join(consults, consults.c.id == consult_cases.c.consult_id).join(
                referrals, r.id == consult_cases.c.referral_id
            )
        )
        .where(
            taking_part,
            c.state != str(ConsultState.CANCELLED),
            r.study_instance_uid == st.study_instance_uid,
            r.requesting_hospital_id == st.hospital_id,
        )
    )
