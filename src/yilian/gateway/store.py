"""Storing one received instance at the gateway (PS3.4 B.2.3): the checks at the door, the durable queue, the answer.

Every DICOM Upper Layer front end of the gateway (pynetdicom's, in gateway.scp) hands the data set as received to
`store_received` and sends back the status and Error Comment it returns; no storage logic lives in a front end.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable

from pydicom.uid import UID
from pynetdicom.dsutils import create_file_meta, encode_file_meta

from yilian.dicom.instance import FailureReason, UnreadableInstanceError, check_instance, read_instance, uid_value
from yilian.gateway.queue import InstanceQueue

log = logging.getLogger(__name__)

SUCCESS = 0x0000
# PS3.7 C.4 "Processing failure": what a C-STORE answers when something unforeseen broke, never an exception.
PROCESSING_FAILURE = 0x0110
# Error Comment (0000,0902) is at most 64 characters (PS3.7 C.4); modalities show it to the operator.
ERROR_COMMENT_MAX = 64


def store_received(
    dataset: bytes,
    *,
    transfer_syntax: str,
    sop_class_uid: str,
    sop_instance_uid: str,
    calling_ae: str,
    queue: InstanceQueue,
    min_free_bytes: int,
    on_queued: Callable[[], None],
) -> tuple[int, str | None]:
    """C-STORE (PS3.4 B.2.3) of `dataset`, the data set's bytes as received (no File Meta Information), in
    `transfer_syntax`, for the request's Affected SOP Class and Instance UIDs: (status, Error Comment or None).

    Success (0000, None) only once the file and its queue row are durable, and then `on_queued` has been called.
    Unreadable bytes answer C000 and instances missing what a store needs A900 (the cloud would refuse them; the
    modality's operator is the one who can act); a full disk or failing write answers A700; anything unforeseen
    0110. Never raises. The spooled file is the Part-10 file: preamble, File Meta Information naming the request's
    UIDs and the transfer syntax, then the data set exactly as received.
    """
    try:
        data = b"".join((bytes(128), b"DICM", _file_meta(transfer_syntax, sop_class_uid, sop_instance_uid), dataset))
        try:
            ds = read_instance(data)
        except UnreadableInstanceError as exc:
            log.warning("refused %s from %s: unreadable: %s", sop_instance_uid, calling_ae, exc)
            return _failure(exc.failure_reason, f"unreadable: {exc}")
        problems = check_instance(ds)
        if problems:
            reasons = "; ".join(problem.reason for problem in problems)
            log.warning("refused %s from %s: %s", sop_instance_uid, calling_ae, reasons)
            return _failure(problems[0].failure_reason, reasons)
        free = shutil.disk_usage(queue.spool_dir).free
        if free - len(data) < min_free_bytes:
            log.error(
                "refused %s from %s: only %d bytes free in %s", sop_instance_uid, calling_ae, free, queue.spool_dir
            )
            return _failure(FailureReason.OUT_OF_RESOURCES, "the gateway's disk is full")
        try:
            received = queue.put(
                data,
                sop_instance_uid=uid_value(ds, "SOPInstanceUID"),
                sop_class_uid=uid_value(ds, "SOPClassUID"),
                study_instance_uid=uid_value(ds, "StudyInstanceUID"),
            )
        except Exception as exc:  # disk or database: the file is not safe, so the modality must keep it
            log.exception("could not queue %s from %s", sop_instance_uid, calling_ae)
            return _failure(FailureReason.OUT_OF_RESOURCES, f"the gateway could not store the file: {exc}")
        # Debug, not info: a line per instance cost a tenth of the SCP's CPU; the queue row is the record.
        log.debug("%s %s from %s (%d bytes)", received.outcome, sop_instance_uid, calling_ae, len(data))
        on_queued()
        return SUCCESS, None
    except Exception as exc:
        log.exception("C-STORE of %s from %s failed", sop_instance_uid, calling_ae)
        return _failure(PROCESSING_FAILURE, f"the gateway failed: {exc}")


def _file_meta(transfer_syntax: str, sop_class_uid: str, sop_instance_uid: str) -> bytes:
    """The File Meta Information group (PS3.10 §7.1) as pynetdicom writes it for a received C-STORE."""
    return encode_file_meta(
        create_file_meta(
            sop_class_uid=UID(sop_class_uid),
            sop_instance_uid=UID(sop_instance_uid),
            transfer_syntax=UID(transfer_syntax),
        )
    )


def _failure(status: int, comment: str) -> tuple[int, str]:
    return int(status), comment[:ERROR_COMMENT_MAX]
