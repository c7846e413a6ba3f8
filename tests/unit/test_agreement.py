"""Agreement coverage per service mode, SLA targets per priority, and the second-reading policy."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from yilian.domain.agreement import (
    Agreement,
    AgreementTerms,
    Coverage,
    CoverageRequest,
    HalfHostingRules,
    Priority,
    SecondReadingPolicy,
    ServiceMode,
    SlaTargets,
    coverage,
    needs_second_reading,
)

# 10:00 in Shanghai (UTC+8, no DST): outside the night window used below.
DAYTIME = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)


def _agreement(mode: ServiceMode, *, active: bool = True, **terms: object) -> Agreement:
    return Agreement("a-1", "h-county", "h-tertiary", mode, AgreementTerms(**terms), active)  # type: ignore[arg-type]


def _request(modality: str = "CT", *, difficult: bool = False, at: datetime = DAYTIME, **kw: object) -> CoverageRequest:
    return CoverageRequest(modality, "CHEST", Priority.ROUTINE, difficult, at, **kw)  # type: ignore[arg-type]


def _shanghai(hour: int, minute: int = 0, day: int = 1) -> datetime:
    """A UTC instant that is hour:minute local time in Asia/Shanghai on 2024-03-<day>."""
    return datetime(2024, 3, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def test_full_hosting_covers_everything() -> None:
    got = coverage(_agreement(ServiceMode.FULL_HOSTING), _request("XA"))
    assert got == Coverage(True, "full hosting covers every study")


@pytest.mark.parametrize(("difficult", "covered"), [(True, True), (False, False)])
def test_difficult_only(difficult: bool, covered: bool) -> None:
    got = coverage(_agreement(ServiceMode.DIFFICULT_ONLY), _request(difficult=difficult))
    assert got.covered is covered
    if covered:
        assert got.reason == "difficult case"
    else:
        assert "difficult" in got.reason
        assert got.reason == "this hospital's agreement covers only cases flagged difficult"


@pytest.mark.parametrize(
    ("modalities", "modality", "expected"),
    [
        (frozenset(), "DX", Coverage(True, "within the cooperation's subspecialties")),
        (frozenset({"MR", "CT"}), "MR", Coverage(True, "within the cooperation's subspecialties")),
        (frozenset({"MR", "CT"}), "DX", Coverage(False, "the cooperation covers only CT, MR")),
    ],
)
def test_cooperation(modalities: frozenset[str], modality: str, expected: Coverage) -> None:
    agreement = _agreement(ServiceMode.COOPERATION, cooperation_modalities=modalities)
    assert coverage(agreement, _request(modality)) == expected


@pytest.mark.parametrize("mode", list(ServiceMode))
def test_inactive_agreement_covers_nothing(mode: ServiceMode) -> None:
    agreement = _agreement(mode, active=False, half_hosting=HalfHostingRules(modalities=frozenset({"CT"})))
    assert coverage(agreement, _request("CT", difficult=True)) == Coverage(False, "the agreement is not active")


def test_half_hosting_by_modality() -> None:
    agreement = _agreement(ServiceMode.HALF_HOSTING, half_hosting=HalfHostingRules(modalities=frozenset({"CT", "MR"})))
    assert coverage(agreement, _request("CT")) == Coverage(True, "half hosting covers CT")
    assert coverage(agreement, _request("DX")) == Coverage(False, "half hosting covers CT, MR, or declared overflow")


NIGHTS = HalfHostingRules(hours_start=time(18, 0), hours_end=time(8, 0))


@pytest.mark.parametrize(
    ("at", "covered"),
    [
        (_shanghai(17, 59), False),
        (_shanghai(18, 0), True),  # start is inside the window
        (_shanghai(23, 59), True),
        (_shanghai(0, 0, day=2), True),
        (_shanghai(7, 59, day=2), True),
        (_shanghai(8, 0, day=2), False),  # end is outside the window
        (_shanghai(12, 0), False),
        # 02:00 UTC would be inside 18:00-08:00 if the window were read in UTC; it is 10:00 in Shanghai.
        (datetime(2024, 3, 1, 2, 0, tzinfo=UTC), False),
        # 17:00 UTC is 01:00 in Shanghai.
        (datetime(2024, 3, 1, 17, 0, tzinfo=UTC), True),
    ],
)
def test_half_hosting_by_hours_across_midnight_in_local_time(at: datetime, covered: bool) -> None:
    got = coverage(_agreement(ServiceMode.HALF_HOSTING, half_hosting=NIGHTS), _request("DX", at=at))
    if covered:
        assert got == Coverage(True, "submitted within the hosted hours")
    else:
        assert got == Coverage(False, "half hosting covers no modality or 18:00-08:00, or declared overflow")


@pytest.mark.parametrize(("hour", "minute", "covered"), [(8, 59, False), (9, 0, True), (11, 59, True), (12, 0, False)])
def test_half_hosting_by_daytime_window(hour: int, minute: int, covered: bool) -> None:
    rules = HalfHostingRules(hours_start=time(9, 0), hours_end=time(12, 0))
    got = coverage(_agreement(ServiceMode.HALF_HOSTING, half_hosting=rules), _request("DX", at=_shanghai(hour, minute)))
    assert got.covered is covered


@pytest.mark.parametrize(
    ("overflow", "used", "expected"),
    [
        (True, 0, Coverage(True, "overflow within today's cap")),
        (True, 2, Coverage(True, "overflow within today's cap")),
        (True, 3, Coverage(False, "today's overflow cap of 3 cases is used up")),
        (True, 7, Coverage(False, "today's overflow cap of 3 cases is used up")),
        (False, 0, Coverage(False, "half hosting covers no modality, or declared overflow")),
    ],
)
def test_half_hosting_by_overflow_with_daily_cap(overflow: bool, used: int, expected: Coverage) -> None:
    agreement = _agreement(ServiceMode.HALF_HOSTING, half_hosting=HalfHostingRules(overflow_daily_cap=3))
    assert coverage(agreement, _request("DX", overflow=overflow, overflow_used_today=used)) == expected


def test_half_hosting_without_rules_covers_nothing() -> None:
    got = coverage(_agreement(ServiceMode.HALF_HOSTING), _request("CT", overflow=True))
    assert got == Coverage(False, "today's overflow cap of 0 cases is used up")


def test_half_hosting_modality_wins_over_used_up_overflow() -> None:
    rules = HalfHostingRules(modalities=frozenset({"CT"}), overflow_daily_cap=1)
    got = coverage(
        _agreement(ServiceMode.HALF_HOSTING, half_hosting=rules), _request("CT", overflow=True, overflow_used_today=1)
    )
    assert got == Coverage(True, "half hosting covers CT")


@pytest.mark.parametrize(
    ("targets", "priority", "expected"),
    [
        (SlaTargets(), Priority.STAT, timedelta(minutes=30)),
        (SlaTargets(), Priority.URGENT, timedelta(hours=2)),
        (SlaTargets(), Priority.ROUTINE, timedelta(hours=24)),
        (SlaTargets(15, 60, 480), Priority.STAT, timedelta(minutes=15)),
        (SlaTargets(15, 60, 480), Priority.URGENT, timedelta(minutes=60)),
        (SlaTargets(15, 60, 480), Priority.ROUTINE, timedelta(hours=8)),
    ],
)
def test_sla_target_per_priority(targets: SlaTargets, priority: Priority, expected: timedelta) -> None:
    assert targets.target(priority) == expected


P = SecondReadingPolicy


@pytest.mark.parametrize(
    ("policy", "share", "difficult", "junior", "draw", "expected"),
    [
        (P.ALWAYS, 0.0, False, False, 0.99, True),
        (P.NEVER, 1.0, True, True, 0.0, False),
        (P.DIFFICULT, 0.0, True, False, 0.99, True),
        (P.DIFFICULT, 1.0, False, True, 0.0, False),
        (P.JUNIOR_READERS, 0.0, False, True, 0.99, True),
        (P.JUNIOR_READERS, 1.0, True, False, 0.0, False),
        (P.RANDOM_SHARE, 0.2, False, False, 0.0, True),
        (P.RANDOM_SHARE, 0.2, False, False, 0.19999, True),
        (P.RANDOM_SHARE, 0.2, False, False, 0.2, False),  # draw == share is outside the share
        (P.RANDOM_SHARE, 0.2, True, True, 0.5, False),
        (P.RANDOM_SHARE, 0.0, True, True, 0.0, False),
        (P.RANDOM_SHARE, 1.0, False, False, 0.999999, True),
    ],
)
def test_needs_second_reading(
    policy: SecondReadingPolicy, share: float, difficult: bool, junior: bool, draw: float, expected: bool
) -> None:
    got = needs_second_reading(policy, share, difficult=difficult, reader_is_junior=junior, random_draw=draw)
    assert got is expected


def test_agreement_terms_json_round_trip() -> None:
    terms = AgreementTerms(
        sla=SlaTargets(15, 60, 480),
        second_reading=SecondReadingPolicy.RANDOM_SHARE,
        second_reading_share=0.35,
        half_hosting=HalfHostingRules(frozenset({"MR", "CT"}), time(18, 0), time(8, 0), 3),
        cooperation_modalities=frozenset({"DX"}),
        timezone="Asia/Urumqi",
    )
    assert AgreementTerms.from_json(terms.as_json()) == terms
    assert terms.as_json()["half_hosting"] == {
        "modalities": ["CT", "MR"], "hours_start": "18:00", "hours_end": "08:00", "overflow_daily_cap": 3,
    }  # fmt: skip


def test_terms_stored_before_a_term_existed_take_its_default() -> None:
    assert AgreementTerms.from_json({}) == AgreementTerms()
    assert AgreementTerms.from_json({"sla": {"stat_minutes": 20}}).sla == SlaTargets(stat_minutes=20)
