"""The lecture's rules as data: every (action, state, who) of the table, plans, the audience, the credit rule, and
the HLS text helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from yilian.domain import lecture as rules
from yilian.domain import lecture_media as media
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.lecture import (
    RULES,
    Audience,
    Given,
    LectureAction,
    LectureCase,
    LectureState,
    Plan,
    Quiz,
    QuizQuestion,
    Standing,
)
from yilian.domain.roles import SYSTEM_ACTOR, Actor, Role

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
HE = Actor("he.educator", Role.EDUCATOR, "h-provincial")
LIU = Actor("liu.coord", Role.COORDINATOR, "h-provincial")
OTHER_COORD = Actor("ma.coord", Role.COORDINATOR, "h-anping")
WANG = Actor("wang.expert", Role.EXPERT, "h-provincial")
LI = Actor("li.expert", Role.EXPERT, "h-provincial")
ZHAO = Actor("zhao.anping", Role.COUNTY_DOCTOR, "h-anping")
PEOPLE = (HE, LIU, OTHER_COORD, WANG, LI, ZHAO, SYSTEM_ACTOR)
QUIZ = Quiz((QuizQuestion("肺结节随访？", ("3 个月", "12 个月"), 0), QuizQuestion("CT 值？", ("HU", "dB"), 0)))


def plan(**kw: object) -> Plan:
    base: dict[str, object] = dict(title="肺结节的随访", starts_at=NOW + timedelta(days=2), duration_minutes=60,
                                   speaker_ids=("wang.expert",), quiz=QUIZ)  # fmt: skip
    base.update(kw)
    return Plan(**base)  # type: ignore[arg-type]


def case(state: LectureState | None) -> LectureCase:
    return LectureCase("lec-1", state, "liu.coord", ("wang.expert",), 3)


def _who_may(action: LectureAction, state: LectureState | None) -> set[str]:
    return {a.user_id for a in PEOPLE if rules.permitted(case(state), action, a)}


@pytest.mark.parametrize("action", list(LectureAction))
@pytest.mark.parametrize("state", [None, *LectureState])
def test_the_table_says_who_and_when(action: LectureAction, state: LectureState | None) -> None:
    rule = RULES[action]
    who = _who_may(action, state)
    if state not in rule.from_states:
        assert who == set()
        return
    expected = {
        rules.Guard.SYSTEM: {"system"},
        # scheduling: any educator or coordinator; afterwards the coordinator who scheduled it, or any educator
        rules.Guard.ORGANISER: {"he.educator", "liu.coord", "ma.coord"} if state is None else {"he.educator",
                                                                                                "liu.coord"},
        rules.Guard.STAGE: {"he.educator", "liu.coord", "wang.expert"},
        rules.Guard.STAGE_OR_SYSTEM: {"he.educator", "liu.coord", "wang.expert", "system"},
    }[rule.guard]  # fmt: skip
    assert who == expected


def test_transition_applies_the_rule_and_records_the_event() -> None:
    scheduled, event = rules.transition(case(None), LectureAction.SCHEDULE, HE, NOW, Given(now=NOW, plan=plan()))
    assert scheduled.state is LectureState.SCHEDULED and scheduled.organiser_id == "he.educator"
    assert (event.from_state, event.to_state, event.seq) == (None, LectureState.SCHEDULED, 4)
    live, _ = rules.transition(scheduled, LectureAction.START, WANG, NOW)
    assert live.state is LectureState.LIVE
    with pytest.raises(YilianError) as refused:
        rules.transition(live, LectureAction.CANCEL, HE, NOW)
    assert refused.value.code is ErrorCode.INVALID_TRANSITION


def test_a_stranger_is_refused_before_the_state_is_looked_at() -> None:
    with pytest.raises(YilianError) as refused:
        rules.validate(case(LectureState.LIVE), LectureAction.CANCEL, ZHAO, Given(comment="x"))
    assert refused.value.code is ErrorCode.FORBIDDEN


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"title": " "}, "title"),
        ({"starts_at": NOW - timedelta(hours=1)}, "in the past"),
        ({"starts_at": NOW + timedelta(days=400)}, "a year ahead"),
        ({"duration_minutes": 5}, "duration"),
        ({"speaker_ids": ()}, "speakers"),
        ({"speaker_ids": ("a", "a")}, "speakers"),
        ({"credit": 50.0}, "credit"),
        ({"threshold": 0.0}, "threshold"),
        ({"quiz": Quiz((QuizQuestion("q", ("only",), 0),))}, "options"),
        ({"quiz": Quiz((QuizQuestion("q", ("a", "b"), 2),))}, "not one of its options"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_problem(change: dict[str, object], problem: str) -> None:
    with pytest.raises(YilianError) as refused:
        rules.validate(case(None), LectureAction.SCHEDULE, HE, Given(now=NOW, plan=plan(**change)))
    assert refused.value.code is ErrorCode.VALIDATION_FAILED
    assert problem in refused.value.message
    assert rules.plan_problems(plan(), NOW) == []


def test_cancelling_needs_a_reason() -> None:
    with pytest.raises(YilianError) as refused:
        rules.validate(case(LectureState.SCHEDULED), LectureAction.CANCEL, HE, Given(comment="  "))
    assert refused.value.code is ErrorCode.VALIDATION_FAILED


def _p(user: str, role: Role, hospital: str | None) -> Principal:
    return Principal(user, role, hospital, user)


@pytest.mark.parametrize(
    ("who", "hospitals", "sees"),
    [
        (_p("zhao.anping", Role.COUNTY_DOCTOR, "h-anping"), ("h-anping",), True),
        (_p("sun.qingshan", Role.COUNTY_DOCTOR, "h-qingshan"), ("h-anping",), False),
        (_p("sun.qingshan", Role.COUNTY_DOCTOR, "h-qingshan"), (), True),  # the whole alliance
        (_p("wang.expert", Role.EXPERT, "h-provincial"), ("h-anping",), True),  # the speaker
        (_p("li.expert", Role.EXPERT, "h-provincial"), ("h-anping",), False),
        (_p("he.educator", Role.EDUCATOR, "h-provincial"), ("h-anping",), True),
        (_p("liu.coord", Role.COORDINATOR, "h-provincial"), ("h-anping",), True),
        (_p("admin", Role.ADMIN, None), ("h-anping",), True),
        (_p("pat", Role.PATIENT, None), (), False),
        (_p("gw", Role.GATEWAY, "h-anping"), (), False),
    ],
)
def test_the_audience(who: Principal, hospitals: tuple[str, ...], sees: bool) -> None:
    assert rules.in_audience(who, Audience("liu.coord", ("wang.expert",), hospitals)) is sees


def test_quiz_scoring() -> None:
    assert QUIZ.score([0, 0]) == (2, True)
    assert QUIZ.score([0, 1]) == (1, False)  # 50 % under the 60 % pass mark
    assert QUIZ.score([]) == (0, False)
    assert Quiz().score([]) == (0, False)


@pytest.mark.parametrize(
    ("watched", "passed", "earns"),
    [(2880.0, True, True), (2879.0, True, False), (3600.0, False, False), (2880.0, None, True), (4000.0, True, True)],
)
def test_credit_needs_the_threshold_and_the_quiz(watched: float, passed: bool | None, earns: bool) -> None:
    assert rules.earns_credit(Standing(watched, 3600.0, passed), 0.8) is earns


def test_nothing_recorded_earns_nothing() -> None:
    assert not rules.earns_credit(Standing(100.0, 0.0, None), 0.8)


def test_question_limits() -> None:
    assert rules.question_problems("为什么？") == []
    assert "at most 500" in rules.question_problems("问" * 501)[0]
    assert rules.question_problems("   ") == ["an empty question"]


LIVE = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-PLAYLIST-TYPE:EVENT
#EXT-X-TARGETDURATION:3
#EXT-X-MEDIA-SEQUENCE:0
#EXTINF:2.000,
seg_000001.ts
#EXT-X-DISCONTINUITY
#EXTINF:1.960,
seg_000002.ts
"""


def test_playlist_segments_and_the_replay_made_from_live() -> None:
    assert media.segments(LIVE) == [media.Segment("seg_000001.ts", 2.0), media.Segment("seg_000002.ts", 1.96)]
    replay = media.replay_from_live(LIVE)
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in replay and "EVENT" not in replay and media.ended(replay)
    assert media.segments(replay) == media.segments(LIVE) and not media.ended(LIVE)


def test_every_uri_of_a_served_playlist_carries_the_token() -> None:
    text = LIVE + '#EXT-X-MAP:URI="init.mp4"\n'
    served = media.with_token(text, "TOKEN")
    assert "seg_000001.ts?t=TOKEN" in served and 'URI="init.mp4?t=TOKEN"' in served
    assert [s.uri for s in media.segments(served)] == ["seg_000001.ts?t=TOKEN", "seg_000002.ts?t=TOKEN"]


def test_a_playlist_cut_at_its_token_slots_is_the_served_playlist() -> None:
    text = LIVE + '#EXT-X-MAP:URI="init.mp4"\n'
    slots = media.token_slots(text)
    assert len(slots) == 4  # two segments and the init section take the token
    assert "TOKEN".join(slots) == media.with_token(text, "TOKEN")
    assert "x.y-z".join(media.token_slots(text + "\x00")) == media.with_token(text, "x.y-z")  # no stray slot


@pytest.mark.parametrize(
    ("name", "ok"),
    [("live.m3u8", True), ("seg_000001.ts", True), ("../x.ts", False), (".live.m3u8.tmp", False),
     ("seg_000001.ts.part", False), ("a/b.ts", False), ("chapters.json", True)],
)  # fmt: skip
def test_only_media_names_are_served(name: str, ok: bool) -> None:
    assert media.servable(name) is ok
