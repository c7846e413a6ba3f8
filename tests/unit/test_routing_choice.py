"""Where a case goes: the agreement chosen for it, who may read it, and the candidates routing ranks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from yilian.domain.agreement import Agreement, AgreementTerms, CoverageRequest, HalfHostingRules, Priority, ServiceMode
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import Role
from yilian.domain.routing import (
    CaseToRoute,
    Reader,
    agreement_candidates,
    choose_agreement,
    may_read,
    overflow_day_start,
    reassign_target,
    require_agreement,
    route,
    subspecialty_fit,
)

NOW = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DIFFICULT = Agreement("a-difficult", "h-c", "h-t1", ServiceMode.DIFFICULT_ONLY)
HALF = Agreement("a-half", "h-c", "h-t2", ServiceMode.HALF_HOSTING,
                 AgreementTerms(half_hosting=HalfHostingRules(overflow_daily_cap=2)))  # fmt: skip
FULL = Agreement("a-full", "h-c", "h-t3", ServiceMode.FULL_HOSTING)


def _request(*, difficult: bool = False, overflow: bool = False) -> CoverageRequest:
    return CoverageRequest("CT", "CHEST", Priority.ROUTINE, difficult, NOW, overflow)


def test_the_first_covering_agreement_is_chosen_with_the_reasons_of_those_before() -> None:
    choice = choose_agreement([DIFFICULT, HALF, FULL], _request(), {})
    assert choice.chosen is FULL
    assert [(r.agreement_id, r.service_mode) for r in choice.refusals] == [
        ("a-difficult", ServiceMode.DIFFICULT_ONLY), ("a-half", ServiceMode.HALF_HOSTING)]  # fmt: skip
    assert require_agreement(choice) is FULL


def test_overflow_counts_per_agreement() -> None:
    assert choose_agreement([HALF], _request(overflow=True), {"a-half": 1}).chosen is HALF
    refused = choose_agreement([HALF], _request(overflow=True), {"a-half": 2})
    assert refused.chosen is None and "cap of 2" in refused.refusals[0].reason


def test_a_named_reading_hospital_narrows_the_candidates() -> None:
    assert agreement_candidates([DIFFICULT, HALF, FULL], None) == [DIFFICULT, HALF, FULL]
    assert agreement_candidates([DIFFICULT, HALF, FULL], "h-t2") == [HALF]
    assert agreement_candidates([DIFFICULT, HALF, FULL], "h-nowhere") == []


def test_no_covering_agreement_is_refused_with_every_reason() -> None:
    with pytest.raises(YilianError) as err:
        require_agreement(choose_agreement([DIFFICULT], _request(), {}))
    assert err.value.code is ErrorCode.NOT_COVERED_BY_AGREEMENT
    assert err.value.details == {"agreements": [{"agreement_id": "a-difficult", "service_mode": "difficult_only",
                                                 "reason": err.value.message}]}  # fmt: skip
    with pytest.raises(YilianError, match="no service agreement"):
        require_agreement(choose_agreement([], _request(), {}))


def test_the_overflow_day_starts_at_local_midnight() -> None:
    assert overflow_day_start(FULL, NOW) == datetime(2024, 2, 29, 16, 0, tzinfo=UTC)


def _reader(**kw: object) -> Reader:
    fields: dict[str, object] = {
        "user_id": "u", "name": "u", "role": Role.EXPERT, "hospital_id": "h-t", "active": True, "on_duty": True,
        "is_junior": False, "licensed_for": frozenset({"h-c"}), "subspecialties": (("*", "*"),),
    }  # fmt: skip
    fields.update(kw)
    return Reader(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reader", "ok"),
    [
        pytest.param(_reader(), True, id="expert"),
        pytest.param(_reader(role=Role.SENIOR), True, id="senior"),
        pytest.param(_reader(on_duty=False, subspecialties=()), True, id="off-duty-any-subspecialty"),
        pytest.param(_reader(active=False), False, id="inactive"),
        pytest.param(_reader(role=Role.COORDINATOR), False, id="not-a-reader"),
        pytest.param(_reader(hospital_id="h-other"), False, id="other-hospital"),
        pytest.param(_reader(hospital_id=None), False, id="no-hospital"),
        pytest.param(_reader(licensed_for=frozenset({"h-other"})), False, id="unlicensed"),
    ],
)
def test_who_may_read_a_case(reader: Reader, ok: bool) -> None:
    assert may_read(reader, "h-t", "h-c") is ok
    if ok:
        assert reassign_target("u", reader, "h-t", "h-c") is reader
    else:
        with pytest.raises(YilianError) as err:
            reassign_target("u", reader, "h-t", "h-c")
        assert (err.value.code, err.value.details) == (ErrorCode.VALIDATION_FAILED, {"expert_id": "u"})


def test_an_unknown_reader_is_refused() -> None:
    with pytest.raises(YilianError) as err:
        reassign_target("nobody", None, "h-t", "h-c")
    assert err.value.details == {"expert_id": "nobody"}


@pytest.mark.parametrize(
    ("subspecialties", "fit"),
    [
        ((), (False, 0)),
        ((("*", "*"),), (True, 0)),
        ((("CT", "*"),), (True, 1)),
        ((("CT", "CHEST"),), (True, 2)),
        ((("CT", "HEAD"),), (False, 1)),
        ((("*", "*"), ("CT", "HEAD")), (True, 1)),  # specificity is over all of a reader's subspecialties
        ((("MR", "CHEST"),), (False, 0)),
    ],
)
def test_subspecialty_fit(subspecialties: tuple[tuple[str, str], ...], fit: tuple[bool, int]) -> None:
    assert subspecialty_fit(_reader(subspecialties=subspecialties), "CT", "CHEST") == fit


def test_routing_offers_to_readers_who_may_read_on_duty_with_the_subspecialty() -> None:
    case = CaseToRoute("h-t", "h-c", "CT", "CHEST")
    people = [
        _reader(user_id="ok"),
        _reader(user_id="senior", role=Role.SENIOR),
        _reader(user_id="off", on_duty=False),
        _reader(user_id="unlicensed", licensed_for=frozenset()),
        _reader(user_id="mr", subspecialties=(("MR", "*"),)),
        _reader(user_id="coordinator", role=Role.COORDINATOR),
        _reader(user_id="declined"),
        _reader(user_id="continuity", open_load=5),
    ]
    ranked = route(people, case, read_patient_before=frozenset({"continuity"}), exclude=frozenset({"declined"}))
    assert [c.user_id for c in ranked] == ["continuity", "ok", "senior"]
    assert ranked[-1].is_senior and ranked[0].read_patient_before and ranked[0].open_load == 5
