"""Notices are a kind plus parameters: the server catalogue has every kind in zh-CN and en, and no workflow writes
words for people (the web app's catalogue is held to the same kinds by web/src/i18n/notices.test.ts)."""

from __future__ import annotations

import ast
import re
import string
from datetime import UTC, datetime
from pathlib import Path

import pytest

from yilian.domain.notice import NOTICE_PARAMS, NoticeKind, notice_params
from yilian.domain.quality import DefectReason
from yilian.notify.messages import DEFAULT_LANGUAGE, DEFECT_WORDS, TEMPLATES, Language, render, render_all
from yilian.notify.webhook import delivery_body

WORKFLOWS = Path(__file__).parents[2] / "src" / "yilian" / "workflows"
SAMPLE = {
    "referral_id": "ref-20260101-abc",
    "study_instance_uid": "1.2.3.4",
    "priority": "urgent",
    "modality": "CT",
    "body_part": "CHEST",
    "clinical_question": "咳嗽两周",
    "comments": "size of the nodule?",
    "request": "prior CT please",
    "reasons": "motion,positioning",
    "answer": "uploaded",
    "note": "tension pneumothorax",
    "consult_id": "con-20260101-abc",
    "title": "肺结节 MDT",
    "starts_at": "2026-12-08T01:30:00+00:00",
    "duration_minutes": "30",
    "reason": "患者转院",
    "recommendation": "胸腔镜下楔形切除",
    "case_id": "tc-20260101-abc",
    "lecture_id": "lec-20260101-abc",
    "credit": "2",
    "until": "2026-12-08T02:15:00+00:00",
    "count": "3",
    "checked": "1000",
    "run_id": "yilian-fixity-daily-2026-12-08T18:00:00Z",
}


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _params(kind: NoticeKind) -> dict[str, str]:
    return {k: SAMPLE[k] for k in NOTICE_PARAMS[kind]}


def test_every_kind_has_words_in_both_languages() -> None:
    assert set(TEMPLATES) == set(NoticeKind) == set(NOTICE_PARAMS)
    for kind, texts in TEMPLATES.items():
        assert set(texts) == set(Language), kind
        for language, text in texts.items():
            assert text.title.strip() and text.body.strip(), (kind, language)


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_templates_use_only_the_kinds_parameters_and_both_languages_say_the_same(kind: NoticeKind) -> None:
    used = {lang: _placeholders(t.title) | _placeholders(t.body) for lang, t in TEMPLATES[kind].items()}
    for language, names in used.items():
        assert names <= NOTICE_PARAMS[kind], (kind, language, names - NOTICE_PARAMS[kind])
    assert used[Language.ZH_CN] == used[Language.EN], kind


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_rendering_fills_every_placeholder(kind: NoticeKind) -> None:
    for language, text in render_all(kind, _params(kind)).items():
        words = text.title + text.body
        assert "{" not in words and "—" not in words, (kind, language, text)


def test_the_priority_is_said_in_the_readers_language() -> None:
    params = _params(NoticeKind.OFFER) | {"priority": "stat"}
    assert render(NoticeKind.OFFER, params, Language.ZH_CN).title == "新的危急病例"
    assert render(NoticeKind.OFFER, params, Language.EN).title == "New STAT case offered"
    assert render(NoticeKind.OFFER, params) == render(NoticeKind.OFFER, params, DEFAULT_LANGUAGE)


def test_a_retakes_defect_reasons_are_said_in_the_readers_language() -> None:
    params = _params(NoticeKind.RETAKE_REQUESTED) | {"reasons": "motion,positioning"}
    zh = render(NoticeKind.RETAKE_REQUESTED, params, Language.ZH_CN).body
    en = render(NoticeKind.RETAKE_REQUESTED, params, Language.EN).body
    assert "原因：运动伪影、体位。" in zh and "motion" not in zh
    assert "needs a retake: motion, positioning." in en
    for language in Language:  # every reason a reader can give has its words
        assert set(DEFECT_WORDS[language]) == {str(r) for r in DefectReason}


def test_what_people_wrote_is_carried_as_is() -> None:
    tricky = {"referral_id": "r-1", "request": "{referral_id} 100% {0}"}
    assert render(NoticeKind.NEEDS_INFO, tricky, Language.EN).body == "Referral r-1: {referral_id} 100% {0}"


def test_a_missing_parameter_shows_as_a_dash() -> None:
    assert render(NoticeKind.CRITICAL_FINDING, {"referral_id": "r-1"}, Language.EN).body == "Referral r-1: —"


def test_notice_params_must_match_the_kind() -> None:
    assert notice_params(NoticeKind.REPORT_READY, referral_id="r-1") == {"referral_id": "r-1"}
    with pytest.raises(ValueError, match="report_ready carries"):
        notice_params(NoticeKind.REPORT_READY, referral_id="r-1", note="extra")
    with pytest.raises(ValueError):
        notice_params(NoticeKind.NEEDS_INFO, referral_id="r-1")


def test_a_webhook_carries_the_kind_its_parameters_and_both_languages() -> None:
    at = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    note = {"referral_id": "r-1", "kind": "sla_breach", "params": {"referral_id": "r-1", "priority": "stat"}}
    body = delivery_body("r-1/7/sla_breach", "h-1", {**note, "title": None, "body": None, "created_at": at})
    assert body["kind"] == "sla_breach" and body["params"] == note["params"]
    assert body["text"] == {
        "zh-CN": {"title": "已超时", "body": "申请 r-1（危急）未在时限内完成"},
        "en": {"title": "SLA breached", "body": "Referral r-1 (STAT) missed its target"},
    }
    assert (body["title"], body["body"]) == ("已超时", "申请 r-1（危急）未在时限内完成")
    assert body["at"] == "2026-01-01T08:00:00+00:00"


def test_a_notice_recorded_before_parameters_keeps_its_text() -> None:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    old = {"referral_id": "r-0", "kind": "offer", "params": {}, "title": "New stat case offered", "body": "CT CHEST: x"}
    body = delivery_body("r-0/2/offer", "h-1", {**old, "created_at": at})
    assert body["text"] == {"en": {"title": "New stat case offered", "body": "CT CHEST: x"}}
    assert (body["title"], body["body"]) == ("New stat case offered", "CT CHEST: x")


def _strings_outside_docstrings(tree: ast.AST) -> list[str]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_workflow_writes_words_for_people() -> None:
    """Two words in a row in a string is a sentence for someone; a workflow emits kinds and parameters instead."""
    sentences = {
        f"{path.name}: {text!r}"
        for path in sorted(WORKFLOWS.glob("*.py"))
        for text in _strings_outside_docstrings(ast.parse(path.read_text()))
        if re.search(r"[A-Za-z]{2,} [A-Za-z]{2,}", text)
    }
    assert sentences == set()


def test_the_sentence_finder_finds_one() -> None:
    tree = ast.parse('"""A docstring is fine."""\nx = {"kind": "offer", "title": "New case offered"}\n')
    assert [s for s in _strings_outside_docstrings(tree) if re.search(r"[A-Za-z]{2,} [A-Za-z]{2,}", s)] == [
        "New case offered"
    ]


def test_a_locked_links_end_is_shown_as_an_instant() -> None:
    params = {"referral_id": "r-1", "until": "2026-12-08T10:15:00+08:00"}
    assert "2026-12-08 02:15 UTC" in render(NoticeKind.SHARE_LINK_LOCKED, params, Language.EN).body
    assert "2026-12-08 02:15 UTC" in render(NoticeKind.SHARE_LINK_LOCKED, params, Language.ZH_CN).body
