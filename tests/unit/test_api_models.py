"""The API's typed contract: the terms model is the domain's AgreementTerms, the policy keeps its history shape,
and every operation has a stable unique id (`make test` checks that web/openapi.json is current)."""

from __future__ import annotations

from dataclasses import fields
from datetime import time

import pytest
from pydantic import ValidationError

from yilian.api.models.agreement import AgreementTerms as TermsModel
from yilian.api.openapi import openapi_document
from yilian.api.schemas import Page
from yilian.domain.agreement import (
    Agreement,
    AgreementTerms,
    CaseTerms,
    HalfHostingRules,
    SecondReadingPolicy,
    ServiceMode,
    SlaTargets,
)
from yilian.domain.referral_io import ReferralPolicy

TERMS = AgreementTerms(
    sla=SlaTargets(15, 60, 480),
    offer_timeout_minutes=5,
    second_reading=SecondReadingPolicy.JUNIOR_READERS,
    half_hosting=HalfHostingRules(frozenset({"CT"}), time(18, 0), time(8, 0), 2),
    timezone="Asia/Urumqi",
)


def test_the_terms_model_has_the_domain_terms_fields_and_defaults() -> None:
    assert set(TermsModel.model_fields) == {f.name for f in fields(AgreementTerms)}
    assert TermsModel().value() == AgreementTerms()


def test_the_terms_model_round_trips_the_domain_value() -> None:
    assert TermsModel.of(TERMS).value() == TERMS


@pytest.mark.parametrize(
    "bad",
    [{"offer_timeout_minutes": 0}, {"sla": {"stat_minutes": 0}}, {"timezone": "Mars/Olympus"},
     {"half_hosting": {"hours_start": "25:00"}}, {"cooperation_modalities": ["ct"]}],
)  # fmt: skip
def test_the_terms_model_refuses_terms_out_of_bounds(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        TermsModel.model_validate(bad)


def test_the_referral_policy_is_the_agreements_case_terms_under_the_same_names() -> None:
    agreement = Agreement("agr-1", "h-a", "h-b", ServiceMode.FULL_HOSTING, TERMS)
    policy = ReferralPolicy.from_agreement(agreement, share_link_days=9)
    assert policy.agreement_id == "agr-1" and policy.share_link_days == 9
    assert all(getattr(policy, f.name) == getattr(TERMS, f.name) for f in fields(CaseTerms))
    # Running workflows' histories hold this flat shape: the names may grow, never move.
    history_shape = {
        "agreement_id", "sla", "offer_timeout_minutes", "grace_minutes", "auto_reassign", "max_auto_reassigns",
        "second_reading", "second_reading_share", "pause_sla_in_needs_info", "critical_ack_minutes",
        "critical_renotify_max", "amendment_window_days", "share_link_days",
    }  # fmt: skip
    assert history_shape <= {f.name for f in fields(ReferralPolicy)}


def test_a_full_page_points_at_the_next_and_a_short_one_is_the_last() -> None:
    assert Page[int].of([1, 2], limit=2, offset=4).next_offset == 6
    assert Page[int].of([1], limit=2, offset=4).next_offset is None
    assert Page[int].of([1, 2, 3]).model_dump() == {"items": [1, 2, 3], "limit": None, "offset": 0, "next_offset": None}


def test_every_operation_has_a_unique_identifier_for_a_name() -> None:
    ids = [op["operationId"] for ops in openapi_document()["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert all(i.isidentifier() and i == i.lower() for i in ids), ids
    assert {"referrals_accept", "referrals_save_draft", "admin_list_hospitals", "directory_list_hospitals"} <= set(ids)


def test_no_json_route_answers_an_untyped_object() -> None:
    for path, ops in openapi_document()["paths"].items():
        for method, op in ops.items():
            for status, answer in op["responses"].items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                if status.startswith("2") and schema is not None and not path.startswith("/dicomweb"):
                    assert "$ref" in schema, f"{method.upper()} {path} {status} answers {schema}"
