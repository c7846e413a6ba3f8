"""In-house reading (本院写片): the policy's checks, where a case is read, who may read and see it."""

from __future__ import annotations

from datetime import time

import pytest

from yilian.domain.access import Principal, ReferralScope, can_view
from yilian.domain.agreement import (
    Agreement,
    AgreementTerms,
    CaseTerms,
    CoverCondition,
    HalfHostingRules,
    SecondReadingPolicy,
    ServiceMode,
    SlaTargets,
    cover_conditions,
)
from yilian.domain.alliance import HospitalLevel
from yilian.domain.errors import YilianError
from yilian.domain.in_house import (
    InHousePolicy,
    check_policy,
    reading_choices,
    reads_in_house,
    routed_readers,
    terms_from_json,
)
from yilian.domain.referral_io import ReferralPolicy
from yilian.domain.roles import Role
from yilian.domain.routing import Reader, may_read

H = "h-strong-county"


def _reader(uid: str, role: Role = Role.EXPERT, hospital: str = H, subs: tuple[tuple[str, str], ...] = (("CT", "*"),),
            active: bool = True) -> Reader:  # fmt: skip
    return Reader(uid, uid, role, hospital, active, True, False, frozenset(), subs)


PEOPLE = {
    r.user_id: r
    for r in (
        _reader("ct"),
        _reader("mr", subs=(("MR", "HEAD"),)),
        _reader("any", Role.SENIOR, subs=(("*", "*"),)),
        _reader("gone", active=False),
        _reader("doc", Role.COUNTY_DOCTOR, subs=()),
    )
}


def _policy(**kw: object) -> InHousePolicy:
    return InHousePolicy(H, **{"modalities": frozenset({"CT"}), **kw})  # type: ignore[arg-type]


def test_a_good_policy_passes() -> None:
    assert check_policy(_policy(reader_ids=("ct", "any")), HospitalLevel.COUNTY, PEOPLE) == []
    assert check_policy(_policy(), HospitalLevel.TERTIARY, {}) == []  # nobody named: every reader of the hospital


@pytest.mark.parametrize(
    ("policy", "level", "field", "words"),
    [
        (_policy(), HospitalLevel.TOWNSHIP, "path.hospital_id", "township"),
        (_policy(modalities=frozenset()), HospitalLevel.COUNTY, "modalities", "at least one"),
        (_policy(modalities=frozenset({"CT", "SR"})), HospitalLevel.COUNTY, "modalities", "SR"),
        (_policy(reader_ids=("mr",)), HospitalLevel.COUNTY, "reader_ids.0", "reads none of CT"),
        (_policy(reader_ids=("ct", "gone")), HospitalLevel.COUNTY, "reader_ids.1", "not an active"),
        (_policy(reader_ids=("doc",)), HospitalLevel.COUNTY, "reader_ids.0", "expert or senior"),
        (_policy(reader_ids=("wang.expert",)), HospitalLevel.COUNTY, "reader_ids.0", "of this hospital"),
        (_policy(reader_ids=("ct", "ct")), HospitalLevel.COUNTY, "reader_ids", "twice"),
    ],
)
def test_bad_policies(policy: InHousePolicy, level: HospitalLevel, field: str, words: str) -> None:
    problems = check_policy(policy, level, PEOPLE)
    assert any(f == field and words in p for f, p in problems), problems


def test_where_a_case_is_read() -> None:
    ct = _policy()
    assert reads_in_house(ct, H, "CT", None)
    assert reads_in_house(ct, H, "CT", H)
    assert not reads_in_house(ct, H, "CT", "h-provincial")  # the doctor refers it out
    assert not reads_in_house(ct, H, "CT", None, overflow=True)  # "our readers are overloaded"
    assert not reads_in_house(ct, H, "DX", None)  # not the policy's: the agreements decide
    assert not reads_in_house(None, H, "CT", None)
    assert not reads_in_house(_policy(enabled=False), H, "CT", None)
    for policy, words in ((ct, "does not read DX"), (None, "no in-house"), (_policy(enabled=False), "switched off")):
        with pytest.raises(YilianError) as refused:
            reads_in_house(policy, H, "DX" if policy is ct else "CT", H)
        assert refused.value.code == "not_covered_by_agreement" and words in refused.value.message


def test_own_readers_need_no_licence_but_outsiders_do() -> None:
    mine, theirs = _reader("mine"), _reader("theirs", hospital="h-other")
    assert may_read(mine, H, H)  # in-house: no 多机构执业备案 for one's own hospital
    assert not may_read(theirs, H, H)
    assert not may_read(mine, H, "h-township")  # a case sent from elsewhere still needs the licence


def test_named_readers_narrow_routing() -> None:
    people = list(PEOPLE.values())
    assert routed_readers(people, None) == people
    assert routed_readers(people, _policy()) == people
    assert [r.user_id for r in routed_readers(people, _policy(reader_ids=("any", "ct")))] == ["ct", "any"]


def test_only_the_hospitals_own_people_see_an_in_house_case() -> None:
    scope = ReferralScope(H, H, None, None)
    seen = {
        "reader": Principal("r", Role.EXPERT, H, "r"),
        "senior": Principal("s", Role.SENIOR, H, "s"),
        "coordinator": Principal("c", Role.COORDINATOR, H, "c"),
        "doctor": Principal("d", Role.COUNTY_DOCTOR, H, "d"),
    }
    unseen = {
        "licensed outsider": Principal("o", Role.EXPERT, "h-provincial", "o", frozenset({H})),
        "outside coordinator": Principal("oc", Role.COORDINATOR, "h-provincial", "oc"),
        "outside doctor": Principal("od", Role.COUNTY_DOCTOR, "h-other", "od"),
    }
    assert all(can_view(p, scope) for p in seen.values())
    assert not any(can_view(p, scope) for p in unseen.values())


def test_the_policy_is_the_cases_terms_snapshot() -> None:
    terms = CaseTerms(sla=SlaTargets(10, 40, 300), second_reading=SecondReadingPolicy.RANDOM_SHARE,
                      second_reading_share=0.4, auto_reassign=False)  # fmt: skip
    policy = _policy(terms=terms)
    assert terms_from_json(policy.terms_json()) == terms
    assert terms_from_json({}) == CaseTerms()
    snapshot = ReferralPolicy.from_in_house(policy, share_link_days=7)
    assert snapshot.agreement_id == f"in-house/{H}" and snapshot.share_link_days == 7
    assert snapshot.sla == terms.sla and snapshot.second_reading_share == 0.4 and not snapshot.auto_reassign


def test_the_api_body_carries_the_case_terms_under_their_names() -> None:
    from dataclasses import fields

    from yilian.api.models.in_house import InHouseReadingBody

    assert {f.name for f in fields(CaseTerms)} <= set(InHouseReadingBody.model_fields)
    body = InHouseReadingBody.model_validate({"modalities": ["CT"], "sla": {"routine_minutes": 90}})
    policy = body.policy(H)
    assert policy.terms == CaseTerms(sla=SlaTargets(routine_minutes=90)) and policy.enabled and not policy.auto_read


# ---- the referral form's reading-hospital picker ----------------------------------------------------------------
def _agreement(aid: str, reader: str, mode: str, active: bool = True, **terms: object) -> Agreement:
    return Agreement(aid, H, reader, ServiceMode(mode), AgreementTerms(**terms), active)  # type: ignore[arg-type]


CAP = HalfHostingRules(overflow_daily_cap=1)
HALF = HalfHostingRules(modalities=frozenset({"MR"}), hours_start=time(18), hours_end=time(8), overflow_daily_cap=2)


@pytest.mark.parametrize(
    ("agreement", "modality", "expected"),
    [
        (_agreement("a", "t", "full_hosting"), "CT", ("always",)),
        (_agreement("a", "t", "full_hosting", active=False), "CT", ()),
        (_agreement("a", "t", "difficult_only"), "CT", ("difficult",)),
        (_agreement("a", "c", "cooperation"), "US", ("always",)),
        (_agreement("a", "c", "cooperation", cooperation_modalities=frozenset({"MR"})), "MR", ("always",)),
        (_agreement("a", "c", "cooperation", cooperation_modalities=frozenset({"MR"})), "CT", ()),
        (_agreement("a", "t", "half_hosting", half_hosting=HALF), "MR", ("always",)),
        (_agreement("a", "t", "half_hosting", half_hosting=HALF), "CT", ("hosted_hours", "overflow")),
        (
            _agreement("a", "t", "half_hosting", half_hosting=HalfHostingRules(overflow_daily_cap=1)),
            "CT",
            ("overflow",),
        ),
        (_agreement("a", "t", "half_hosting"), "CT", ()),
    ],
)
def test_when_an_agreement_covers_a_modality(agreement: Agreement, modality: str, expected: tuple[str, ...]) -> None:
    assert cover_conditions(agreement, modality) == tuple(CoverCondition(c) for c in expected)


def test_reading_choices_put_the_hospital_first_and_merge_agreements_with_one_reader() -> None:
    agreements = [
        _agreement("a1", "t", "difficult_only"),
        _agreement("a2", "t", "half_hosting", half_hosting=HALF),
        _agreement("a3", "c", "cooperation", cooperation_modalities=frozenset({"MR"})),
        Agreement("a4", "elsewhere", "t2", ServiceMode.FULL_HOSTING),  # another hospital's: never a choice
    ]
    policy = InHousePolicy(H, modalities=frozenset({"CT"}))
    ct = reading_choices(H, policy, agreements, "CT")
    assert [(c.hospital_id, c.in_house, c.agreement_ids, c.when) for c in ct] == [
        (H, True, (), (CoverCondition.ALWAYS,)),
        ("t", False, ("a1", "a2"), (CoverCondition.DIFFICULT, CoverCondition.HOSTED_HOURS, CoverCondition.OVERFLOW)),
    ]
    mr = reading_choices(H, policy, agreements, "MR")  # the policy does not cover MR; a2 always does
    assert [(c.hospital_id, c.service_modes, c.when) for c in mr] == [
        ("t", (ServiceMode.DIFFICULT_ONLY, ServiceMode.HALF_HOSTING), (CoverCondition.ALWAYS,)),
        ("c", (ServiceMode.COOPERATION,), (CoverCondition.ALWAYS,)),
    ]
    off = InHousePolicy(H, enabled=False, modalities=frozenset({"CT"}))
    assert [c.hospital_id for c in reading_choices(H, off, agreements, "CT")] == ["t"]
    assert reading_choices(H, None, [], "CT") == []
