"""Tables (SQLAlchemy Core). Referral rows are projections written only by workflow activities."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from yilian.domain.referral import OPEN_STATES

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
    # The clinical specialty (revision 0005): how a consult's invitees are found (radiology, thoracic_surgery, ...).
    Column("specialty", String(64), nullable=False, server_default=""),
    Column("is_junior", Boolean, nullable=False, server_default="false"),
    Column("on_duty", Boolean, nullable=False, server_default="true"),
    Column("active", Boolean, nullable=False, server_default="true"),
    _ts("created_at", False),
    # Raised when the password changes or the account is deactivated: tokens carrying an older one are refused.
    Column("token_generation", Integer, nullable=False, server_default="0"),
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
    # NULL for an in-house case (本院写片, revision 0020): its hospital's policy, not an agreement, gave its terms.
    Column("agreement_id", ForeignKey("agreements.id"), nullable=True),
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
    CheckConstraint(
        "agreement_id IS NOT NULL OR requesting_hospital_id = reading_hospital_id", name="ck_referrals_agreement"
    ),
)
# The worklist's open cases in SLA order (db/queries/referral.worklist): a few thousand among a province's year of
# finished ones. The predicate is the domain's open states as of migration 0017; a change to them needs a migration.
OPEN_DUE_INDEX = Index(
    "ix_referrals_open_due",
    referrals.c.sla_due_at,
    postgresql_where=referrals.c.state.in_(sorted(str(s) for s in OPEN_STATES)),
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
    Column("kind", String(32), nullable=False),  # domain.notice.NoticeKind
    Column("params", JSONB, nullable=False, server_default="{}"),  # its parameters; the words are the i18n layers'
    # Only on notices recorded before they had parameters (migration 0004): the English text they carried.
    Column("title", Text),
    Column("body", Text),
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


# --- Imaging archive (revision 0002). Values are the index of what the DICOM files say; the files are the truth.
# Dates stay DICOM DA/TM text ("20261123"): range matching on DA text is exact and needs no parsing.

dicom_studies = Table(
    "dicom_studies",
    metadata,
    Column("study_instance_uid", String(64), primary_key=True),
    # The hospital that sent the study owns it; readers see it through referrals (db/queries/imaging.py).
    Column("hospital_id", ForeignKey("hospitals.id"), nullable=False, index=True),
    Column("patient_id", String(64), nullable=False, server_default=""),
    Column("issuer_of_patient_id", String(64), nullable=False, server_default=""),
    # Alphabetic and Ideographic groups joined, upper-cased: what PN matching runs against.
    Column("patient_name_search", Text, nullable=False, server_default=""),
    Column("patient_birth_date", String(8), nullable=False, server_default=""),
    Column("study_date", String(8), nullable=False, server_default=""),
    Column("study_time", String(16), nullable=False, server_default=""),
    Column("accession_number", String(16), nullable=False, server_default=""),
    Column("study_id", String(16), nullable=False, server_default=""),
    Column("referring_physician_search", Text, nullable=False, server_default=""),
    Column("study_description", Text, nullable=False, server_default=""),
    Column("modalities", ARRAY(String(16)), nullable=False, server_default="{}"),
    Column("number_of_series", Integer, nullable=False, server_default="0"),
    Column("number_of_instances", Integer, nullable=False, server_default="0"),
    Column("total_bytes", BigInteger, nullable=False, server_default="0"),
    # Patient and Study module attributes as DICOM JSON (from the first instance): QIDO study results.
    Column("attributes", Text, nullable=False),
    _ts("created_at", False),
    _ts("updated_at", False),
    Index("ix_dicom_studies_patient", "issuer_of_patient_id", "patient_id"),
    Index("ix_dicom_studies_date", "study_date", "study_instance_uid"),
)

dicom_series = Table(
    "dicom_series",
    metadata,
    Column("series_instance_uid", String(64), primary_key=True),
    Column("study_instance_uid", ForeignKey("dicom_studies.study_instance_uid"), nullable=False, index=True),
    Column("modality", String(16), nullable=False, server_default=""),
    Column("series_number", Integer),
    Column("series_description", Text, nullable=False, server_default=""),
    Column("performed_start_date", String(8), nullable=False, server_default=""),
    Column("performed_start_time", String(16), nullable=False, server_default=""),
    Column("number_of_instances", Integer, nullable=False, server_default="0"),
    Column("attributes", Text, nullable=False),  # General Series module attributes as DICOM JSON
    _ts("created_at", False),
)

# The largest toast_tuple_target PostgreSQL accepts with 8 kB pages: a row is compressed only when it does not fit.
TOAST_TUPLE_TARGET = 8160

dicom_instances = Table(
    "dicom_instances",
    metadata,
    Column("sop_instance_uid", String(64), primary_key=True),
    Column("series_instance_uid", ForeignKey("dicom_series.series_instance_uid"), nullable=False, index=True),
    Column("study_instance_uid", String(64), nullable=False, index=True),
    Column("sop_class_uid", String(64), nullable=False),
    Column("instance_number", Integer),
    Column("rows", Integer),
    Column("columns", Integer),
    Column("bits_allocated", Integer),
    Column("number_of_frames", Integer),
    Column("transfer_syntax_uid", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("blob_key", Text, nullable=False),
    # The whole data set as DICOM JSON with BulkDataURIs, precomputed at ingest so per-series metadata is
    # one indexed read; BulkDataURIs hold a placeholder for the request's base URL (imaging/metadata.py).
    Column("metadata", Text, nullable=False),
    Column("origin", String(16), nullable=False),  # stow | gateway | upload | deid
    Column("received_by", String(64), nullable=False),  # user id or API key id
    _ts("created_at", False),
    # When the daily fixity sample last re-read the blob and found its sha256 (activities/fixity.py); the
    # least recently checked go first, so the whole archive is covered in turn. Not indexed (revision 0021): the
    # sample's order (never checked first, random among equals) is a sort over every row whatever the index, and
    # every stored instance paid for an index entry.
    _ts("fixity_checked_at"),
    # Revision 0022: a row that fits in a page is stored whole, its metadata not compressed. At the default target
    # (2 kB) PostgreSQL compressed every instance's metadata (pglz, 12 % of a backend's CPU while indexing small
    # instances) to save a kilobyte or two a row; a larger row is still compressed, then moved out of line, as before.
    postgresql_with={"toast_tuple_target": TOAST_TUPLE_TARGET},
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("hospital_id", ForeignKey("hospitals.id"), nullable=False, index=True),
    Column("label", Text, nullable=False),
    # SHA-256 of a 256-bit random secret: a slow hash buys nothing against a secret nobody chose.
    Column("secret_sha256", String(64), nullable=False),
    Column("created_by", String(64), nullable=False),
    _ts("created_at", False),
    _ts("last_used_at"),
    _ts("revoked_at"),
    # Revision 0018: `store` keys only store images (and fetch their hospital's reports for its PACS);
    # `store_retrieve` keys also search and retrieve the hospital's own studies (the gateway's C-FIND/C-MOVE).
    Column("scope", String(16), nullable=False, server_default="store"),
    # When a gateway with this key last asked for reports to store in its PACS (the cloud makes them only then).
    _ts("reports_asked_at"),
)

IMAGING_TABLES = ("dicom_studies", "dicom_series", "dicom_instances", "api_keys")


# --- Administration (revision 0003): who changed the alliance's reference data, and how.

admin_changes = Table(
    "admin_changes",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _ts("at", False),
    Column("actor_id", String(64), nullable=False),
    Column("entity", String(16), nullable=False),  # hospital | agreement | user | in_house_reading
    Column("entity_id", String(64), nullable=False),
    Column("action", String(16), nullable=False),  # create | update | password | delete
    # The entity as the admin API shows it, before and after; never a password or its hash.
    Column("before", JSONB),
    Column("after", JSONB),
    Index("ix_admin_changes_entity", "entity", "entity_id", "id"),
)

ADMIN_TABLES = ("admin_changes",)


# --- MDT consults (revision 0005): projections written only by the consult workflow's activities, except the chat
# (appended by the API: a line is no change of the consult) and the room's live process (where the room runs).

consults = Table(
    "consults",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("referral_id", String(64)),  # the case it was requested from; NULL for a tumour board
    Column("hospital_ids", ARRAY(String(64)), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("requested_by", String(64)),
    Column("host_id", String(64)),
    _ts("starts_at"),
    Column("duration_minutes", Integer),
    Column("agenda", Text, nullable=False, server_default=""),
    Column("conclusion", JSONB),  # {participants, discussion, recommendation}
    Column("cancel_reason", Text, nullable=False, server_default=""),
    Column("last_seq", Integer, nullable=False),
    _ts("created_at", False),
    _ts("updated_at", False),
    Index("ix_consults_starts_at", "starts_at"),
)

consult_cases = Table(
    "consult_cases",
    metadata,
    Column("consult_id", ForeignKey("consults.id"), primary_key=True),
    Column("referral_id", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    Index("ix_consult_cases_referral", "referral_id"),
)

consult_invitees = Table(
    "consult_invitees",
    metadata,
    Column("consult_id", ForeignKey("consults.id"), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Index("ix_consult_invitees_user", "user_id"),
)

consult_events = Table(
    "consult_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("consult_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("action", String(32), nullable=False),
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("actor_hospital_id", String(64)),
    _ts("at", False),
    Column("details", JSONB, nullable=False, server_default="{}"),
    UniqueConstraint("consult_id", "seq", name="uq_consult_event_seq"),
)

consult_attendance = Table(
    "consult_attendance",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("consult_id", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),
    _ts("joined_at", False),
    _ts("left_at"),
    Index("ix_consult_attendance_consult", "consult_id", "user_id"),
)

consult_messages = Table(
    "consult_messages",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("consult_id", String(64), nullable=False),
    Column("author_id", String(64), nullable=False),
    Column("body", Text, nullable=False),
    _ts("at", False),
    Index("ix_consult_messages_consult", "consult_id", "id"),
)

consult_rooms = Table(
    "consult_rooms",
    metadata,
    Column("consult_id", String(64), primary_key=True),
    Column("live_url", Text, nullable=False),  # the live process the room runs on: every API process asks here
    _ts("pinned_at", False),
    Index("ix_consult_rooms_live", "live_url"),
)

CONSULT_TABLES = (
    "consults", "consult_cases", "consult_invitees", "consult_events", "consult_attendance", "consult_messages",
    "consult_rooms",
)  # fmt: skip


# --- Teaching cases (revision 0006). teaching_cases and teaching_events are projections written only by the
# TeachingCaseWorkflow's activities; attempts, views and collections are people's own records.

teaching_cases = Table(
    "teaching_cases",
    metadata,
    Column("id", String(64), primary_key=True),
    # Where it came from: identifying, so never in a learner's answer (db/queries/teaching.py picks the columns).
    Column("referral_id", ForeignKey("referrals.id"), nullable=False, index=True),
    Column("source_study_instance_uid", String(64), nullable=False),
    Column("requesting_hospital_id", String(64), nullable=False),
    Column("patient_ref", String(64), nullable=False, index=True),
    Column("state", String(32), nullable=False),
    Column("nominated_by", String(64), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("curator_id", String(64)),
    Column("version", Integer, nullable=False, server_default="0"),
    # The newest curation (domain.teaching.Curation), its fields as columns for the library's filters.
    Column("title", Text, nullable=False, server_default=""),
    Column("diagnosis", Text, nullable=False, server_default=""),
    Column("icd10", String(16), nullable=False, server_default=""),
    Column("differential", JSONB, nullable=False, server_default="[]"),
    Column("teaching_points", Text, nullable=False, server_default=""),
    Column("key_images", JSONB, nullable=False, server_default="[]"),
    Column("modality", String(16), nullable=False, server_default=""),
    Column("body_part", String(64), nullable=False, server_default=""),
    Column("difficulty", String(16), nullable=False, server_default="intermediate"),
    Column("tags", ARRAY(String(64)), nullable=False, server_default="{}"),
    Column("certainty", String(32), nullable=False, server_default="presumptive"),
    Column("visibility", String(16), nullable=False, server_default="draft"),
    Column("history", Text, nullable=False, server_default=""),
    Column("findings", Text, nullable=False, server_default=""),
    Column("impression", Text, nullable=False, server_default=""),
    Column("reviewed_images", JSONB, nullable=False, server_default="[]"),
    Column("deid_study_instance_uid", String(64)),
    _ts("published_at"),
    Column("last_seq", Integer, nullable=False),
    _ts("created_at", False),
    _ts("updated_at", False),
    Index("ix_teaching_cases_state", "state", "visibility"),
)

teaching_events = Table(
    "teaching_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("case_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("action", String(32), nullable=False),
    Column("from_state", String(32)),
    Column("to_state", String(32), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("actor_role", String(32), nullable=False),
    _ts("at", False),
    Column("details", JSONB, nullable=False, server_default="{}"),
    UniqueConstraint("case_id", "seq", name="uq_teaching_event_seq"),
)

teaching_versions = Table(
    "teaching_versions",
    metadata,
    Column("case_id", ForeignKey("teaching_cases.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("curation", JSONB, nullable=False),
    Column("author_id", String(64), nullable=False),
    _ts("created_at", False),
)

# The de-identified text beside what it was made from, and the replacements: the educator's diff before publishing.
teaching_deid = Table(
    "teaching_deid",
    metadata,
    Column("case_id", ForeignKey("teaching_cases.id"), primary_key=True),
    Column("study_instance_uid", String(64), nullable=False),  # the copy's new UID
    Column("text", JSONB, nullable=False),  # {field: {"original", "redacted"}}
    Column("replacements", JSONB, nullable=False, server_default="[]"),
    Column("image_flags", JSONB, nullable=False, server_default="[]"),  # instances a person must look at
    Column("instances", Integer, nullable=False),
    Column("patient", JSONB, nullable=False, server_default="{}"),  # pseudonym, age band, sex
    # Every identifier the source's instances carried (deid.source.known_from_instances): the scan seeks them.
    Column("source_known", JSONB, nullable=False, server_default="{}"),
    _ts("created_at", False),
)

teaching_proposals = Table(
    "teaching_proposals",
    metadata,
    Column("referral_id", ForeignKey("referrals.id"), primary_key=True),
    Column("decision", String(16), nullable=False),  # accepted | dismissed
    Column("reasons", JSONB, nullable=False, server_default="[]"),
    Column("decided_by", String(64), nullable=False),
    _ts("decided_at", False),
    Column("case_id", String(64)),
)

teaching_follow_ups = Table(
    "teaching_follow_ups",
    metadata,
    Column("case_id", ForeignKey("teaching_cases.id"), primary_key=True),
    Column("referral_id", String(64), primary_key=True),  # the later referral, signed
    _ts("at", False),
)

teaching_attempts = Table(
    "teaching_attempts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("case_id", ForeignKey("teaching_cases.id"), nullable=False),
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("impression", Text, nullable=False),
    Column("comparison", JSONB, nullable=False),
    _ts("created_at", False),
    Index("ix_teaching_attempts_user", "user_id", "created_at"),
)

teaching_views = Table(
    "teaching_views",
    metadata,
    Column("case_id", ForeignKey("teaching_cases.id"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    _ts("first_seen_at", False),
    _ts("last_seen_at", False),
    Column("views", Integer, nullable=False, server_default="1"),
)

teaching_collections = Table(
    "teaching_collections",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("owner_id", ForeignKey("users.id"), nullable=False),
    _ts("created_at", False),
    _ts("updated_at", False),
)

teaching_collection_items = Table(
    "teaching_collection_items",
    metadata,
    Column("collection_id", ForeignKey("teaching_collections.id", ondelete="CASCADE"), primary_key=True),
    Column("case_id", ForeignKey("teaching_cases.id"), primary_key=True),
    Column("position", Integer, nullable=False),
)

TEACHING_TABLES = (
    "teaching_cases",
    "teaching_events",
    "teaching_versions",
    "teaching_deid",
    "teaching_proposals",
    "teaching_follow_ups",
    "teaching_attempts",
    "teaching_views",
    "teaching_collections",
    "teaching_collection_items",
)

# Report search (issue 13): every search and similar-cases request, who asked and what, for the audit.
search_events = Table(
    "search_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _ts("at", False),
    Column("user_id", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("hospital_id", String(64)),
    Column("kind", String(16), nullable=False),  # search | similar
    Column("query", JSONB, nullable=False),  # the text, switches and chosen facets; the case for similar
    Column("total", Integer, nullable=False),  # how many reports it found (among those the person may see)
    Index("ix_search_events_user_at", "user_id", "at"),
)

SEARCH_TABLES = ("search_events",)

# --- Sign-in security (revision 0008): failed sign-ins per account and per address, and what they led to.

sign_in_attempts = Table(
    "sign_in_attempts",
    metadata,
    Column("key", String(200), primary_key=True),  # "account:<username>" or "address:<ip>"
    Column("failures", Integer, nullable=False),
    _ts("last_failure_at", False),
    _ts("locked_until"),
)

security_events = Table(
    "security_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _ts("at", False),
    Column("kind", String(32), nullable=False),  # sign_in_failed | sign_in_locked | sign_in_refused
    Column("subject", String(200), nullable=False),  # the attempts key it concerns
    Column("address", String(64)),
    Column("details", JSONB, nullable=False, server_default="{}"),
    Index("ix_security_events_at", "at"),
)

SECURITY_TABLES = ("sign_in_attempts", "security_events")


# --- Regional cloud film (revision 0009, docs/cloud-film.md): one regional patient behind each hospital's records,
# the patient's phone sign-in, the QR grants a patient gives clinicians, consent to cross-hospital viewing, and the
# log of who viewed what.

regional_patients = Table(
    "regional_patients",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("sex", String(1), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("phone", String(32), unique=True),  # where one-time codes go; NULL until a desk records it
    _ts("created_at", False),
)

patient_index = Table(
    "patient_index",
    metadata,
    # Each hospital record belongs to exactly one regional patient (its own, until a match or a review links it).
    Column("patient_ref", ForeignKey("patients.id"), primary_key=True),
    Column("regional_patient_id", ForeignKey("regional_patients.id"), nullable=False, index=True),
    # HMAC(YILIAN_PATIENT_INDEX_SECRET, national ID): matched on, never reversible; NULL when none was given.
    Column("national_id_hash", String(64), index=True),
    Column("how", String(16), nullable=False),  # domain.patient_index.LinkHow
    _ts("linked_at", False),
)

patient_link_reviews = Table(
    "patient_link_reviews",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("patient_ref", ForeignKey("patients.id"), nullable=False),
    Column("candidate_id", ForeignKey("regional_patients.id"), nullable=False),
    Column("reason", String(32), nullable=False),  # domain.patient_index.Uncertainty
    Column("state", String(16), nullable=False),  # open | linked | kept_apart
    _ts("opened_at", False),
    Column("decided_by", String(64)),
    _ts("decided_at"),
    Index("ix_patient_link_reviews_state", "state", "opened_at"),
)

patient_index_events = Table(
    "patient_index_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("patient_ref", String(64), nullable=False),
    Column("regional_patient_id", String(64), nullable=False),  # where the record is after the event
    Column("from_regional_id", String(64)),  # where it was before (a link or an unlink is undone by moving it back)
    Column("action", String(32), nullable=False),  # domain.patient_index.IndexAction
    Column("actor_id", String(64), nullable=False),
    Column("actor_role", String(32), nullable=False),
    _ts("at", False),
    Column("details", JSONB, nullable=False, server_default="{}"),
    Index("ix_patient_index_events_patient", "patient_ref", "id"),
)

patient_sign_in_codes = Table(
    "patient_sign_in_codes",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("phone", String(32), nullable=False),
    Column("code_hmac", String(64), nullable=False),  # the code itself is only in the SMS
    _ts("created_at", False),
    _ts("expires_at", False),
    Column("failed_attempts", Integer, nullable=False, server_default="0"),
    _ts("used_at"),
    Index("ix_patient_sign_in_codes_phone", "phone", "created_at"),
)

sms_outbox = Table(
    "sms_outbox",
    metadata,
    # What the local SMS adapter "sent" (notify/sms.py): where a tester reads the code. Unused with a real provider.
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("phone", String(32), nullable=False, index=True),
    Column("body", Text, nullable=False),
    _ts("sent_at", False),
)

film_grants = Table(
    "film_grants",
    metadata,
    # A patient's QR for a clinician: one study or (NULL) all of them, until it expires or is revoked.
    Column("id", String(64), primary_key=True),
    Column("regional_patient_id", ForeignKey("regional_patients.id"), nullable=False, index=True),
    Column("study_instance_uid", String(64)),
    _ts("created_at", False),
    _ts("expires_at", False),
    _ts("revoked_at"),
)

film_consents = Table(
    "film_consents",
    metadata,
    # 检查结果互认: while granted (and not revoked), other alliance hospitals' doctors see the patient's studies.
    Column("regional_patient_id", ForeignKey("regional_patients.id"), primary_key=True),
    _ts("granted_at", False),
    Column("granted_via", String(16), nullable=False),  # phone | desk
    _ts("revoked_at"),
)

film_accesses = Table(
    "film_accesses",
    metadata,
    # Who viewed a patient's images and when: the patient reads this log on the phone.
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("regional_patient_id", String(64), nullable=False),
    Column("study_instance_uid", String(64)),
    Column("viewer", String(16), nullable=False),  # domain.cloud_film.Viewer
    Column("viewer_label", Text, nullable=False, server_default=""),  # a doctor's name and hospital, a grant's id
    Column("viewer_hospital_id", String(64)),  # a doctor's hospital (revision 0015): where a repeat was avoided
    Column("grant_id", String(64)),
    Column("action", String(32), nullable=False),
    _ts("at", False),
    Index("ix_film_accesses_patient", "regional_patient_id", "at"),
)

CLOUD_FILM_TABLES = (
    "regional_patients",
    "patient_index",
    "patient_link_reviews",
    "patient_index_events",
    "patient_sign_in_codes",
    "sms_outbox",
    "film_grants",
    "film_consents",
    "film_accesses",
)

# --- Lectures (revision 0010). lectures and lecture_events are projections written only by the LectureWorkflow's
# activities (credits too: the tally is a workflow step); registrations, segment views, Q&A and quiz attempts are
# people's own records, appended by the API.

lectures = Table(
    "lectures",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("abstract", Text, nullable=False, server_default=""),
    Column("state", String(16), nullable=False),
    Column("organiser_id", String(64), nullable=False),
    Column("speaker_ids", ARRAY(String(64)), nullable=False),
    Column("audience_hospital_ids", ARRAY(String(64)), nullable=False),  # empty: the whole alliance
    _ts("starts_at", False),
    Column("duration_minutes", Integer, nullable=False),
    Column("credit", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("quiz", JSONB, nullable=False, server_default="{}"),  # {questions: [{text, options, answer}], pass_mark}
    Column("case_ids", ARRAY(String(64)), nullable=False, server_default="{}"),  # linked teaching cases
    Column("cancel_reason", Text, nullable=False, server_default=""),
    Column("recorded_seconds", Float, nullable=False, server_default="0"),
    Column("last_seq", Integer, nullable=False),
    _ts("created_at", False),
    _ts("updated_at", False),
    Index("ix_lectures_starts_at", "starts_at"),
)

lecture_events = Table(
    "lecture_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("lecture_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("action", String(32), nullable=False),
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("actor_role", String(32), nullable=False),
    _ts("at", False),
    Column("details", JSONB, nullable=False, server_default="{}"),
    UniqueConstraint("lecture_id", "seq", name="uq_lecture_event_seq"),
)

lecture_registrations = Table(
    "lecture_registrations",
    metadata,
    Column("lecture_id", ForeignKey("lectures.id"), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    _ts("at", False),
    Index("ix_lecture_registrations_user", "user_id"),
)

# One row per (doctor, segment) they fetched with a valid token: attendance is distinct segments x their duration.
lecture_views = Table(
    "lecture_views",
    metadata,
    Column("lecture_id", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("segment", String(64), primary_key=True),
    Column("seconds", Float, nullable=False),
    Column("mode", String(8), nullable=False),  # live | replay
    _ts("at", False),
)

lecture_questions = Table(
    "lecture_questions",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("lecture_id", String(64), nullable=False),
    Column("author_id", String(64), nullable=False),
    Column("body", Text, nullable=False),
    _ts("at", False),
    Column("picked_by", String(64)),  # the moderator who put it to the speaker
    _ts("picked_at"),
    Index("ix_lecture_questions_lecture", "lecture_id", "id"),
)

lecture_votes = Table(
    "lecture_votes",
    metadata,
    Column("question_id", ForeignKey("lecture_questions.id"), primary_key=True),
    Column("user_id", String(64), primary_key=True),
)

lecture_quiz_attempts = Table(
    "lecture_quiz_attempts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("lecture_id", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("answers", JSONB, nullable=False),
    Column("right", Integer, nullable=False),
    Column("passed", Boolean, nullable=False),
    _ts("at", False),
    Index("ix_lecture_quiz_attempts_user", "lecture_id", "user_id"),
)

lecture_credits = Table(
    "lecture_credits",
    metadata,
    Column("lecture_id", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("hospital_id", String(64)),
    Column("credit", Float, nullable=False),
    Column("watched_seconds", Float, nullable=False),
    Column("quiz_passed", Boolean),  # NULL: the lecture had no quiz
    _ts("awarded_at", False),
    Index("ix_lecture_credits_user", "user_id"),
)

LECTURE_TABLES = (
    "lectures", "lecture_events", "lecture_registrations", "lecture_views", "lecture_questions", "lecture_votes",
    "lecture_quiz_attempts", "lecture_credits",
)  # fmt: skip
# --- Auto-referral (revision 0011): what became of each study that arrived under a hosting agreement.

auto_referrals = Table(
    "auto_referrals",
    metadata,
    Column("hospital_id", ForeignKey("hospitals.id"), primary_key=True),
    Column("study_instance_uid", String(64), primary_key=True),
    Column("outcome", String(32), nullable=False),  # domain.auto_referral.AutoOutcome
    Column("referral_id", String(64)),
    Column("agreement_id", String(64)),
    Column("batches", Integer, nullable=False),  # stored batches that signalled its workflow
    _ts("decided_at", False),
    Column("details", JSONB, nullable=False, server_default="{}"),  # what the decision rested on
    Index("ix_auto_referrals_decided_at", "decided_at"),
)

AUTO_REFERRAL_TABLES = ("auto_referrals",)

# Fixity (docs/storage.md): each daily run, and each instance whose blob was missing or no longer hashed to the
# digest recorded at ingest. A run's row is its audit record; a retried activity finds it and does not run again.
fixity_runs = Table(
    "fixity_runs",
    metadata,
    Column("run_id", String(200), primary_key=True),
    _ts("started_at", False),
    Column("checked", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
)

fixity_failures = Table(
    "fixity_failures",
    metadata,
    Column("run_id", ForeignKey("fixity_runs.run_id"), primary_key=True),
    Column("sop_instance_uid", String(64), primary_key=True),
    Column("study_instance_uid", String(64), nullable=False),
    Column("hospital_id", String(64), nullable=False),
    Column("blob_key", Text, nullable=False),
    Column("expected_sha256", String(64), nullable=False),
    Column("found_sha256", String(64)),  # NULL: the blob is gone
    _ts("detected_at", False),
    Index("ix_fixity_failures_sop", "sop_instance_uid"),
)

FIXITY_TABLES = ("fixity_runs", "fixity_failures")
# --- Image quality control (revision 0013): the reader's grade of each referral's study, for the scorecards.

quality_grades = Table(
    "quality_grades",
    metadata,
    Column("referral_id", String(64), primary_key=True),  # one grade per case: a later grade replaces it
    Column("requesting_hospital_id", ForeignKey("hospitals.id"), nullable=False),
    Column("study_instance_uid", String(64), nullable=False),
    Column("technician", Text, nullable=False, server_default=""),  # Operators' Name (0008,1070) of the study
    Column("modality", String(16), nullable=False),
    Column("scale", String(16), nullable=False),  # domain.quality.QualityScale
    Column("grade", String(4), nullable=False),
    Column("good", Boolean, nullable=False),
    Column("reasons", JSONB, nullable=False, server_default="[]"),
    Column("reader_id", String(64), nullable=False),
    _ts("graded_at", False),
    Index("ix_quality_grades_hospital_at", "requesting_hospital_id", "graded_at"),
)

QUALITY_TABLES = ("quality_grades",)

# --- Quality audits (revision 0016, docs/reading-service.md §3): a coordinator's sample of graded studies and the
# outcome of each; written only by QualityAuditWorkflow's activities, each write with its event in one transaction.
quality_audits = Table(
    "quality_audits",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("auditor_hospital_id", ForeignKey("hospitals.id"), nullable=False),  # whose coordinators audit
    Column("hospital_id", ForeignKey("hospitals.id"), nullable=False),  # the sending hospital audited
    Column("month", String(7), nullable=False),  # YYYY-MM, Asia/Shanghai
    Column("mode", String(16), nullable=False),  # domain.quality_audit.SampleMode
    Column("requested", Integer, nullable=False),  # the sample size asked for
    Column("state", String(16), nullable=False),  # domain.quality_audit.AuditState
    Column("requested_by", String(64), nullable=False),
    _ts("requested_at", False),
    _ts("completed_at"),
    Index("ix_quality_audits_auditor", "auditor_hospital_id", "requested_at"),
)

quality_audit_items = Table(
    "quality_audit_items",
    metadata,
    Column("audit_id", ForeignKey("quality_audits.id"), primary_key=True),
    Column("referral_id", String(64), primary_key=True),
    Column("position", Integer, nullable=False),  # order in the sample
    # The reader's grade when the study was sampled
    Column("modality", String(16), nullable=False),
    Column("scale", String(16), nullable=False),
    Column("grade", String(4), nullable=False),
    Column("reasons", JSONB, nullable=False, server_default="[]"),
    Column("technician", Text, nullable=False, server_default=""),
    # The auditor's outcome (NULL until recorded)
    Column("verdict", String(16)),  # domain.quality_audit.Verdict
    Column("auditor_grade", String(4)),
    Column("auditor_reasons", JSONB, nullable=False, server_default="[]"),
    Column("comment", Text, nullable=False, server_default=""),
    Column("audited_by", String(64)),
    _ts("audited_at"),
)

quality_audit_events = Table(
    "quality_audit_events",
    metadata,
    Column("audit_id", ForeignKey("quality_audits.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("action", String(32), nullable=False),  # domain.quality_audit.AuditAction
    Column("actor_id", String(64), nullable=False),
    Column("actor_role", String(32), nullable=False),
    _ts("at", False),
    Column("details", JSONB, nullable=False, server_default="{}"),
)

QUALITY_AUDIT_TABLES = ("quality_audits", "quality_audit_items", "quality_audit_events")

# --- Retention and legal holds (revision 0014, docs/retention.md): written by the retention routes, each write with
# its retention_events row in the same transaction; a refused deletion is recorded there too.

retention_policies = Table(
    "retention_policies",
    metadata,
    Column("scope", String(64), primary_key=True),  # "*" for the whole alliance, else a hospital id
    Column("encounter_type", String(16), primary_key=True),  # domain.retention.EncounterType
    Column("years", Integer, nullable=False),
    Column("updated_by", String(64), nullable=False),
    _ts("updated_at", False),
)

study_retention = Table(
    "study_retention",
    metadata,
    # No foreign key, like legal_holds: the deletion route removes this row with the study in one transaction.
    Column("study_instance_uid", String(64), primary_key=True),
    Column("encounter_type", String(16), nullable=False),
    Column("set_by", String(64), nullable=False),
    _ts("set_at", False),
)

legal_holds = Table(
    "legal_holds",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("study_instance_uid", String(64), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("case_reference", Text, nullable=False, server_default=""),  # the dispute's file number, if any
    Column("placed_by", String(64), nullable=False),
    _ts("placed_at", False),
    Column("released_by", String(64)),
    _ts("released_at"),
    Column("release_reason", Text),
)

retention_events = Table(
    "retention_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _ts("at", False),
    Column("actor_id", String(64), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("actor_hospital_id", String(64)),
    # policy_set | encounter_set | hold_placed | hold_released | deletion_refused | study_deleted
    Column("action", String(32), nullable=False),
    Column("study_instance_uid", String(64)),
    Column("hospital_id", String(64)),  # the study's hospital, or the policy's scope
    Column("details", JSONB, nullable=False, server_default="{}"),
    Index("ix_retention_events_study", "study_instance_uid", "id"),
)

RETENTION_TABLES = ("retention_policies", "study_retention", "legal_holds", "retention_events")


# --- Reports into county PACSs (revision 0018, docs/gateway.md): each signed version's PDF and SR instance for the
# sending hospital's gateway, and every step of their delivery. The events keep no foreign key, so the trail
# outlives a delivery deleted with its study.

pacs_deliveries = Table(
    "pacs_deliveries",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("referral_id", String(64), nullable=False),
    Column("report_version", Integer, nullable=False),
    Column("kind", String(8), nullable=False),  # pdf | sr
    Column("hospital_id", ForeignKey("hospitals.id"), nullable=False),
    Column("study_instance_uid", String(64), nullable=False),
    Column("series_instance_uid", String(64), nullable=False),
    Column("sop_instance_uid", String(64), nullable=False, unique=True),
    Column("sop_class_uid", String(64), nullable=False),
    # The Part-10 bytes, made once: every fetch (and every retry at the gateway) sends exactly these.
    Column("data", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # pending | queued | delivered | failed
    Column("dicom_status", Integer),  # the PACS's C-STORE status, as the gateway reported it
    Column("detail", Text, nullable=False, server_default=""),
    _ts("created_at", False),
    _ts("updated_at", False),
    Index("ix_pacs_deliveries_hospital_state", "hospital_id", "state"),
    Index("ix_pacs_deliveries_study", "study_instance_uid"),
    Index("ix_pacs_deliveries_referral", "referral_id", "report_version"),
)

pacs_delivery_events = Table(
    "pacs_delivery_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("delivery_id", BigInteger, nullable=False, index=True),
    _ts("at", False),
    Column("state", String(16), nullable=False),
    Column("dicom_status", Integer),
    Column("detail", Text, nullable=False, server_default=""),
    Column("actor_id", String(64), nullable=False),  # system, or the gateway's key (api-key:<id>)
)

PACS_TABLES = ("pacs_deliveries", "pacs_delivery_events")

# --- Gateway quarantine (revision 0019, docs/gateway.md): what each hospital's gateway holds because the cloud refused
# it for good, as its last report said (the gateway sends its whole list; a report replaces the one before).

gateway_reports = Table(
    "gateway_reports",
    metadata,
    # The gateway, by the API key it reports with (no foreign key: 0001 creates every table not listed as later, and
    # api_keys comes in 0002).
    Column("api_key_id", String(64), primary_key=True),
    Column("hospital_id", ForeignKey("hospitals.id"), nullable=False, index=True),
    Column("quarantined", Integer, nullable=False),  # all it holds, listed below or not
    _ts("reported_at", False),
)

gateway_quarantine = Table(
    "gateway_quarantine",
    metadata,
    Column("api_key_id", String(64), primary_key=True),
    Column("sop_instance_uid", String(64), primary_key=True),
    Column("hospital_id", ForeignKey("hospitals.id"), nullable=False, index=True),
    Column("study_instance_uid", String(64), nullable=False, server_default=""),
    Column("code", String(16)),  # the DICOM FailureReason the cloud gave, hex; NULL when none
    Column("reason", Text, nullable=False),  # the gateway's words, never pixel data
    _ts("first_seen_at", False),
    _ts("reported_at", False),
)

GATEWAY_TABLES = ("gateway_reports", "gateway_quarantine")

# --- In-house reading (revision 0020, domain/in_house.py): a hospital's policy for reading its own studies (本院写片).

in_house_readings = Table(
    "in_house_readings",
    metadata,
    Column("hospital_id", ForeignKey("hospitals.id"), primary_key=True),  # one policy per hospital
    Column("enabled", Boolean, nullable=False),
    Column("modalities", ARRAY(String(16)), nullable=False),
    Column("reader_ids", ARRAY(String(64)), nullable=False),  # empty: every reader of the hospital
    Column("terms", JSONB, nullable=False),  # the case terms, in the agreements' JSON form
    Column("auto_read", Boolean, nullable=False),
    _ts("created_at", False),
    _ts("updated_at", False),
)

IN_HOUSE_TABLES = ("in_house_readings",)
