"""The patient's door behind a share link: opening it with the birth date, and the key images it then shows.

The rules (expiry, revocation, lock-out, the second factor, signed image addresses) are domain.share_link's;
this module reads and writes what they decide on, every try logged, in one transaction per try.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yilian.db.engine import reading
from yilian.db.queries import alliance
from yilian.db.queries import imaging as imaging_queries
from yilian.db.queries import referral as referral_queries
from yilian.db.queries import share_link as queries
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.notice import NoticeKind, notice_params
from yilian.domain.referral_io import Audience, NotifyInput
from yilian.domain.share_link import LinkStatus, key_image_signature_ok, link_id_from_token, refusal, second_factor_ok
from yilian.notify import dispatch
from yilian.notify.inbox import InAppNotifier
from yilian.notify.webhook import WebhookNotifier

REFUSALS = {
    ErrorCode.SHARE_LINK_REVOKED: "this link has been withdrawn by the hospital",
    ErrorCode.SHARE_LINK_EXPIRED: "this link has expired: ask the hospital for a new one",
    ErrorCode.SHARE_LINK_LOCKED: "too many wrong birth dates: try again in 15 minutes",
}


@dataclass(frozen=True)
class OpenedLink:
    """What the patient may see once the birth date matched."""

    link: dict[str, Any]
    patient: dict[str, Any]
    referral: dict[str, Any]
    reports: list[dict[str, Any]]  # the signed report and its addenda
    key_images: list[str]  # SOP Instance UIDs


def _status(link: dict[str, Any]) -> LinkStatus:
    return LinkStatus(link["expires_at"], link["revoked_at"], link["locked_until"])


async def open_link(
    engine: AsyncEngine, secret: str, token: str, birth_date: date, client: str, now: datetime
) -> OpenedLink:
    """Open a link with the patient's birth date; refused (and logged) when withdrawn, expired, locked or wrong."""
    link_id = link_id_from_token(secret, token)
    # One transaction holding the link's row lock: simultaneous guesses are counted one after another,
    # so a burst cannot slip past the lock-out. A refusal is raised after the commit, so its log stays.
    async with engine.begin() as conn:
        link = await queries.get_link(conn, link_id, for_update=True) if link_id else None
        if link is None:
            raise YilianError(ErrorCode.NOT_FOUND, "this link is not valid")
        why = refusal(_status(link), now)
        patient = await alliance.get_patient(conn, link["patient_ref"])
        assert patient is not None
        failed = why is None and not second_factor_ok(birth_date, patient["birth_date"])
        if why is not None:
            await queries.log_access(conn, link["id"], now, why, client)
        elif failed:
            locked = await queries.record_failure(conn, link["id"], now)
            await queries.log_access(conn, link["id"], now, "wrong_birth_date", client)
            if locked is not None:
                await _tell_referring_doctor(conn, link, locked, now)
        else:
            await queries.record_success(conn, link["id"])
            await queries.log_access(conn, link["id"], now, "opened", client)
            referral = await referral_queries.get_referral(conn, link["referral_id"])
            assert referral is not None
            reports = await referral_queries.signed_reports(conn, link["referral_id"])
            key_images = await imaging_queries.key_instances(
                conn, referral["study_instance_uid"], referral["requesting_hospital_id"]
            )
    if why is not None:
        raise YilianError(why, REFUSALS[why])
    if failed:
        raise YilianError(ErrorCode.WRONG_SECOND_FACTOR, "the birth date does not match")
    assert referral is not None
    return OpenedLink(link, patient, referral, reports, key_images)


async def _tell_referring_doctor(conn: AsyncConnection, link: dict[str, Any], until: datetime, now: datetime) -> None:
    """Issue 16 item 10: a lock may be someone guessing, so the doctor who sent the case hears of it (in the inbox
    and the hospital's webhooks), in the transaction that set it; one notice per lock."""
    referral = await referral_queries.get_referral(conn, link["referral_id"])
    assert referral is not None
    kind = NoticeKind.SHARE_LINK_LOCKED
    notice = NotifyInput(
        f"share-link/{link['id']}/locked/{until.isoformat()}", link["referral_id"], kind,
        Audience(user_ids=[referral["submitted_by"]]), now,
        notice_params(kind, referral_id=link["referral_id"], until=until.isoformat()),
    )  # fmt: skip
    await dispatch.notify(conn, [InAppNotifier(), WebhookNotifier()], notice)


async def key_image_blob(
    engine: AsyncEngine, secret: str, token: str, sop_instance_uid: str, expires: int, signature: str, now: datetime
) -> str:
    """The stored file of a key image of the link's study, if the signed address is still good."""
    link_id = link_id_from_token(secret, token)
    if link_id is None or not key_image_signature_ok(secret, link_id, sop_instance_uid, expires, signature, now):
        raise YilianError(ErrorCode.FORBIDDEN, "this image address has expired: open the link again")
    async with reading(engine) as conn:
        link = await queries.get_link(conn, link_id)
        if link is None:
            raise YilianError(ErrorCode.NOT_FOUND, "this link is not valid")
        why = refusal(_status(link), now)
        if why is not None:
            raise YilianError(why, "this link is no longer valid")
        referral = await referral_queries.get_referral(conn, link["referral_id"])
        assert referral is not None
        row = await imaging_queries.instance_of_study(conn, referral["study_instance_uid"], sop_instance_uid)
    if row is None:
        raise YilianError(ErrorCode.NOT_FOUND, "no such image in this study")
    return str(row["blob_key"])
