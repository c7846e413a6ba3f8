"""Tables (SQLAlchemy Core). Referral rows are projections written only by workflow activities."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()


def _ts(name: str, nullable: bool = True) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


hospitals = Table(
    "hospitals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("level", String(16), nullable=False),  # tertiary | county | township
    Column("patient_id_issuer", String(64), nullable=False),
    _ts("created_at", False),
)

agreements = Table(
    "agreements",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("requesting_hospital_id", ForeignKey("hospitals.id"), nullable=False),
    Column("reading_hospital_id", ForeignKey("hospitals.id"), nullable=False),
    Column("service_mode", String(32), nullable=False),
    Column("terms", JSONB, nullable=False),  # SLA targets, timeouts, second-reading policy, mode rules
    Column("active", Boolean, nullable=False, server_default="true"),
    _ts("created_at", False),
    Index("ix_agreements_requesting", "requesting_hospital_id"),
)

users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("role", String(32), nullable=False),
    Column("hospital_id", ForeignKey("hospitals.id"), nullable=True),
    Column("title", Text, nullable=False, server_default=""),
    Column("is_junior", Boolean, nullable=False, server_default="false"),
    Column("on_duty", Boolean, nullable=False, server_default="true"),
    Column("active", Boolean, nullable=False, server_default="true"),
    _ts("created_at", False),
)

reader_licences = Table(
    "reader_licences",
    metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("hospital_id", ForeignKey("hospitals.id"), primary_key=True),
)

reader_subspecialties = Table(
    "reader_subspecialties",
    metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("modality", String(16), primary_key=True),
    Column("body_part", String(64), primary_key=True),  # '*' for any
)

patients = Table(
    "patients",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("hospital_id", ForeignKey("hospitals.id"), nullable=False),
    Column("issuer", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("sex", String(1), nullable=False),
    _ts("created_at", False),
    UniqueConstraint("hospital_id", "issuer", "patient_id", name="uq_patient_per_hospital"),
)

referrals = Table(
    "referrals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("requesting_hospital_id", ForeignKey("hospitals.id"), nullable=False),
    Column("reading_hospital_id", ForeignKey("hospitals.id"), nullable=False),
    Column("agreement_id", ForeignKey("agreements.id"), nullable=False),
    Column("patient_ref", ForeignKey("patients.id"), nullable=False),
    Column("study_instance_uid", String(64), nullable=False),
    Column("modality", String(16), nullable=False),
    Column("body_part", String(64), nullable=False),
    Column("clinical_question", Text, nullable=False),
    Column("priority", String(16), nullable=False),
    Column("difficult", Boolean, nullable=False),
    Column("submitted_by", ForeignKey("users.id"), nullable=False),
    _ts("submitted_at", False),
    Column("state", String(32), nullable=False),
    Column("offered_to", String(64)),
    Column("reader_id", String(64)),
    Column("second_reader_id", String(64)),
    Column("sla_target_minutes", Integer, nullable=False),
    _ts("sla_due_at"),
    _ts("sla_warn_at"),
    Column("sla_paused", Boolean, nullable=False, server_default="false"),
    Column("warned", Boolean, nullable=False, server_default="false"),
    Column("breached", Boolean, nullable=False, server_default="false"),
    Column("escalated", Boolean, nullable=False, server_default="false"),
    Column("critical", Boolean, nullable=False, server_default="false"),
    Column("critical_open", Boolean, nullable=False, server_default="false"),
    Column("report_version", Integer, nullable=False, server_default="0"),
    _ts("preliminary_at"),
    _ts("final_at"),
    _ts("closed_at"),
    Column("signer_id", String(64)),
    Column("discrepancy", String(16)),
    Column("last_seq", Integer, nullable=False),
    _ts("updated_at", False),
    Index("ix_referrals_reading_state", "reading_hospital_id", "state"),
    Index("ix_referrals_requesting_state", "requesting_hospital_id", "state"),
    Index("ix_referrals_reader", "reader_id"),
    Index("ix_referrals_offered", "offered_to"),
    Index("ix_referrals_patient", "patient_ref"),
    Index("ix_referrals_submitted_at", "submitted_at"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("referral_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("action", String(32), nullable=False),
    Column("from_state", String(32)),
    Column("to_state", String(32), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("actor_hospital_id", String(64)),
    _ts("at", False),
    Column("details", JSONB, nullable=False, server_default="{}"),
    UniqueConstraint("referral_id", "seq", name="uq_audit_referral_seq"),
    Index("ix_audit_at", "at"),
)

report_versions = Table(
    "report_versions",
    metadata,
    Column("referral_id", ForeignKey("referrals.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("author_id", String(64), nullable=False),
    Column("author_role", String(32), nullable=False),
    Column("author_name", Text, nullable=False),
    Column("findings", Text, nullable=False),
    Column("impression", Text, nullable=False),
    Column("structured", JSONB, nullable=False, server_default="{}"),
    Column("critical", Boolean, nullable=False),
    Column("critical_note", Text, nullable=False, server_default=""),
    _ts("created_at", False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("key", String(200), nullable=False),
    Column("recipient_id", ForeignKey("users.id"), nullable=False),
    Column("referral_id", String(64)),
    Column("kind", String(32), nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    _ts("created_at", False),
    _ts("read_at"),
    UniqueConstraint("key", "recipient_id", name="uq_notification_key_recipient"),
    Index("ix_notifications_recipient", "recipient_id", "created_at"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("hospital_id", ForeignKey("hospitals.id"), nullable=False),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default="true"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("webhook_id", ForeignKey("webhooks.id"), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("status", Integer),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    _ts("delivered_at"),
)

share_links = Table(
    "share_links",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("referral_id", ForeignKey("referrals.id"), nullable=False, index=True),
    Column("patient_ref", ForeignKey("patients.id"), nullable=False),
    _ts("created_at", False),
    _ts("expires_at", False),
    _ts("revoked_at"),
    Column("revoked_by", String(64)),
    Column("failed_attempts", Integer, nullable=False, server_default="0"),
    _ts("locked_until"),
)

share_accesses = Table(
    "share_accesses",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("link_id", String(64), nullable=False),
    _ts("at", False),
    Column("outcome", String(32), nullable=False),
    Column("client", Text, nullable=False, server_default=""),
    Index("ix_share_accesses_link", "link_id"),
)
