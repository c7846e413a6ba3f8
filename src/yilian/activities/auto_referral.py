"""Activities of the auto-referral workflow: decide what becomes of an arrived study, and record the decision."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from yilian.db.engine import reading
from yilian.db.queries import alliance
from yilian.db.queries import auto_referral as q
from yilian.db.queries import in_house as in_house_queries
from yilian.domain.agreement import Agreement
from yilian.domain.auto_referral import (
    ArrivedStudy,
    AutoActivity,
    AutoOutcome,
    FindUnreferredInput,
    OrderFacts,
    Plan,
    PlanInput,
    RecordAutoInput,
    auto_agreement,
    order_facts,
    referral_id,
    same_person,
)
from yilian.domain.referral_io import CaseFacts, ReferralInput, ReferralPolicy
from yilian.domain.roles import Actor, Role


class AutoReferralActivities:
    """Bound to one engine; both methods are idempotent (the patient is matched before it is added; the decision
    is written once per study)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @activity.defn(name=AutoActivity.PLAN)
    async def plan_auto_referral(self, inp: PlanInput) -> Plan:
        """What becomes of the study: left alone (and why), or the referral to start, with its patient registered."""
        async with self._engine.begin() as conn:
            if earlier := await q.referral_of_study(conn, inp.hospital_id, inp.study_instance_uid):
                return Plan(AutoOutcome.ALREADY_REFERRED, details={"referral_id": earlier})
            attrs, modalities = await q.study_of(conn, inp.hospital_id, inp.study_instance_uid)
            order = order_facts(attrs, modalities, inp.at.date())
            seen = _seen(order)
            in_house = await in_house_queries.policy_of(conn, inp.hospital_id)
            agreement: Agreement | None = None
            if in_house is not None and in_house.covers(order.modality):
                # The hospital reads this modality itself: it goes out under no agreement, and becomes a case by
                # itself only if the policy says so (domain/in_house.py).
                if not in_house.auto_read:
                    return Plan(AutoOutcome.NOT_COVERED, details={**seen, "in_house": "on_request"})
                seen = {**seen, "in_house": "auto_read"}
            else:
                agreement = auto_agreement(
                    await alliance.agreements_for(conn, inp.hospital_id), order.modality, order.body_part, inp.at
                )
                if agreement is None:
                    return Plan(AutoOutcome.NOT_COVERED, details=seen)
            agreement_id = agreement.id if agreement else None
            if not order.patient_id or order.birth_date is None:
                return Plan(AutoOutcome.INCOMPLETE, agreement_id=agreement_id, details=seen)
            doctors = await q.county_doctors(conn, inp.hospital_id)
            named = [d for d in doctors if same_person(order.requesting_physician, d["display_name"], d["username"])]
            sender = (named or doctors or [{}])[0]
            if not sender:
                return Plan(AutoOutcome.NO_SENDER, agreement_id=agreement_id, details=seen)
            issuer = order.issuer or await alliance.patient_id_issuer(conn, inp.hospital_id)
            existing = await alliance.find_patient(conn, inp.hospital_id, issuer, order.patient_id)
            if (
                existing
                and not order.birth_date_estimated
                and (existing["birth_date"] != order.birth_date or existing["sex"] != order.sex)
            ):
                return Plan(AutoOutcome.IDENTITY_MISMATCH, agreement_id=agreement_id, details=seen)
            patient = existing["id"] if existing else await alliance.register_patient(
                conn, hospital_id=inp.hospital_id, issuer=issuer, patient_id=order.patient_id,
                name=order.patient_name or order.patient_id, birth_date=order.birth_date, sex=order.sex, now=inp.at,
            )  # fmt: skip
        facts = CaseFacts(
            referral_id=referral_id(inp.hospital_id, inp.study_instance_uid, inp.at),
            requesting_hospital_id=inp.hospital_id,
            reading_hospital_id=agreement.reading_hospital_id if agreement else inp.hospital_id,
            patient_ref=str(patient),
            study_instance_uid=inp.study_instance_uid,
            modality=order.modality,
            body_part=order.body_part,
            clinical_question=order.clinical_question,
            priority=order.priority,
            difficult=False,
            submitted_by=Actor(sender["id"], Role.COUNTY_DOCTOR, inp.hospital_id, sender["display_name"]),
            auto=True,
        )
        if agreement is None:
            assert in_house is not None  # covered in-house, with auto_read
            policy = ReferralPolicy.from_in_house(in_house, share_link_days=inp.share_link_days)
        else:
            policy = ReferralPolicy.from_agreement(agreement, share_link_days=inp.share_link_days)
        details = {**seen, "sender": sender["id"], "sender_named_in_order": bool(named)}
        return Plan(AutoOutcome.REFERRED, ReferralInput(facts, policy), agreement_id, details)

    @activity.defn(name=AutoActivity.RECORD)
    async def record_auto_referral(self, inp: RecordAutoInput) -> bool:
        async with self._engine.begin() as conn:
            return await q.record_decision(conn, inp)

    @activity.defn(name=AutoActivity.FIND_UNREFERRED)
    async def find_unreferred_studies(self, inp: FindUnreferredInput) -> list[ArrivedStudy]:
        """The sweep's candidates. Measured on the archive's clock (its rows carry wall-clock times), not the
        workflow's."""
        now = datetime.now(UTC)
        async with reading(self._engine) as conn:
            rows = await q.unreferred_studies(
                conn,
                quiet_before=now - timedelta(seconds=inp.quiet_seconds),
                stored_since=now - timedelta(hours=inp.lookback_hours),
                limit=inp.limit,
                hospital_id=inp.hospital_id,
            )
        return [ArrivedStudy(hospital_id, uid) for hospital_id, uid in rows]

    def all(self) -> list[Callable[..., Any]]:
        return [self.plan_auto_referral, self.record_auto_referral, self.find_unreferred_studies]


def _seen(order: OrderFacts) -> dict[str, Any]:
    """The order attributes the decision rested on, for the audit row (no patient name, no birth date)."""
    return {
        "modality": order.modality,
        "body_part": order.body_part,
        "priority": str(order.priority),
        "clinical_question": order.clinical_question,
        "requesting_physician": order.requesting_physician,
        "birth_date_estimated": order.birth_date_estimated,
    }
