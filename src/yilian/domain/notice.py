"""Notices: what the system tells people, as a kind plus parameters. The words are the i18n layers' (the web app's
web/src/i18n/notices.ts, and notify/messages.py for webhooks and any other server channel), never a workflow's.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class NoticeKind(StrEnum):
    """What happened, for whom it matters. The values are the wire strings (the inbox, webhooks, SSE)."""

    AWAITING_IMAGES = "awaiting_images"  # to the sender: the case waits for its study to reach the archive
    AUTO_REFERRED = "auto_referred"  # to the sending hospital's doctors: a study became a referral by itself
    OFFER = "offer"  # to an expert: routing offers them a case
    ASSIGNED = "assigned"  # to an expert: a coordinator named them as the case's next reader
    ESCALATION = "escalation"  # to the reading hospital's coordinators: no eligible reader
    SECOND_READING = "second_reading"  # to the reading hospital's seniors: a preliminary report awaits review
    CHANGES_REQUESTED = "changes_requested"  # to the reader: the second reader sent the report back
    NEEDS_INFO = "needs_info"  # to the sender: the reader asks for images or history
    RETAKE_REQUESTED = "retake_requested"  # to the sender: shoot the study again (defect reasons, what to change)
    INFO_PROVIDED = "info_provided"  # to the reader: the sender answered
    REPORT_READY = "report_ready"  # to the sender: the signed report is back; confirm receipt
    ADDENDUM = "addendum"  # to the sender: an addendum was added after sign-off
    SLA_WARNING = "sla_warning"  # to whoever holds the case: 75 % of the turnaround target is used
    SLA_BREACH = "sla_breach"  # to the reading hospital's coordinators: the target was missed
    REASSIGNED = "reassigned"  # to the previous reader: the case moved on after the SLA grace period
    CRITICAL_FINDING = "critical_finding"  # to the referring doctors: a critical finding, until acknowledged
    CRITICAL_ESCALATION = "critical_escalation"  # to the reading hospital's coordinators: still unacknowledged
    CONSULT_REQUESTED = "consult_requested"  # to the case's coordinators: someone asks for an MDT consult
    CONSULT_INVITATION = "consult_invitation"  # to the invited: a consult was scheduled with them
    CONSULT_REMINDER = "consult_reminder"  # to the host and the invited: the day before, and 15 minutes before
    CONSULT_RESCHEDULED = "consult_rescheduled"  # to the host and the invited: a new time
    CONSULT_UNINVITED = "consult_uninvited"  # to whom a reschedule took off the list: they are no longer expected
    CONSULT_CANCELLED = "consult_cancelled"  # to the host, the invited and the requester
    CONSULT_CONCLUDED = "consult_concluded"  # to the participants and the case's referring doctor: the recommendation
    CONSULT_CLOSED = "consult_closed"  # to the host and the invited: past its end with no conclusion, it was closed
    TEACHING_NOMINATED = "teaching_nominated"  # to educators: a signed case was flagged as a teaching case
    TEACHING_READY = "teaching_ready"  # to the curator: the de-identified copy awaits review
    TEACHING_PUBLISHED = "teaching_published"  # to whoever flagged it: the case is in the library
    TEACHING_FOLLOW_UP = "teaching_follow_up"  # to the curator: a later referral of the same patient was signed
    LECTURE_SPEAKER = "lecture_speaker"  # to a speaker: a lecture was scheduled with them speaking
    LECTURE_REMINDER = "lecture_reminder"  # to the registered and the speakers: the day before, 15 minutes before
    LECTURE_RESCHEDULED = "lecture_rescheduled"  # to the registered and the speakers: a new time
    LECTURE_CANCELLED = "lecture_cancelled"  # to the registered and the speakers
    LECTURE_REPLAY = "lecture_replay"  # to the registered: the replay is out
    LECTURE_CREDIT = "lecture_credit"  # to a doctor: they earned the lecture's credit
    SHARE_LINK_LOCKED = "share_link_locked"  # to the referring doctor: wrong birth dates locked a patient's link
    FIXITY_MISMATCH = "fixity_mismatch"  # to the coordinators: stored images failed the fixity check


# The parameters each kind carries: every template may use exactly these. Values are plain strings; `priority` is
# a Priority value that each renderer translates.
NOTICE_PARAMS: Mapping[NoticeKind, frozenset[str]] = {
    NoticeKind.AWAITING_IMAGES: frozenset({"referral_id", "study_instance_uid"}),
    NoticeKind.AUTO_REFERRED: frozenset({"referral_id", "modality", "body_part", "clinical_question"}),
    NoticeKind.OFFER: frozenset({"referral_id", "priority", "modality", "body_part", "clinical_question"}),
    NoticeKind.ASSIGNED: frozenset({"referral_id", "priority", "modality", "body_part"}),
    NoticeKind.ESCALATION: frozenset({"referral_id", "modality", "body_part"}),
    NoticeKind.SECOND_READING: frozenset({"referral_id", "priority", "modality", "body_part"}),
    NoticeKind.CHANGES_REQUESTED: frozenset({"referral_id", "comments"}),
    NoticeKind.NEEDS_INFO: frozenset({"referral_id", "request"}),
    # `reasons`: DefectReason values joined by commas; each renderer translates them.
    NoticeKind.RETAKE_REQUESTED: frozenset({"referral_id", "study_instance_uid", "reasons", "request"}),
    NoticeKind.INFO_PROVIDED: frozenset({"referral_id", "answer"}),
    NoticeKind.REPORT_READY: frozenset({"referral_id"}),
    NoticeKind.ADDENDUM: frozenset({"referral_id"}),
    NoticeKind.SLA_WARNING: frozenset({"referral_id", "priority"}),
    NoticeKind.SLA_BREACH: frozenset({"referral_id", "priority"}),
    NoticeKind.REASSIGNED: frozenset({"referral_id"}),
    NoticeKind.CRITICAL_FINDING: frozenset({"referral_id", "note"}),
    NoticeKind.CRITICAL_ESCALATION: frozenset({"referral_id", "note"}),
    # Consults: `starts_at` is an ISO 8601 instant (UTC) that each renderer shows in its reader's time.
    NoticeKind.CONSULT_REQUESTED: frozenset({"consult_id", "referral_id", "title"}),
    NoticeKind.CONSULT_INVITATION: frozenset({"consult_id", "title", "starts_at", "duration_minutes"}),
    NoticeKind.CONSULT_REMINDER: frozenset({"consult_id", "title", "starts_at"}),
    NoticeKind.CONSULT_RESCHEDULED: frozenset({"consult_id", "title", "starts_at"}),
    NoticeKind.CONSULT_UNINVITED: frozenset({"consult_id", "title"}),
    NoticeKind.CONSULT_CANCELLED: frozenset({"consult_id", "title", "reason"}),
    NoticeKind.CONSULT_CONCLUDED: frozenset({"consult_id", "title", "recommendation"}),
    NoticeKind.CONSULT_CLOSED: frozenset({"consult_id", "title"}),
    NoticeKind.TEACHING_NOMINATED: frozenset({"case_id", "modality", "body_part"}),
    NoticeKind.TEACHING_READY: frozenset({"case_id", "modality", "body_part"}),
    NoticeKind.TEACHING_PUBLISHED: frozenset({"case_id", "title"}),
    NoticeKind.TEACHING_FOLLOW_UP: frozenset({"case_id", "title", "referral_id"}),
    NoticeKind.LECTURE_SPEAKER: frozenset({"lecture_id", "title", "starts_at"}),
    NoticeKind.LECTURE_REMINDER: frozenset({"lecture_id", "title", "starts_at"}),
    NoticeKind.LECTURE_RESCHEDULED: frozenset({"lecture_id", "title", "starts_at"}),
    NoticeKind.LECTURE_CANCELLED: frozenset({"lecture_id", "title", "reason"}),
    NoticeKind.LECTURE_REPLAY: frozenset({"lecture_id", "title"}),
    NoticeKind.LECTURE_CREDIT: frozenset({"lecture_id", "title", "credit"}),
    # `until` is an ISO 8601 instant (UTC), like `starts_at`; a final lock holds until the link expires.
    NoticeKind.SHARE_LINK_LOCKED: frozenset({"referral_id", "until"}),
    # count of instances whose blob was missing or changed, of `checked` sampled in run `run_id`
    NoticeKind.FIXITY_MISMATCH: frozenset({"run_id", "count", "checked"}),
}


def notice_params(kind: NoticeKind, **values: str) -> dict[str, str]:
    """The parameters of a notice, checked against what its kind carries (a mismatch is a programming error)."""
    if set(values) != NOTICE_PARAMS[kind]:
        raise ValueError(f"{kind} carries {sorted(NOTICE_PARAMS[kind])}, not {sorted(values)}")
    return dict(values)
