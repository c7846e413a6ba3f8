"""Reader ranking: eligibility, exclusion, continuity, experts before seniors, specificity, load, id."""

from __future__ import annotations

import pytest

from yilian.domain.routing import ExpertCandidate, eligible, rank_candidates


def _c(user_id: str, **kw: object) -> ExpertCandidate:
    fields: dict[str, object] = {
        "name": user_id,
        "on_duty": True,
        "licensed": True,
        "subspecialty_match": True,
        "open_load": 0,
        "read_patient_before": False,
        "specificity": 2,
        "is_senior": False,
    }
    fields.update(kw)
    return ExpertCandidate(user_id=user_id, **fields)  # type: ignore[arg-type]


def _ids(candidates: list[ExpertCandidate], exclude: frozenset[str] = frozenset()) -> list[str]:
    return [c.user_id for c in rank_candidates(candidates, exclude)]


@pytest.mark.parametrize(
    ("candidate", "ok"),
    [
        (_c("a"), True),
        (_c("a", on_duty=False), False),
        (_c("a", licensed=False), False),
        (_c("a", subspecialty_match=False), False),
    ],
)
def test_eligible(candidate: ExpertCandidate, ok: bool) -> None:
    assert eligible(candidate) is ok


def test_ineligible_candidates_are_removed() -> None:
    pool = [
        _c("off", on_duty=False),
        _c("unlicensed", licensed=False),
        _c("wrong-sub", subspecialty_match=False),
        _c("ok"),
    ]
    assert _ids(pool) == ["ok"]


def test_excluded_candidates_are_removed() -> None:
    assert _ids([_c("a"), _c("b"), _c("c")], frozenset({"a", "c"})) == ["b"]


def test_nobody_left() -> None:
    assert _ids([_c("a", on_duty=False)]) == []
    assert _ids([]) == []


def test_same_patient_reader_first_even_with_higher_load() -> None:
    pool = [_c("light", open_load=0), _c("continuity", open_load=9, read_patient_before=True)]
    assert _ids(pool) == ["continuity", "light"]


def test_same_patient_senior_generalist_still_first() -> None:
    pool = [_c("expert"), _c("senior", is_senior=True, specificity=0, open_load=5, read_patient_before=True)]
    assert _ids(pool) == ["senior", "expert"]


def test_experts_before_seniors() -> None:
    pool = [_c("senior", is_senior=True, open_load=0), _c("expert", open_load=7, specificity=0)]
    assert _ids(pool) == ["expert", "senior"]


def test_subspecialist_before_generalist() -> None:
    pool = [
        _c("general", specificity=0),
        _c("modality", specificity=1, open_load=3),
        _c("exact", specificity=2, open_load=6),
    ]
    assert _ids(pool) == ["exact", "modality", "general"]


def test_lowest_load_then_user_id() -> None:
    pool = [_c("b", open_load=2), _c("c", open_load=1), _c("a", open_load=2), _c("d", open_load=1)]
    assert _ids(pool) == ["c", "d", "a", "b"]


def test_ranking_does_not_change_the_input() -> None:
    pool = [_c("b", open_load=2), _c("a", open_load=1)]
    before = list(pool)
    rank_candidates(pool)
    assert pool == before
