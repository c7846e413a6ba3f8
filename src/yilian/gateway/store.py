"""Storing one received instance at the gateway (PS3.4 B.2.3): the checks at the door, the durable queue, the answer.

Every DICOM Upper Layer front end of the gateway (pynetdicom's in gateway.scp, the lean one in gateway.storage_scp)
hands the data set as received to `store_received` and sends back the status and Error Comment it returns; no storage
logic lives in a front end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION

from yilian.dicom.header import read_identity
from yilian.dicom.instance import FailureReason, UnreadableInstanceError, check_instance, read_instance, uid_value
from yilian.dicom.part10 import part10_header
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
    UIDs and the transfer syntax (as pynetdicom writes it, with its implementation UID and version name), then the
    data set exactly as received.

    The checks are dicom.instance's `read_instance` and `check_instance`; `dicom.header.read_identity` answers for
    them from one walk over the bytes when it can (Explicit and Implicit VR Little Endian), else pydicom reads the
    file, so the answer is the same either way.
    """
    try:
        data = file_meta(sop_class_uid, sop_instance_uid, transfer_syntax) + dataset
    except Exception as exc:
        return _processing_failure(exc, sop_instance_uid, calling_ae)
    return store_file(
        data,
        sha256=None,
        sop_instance_uid=sop_instance_uid,
        calling_ae=calling_ae,
        queue=queue,
        min_free_bytes=min_free_bytes,
        on_queued=on_queued,
    )


def file_meta(sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str) -> bytes:
    """The spooled file's preamble and File Meta Information (as pynetdicom writes them) for a received data set."""
    return part10_header(
        sop_class_uid=sop_class_uid,
        sop_instance_uid=sop_instance_uid,
        transfer_syntax=transfer_syntax,
        implementation_class_uid=PYNETDICOM_IMPLEMENTATION_UID,
        implementation_version_name=PYNETDICOM_IMPLEMENTATION_VERSION,
    )


def store_file(
    data: bytes,
    *,
    sha256: str | None,
    sop_instance_uid: str,
    calling_ae: str,
    queue: InstanceQueue,
    min_free_bytes: int,
    on_queued: Callable[[], None],
) -> tuple[int, str | None]:
    """`store_received` from the Part-10 file it builds: `file_meta(...) + dataset`, with its SHA-256 hex digest
    when the caller hashed it as it arrived (the lean SCP), else None. The same checks, answers and spooled bytes."""
    try:
        identity = read_identity(data)  # one walk over the bytes; None: pydicom reads them, as it always did
        if identity is None:
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
            uids = uid_value(ds, "SOPInstanceUID"), uid_value(ds, "SOPClassUID"), uid_value(ds, "StudyInstanceUID")
        else:
            uids = identity.sop_instance_uid, identity.sop_class_uid, identity.study_instance_uid
        free = queue.free_bytes(len(data), min_free_bytes)
        if free - len(data) < min_free_bytes:
            log.error(
                "refused %s from %s: only %d bytes free in %s", sop_instance_uid, calling_ae, free, queue.spool_dir
            )
            return _failure(FailureReason.OUT_OF_RESOURCES, "the gateway's disk is full")
        try:
            received = queue.put(
                data, sha256=sha256, sop_instance_uid=uids[0], sop_class_uid=uids[1], study_instance_uid=uids[2]
            )
        except Exception as exc:  # disk or database: the file is not safe, so the modality must keep it
            log.exception("could not queue %s from %s", sop_instance_uid, calling_ae)
            return _failure(FailureReason.OUT_OF_RESOURCES, f"the gateway could not store the file: {exc}")
        # Debug, not info: a line per instance cost a tenth of the SCP's CPU; the queue row is the record.
        log.debug("%s %s from %s (%d bytes)", received.outcome, sop_instance_uid, calling_ae, len(data))
        on_queued()
        return SUCCESS, None
    except Exception as exc:
        return _processing_failure(exc, sop_instance_uid, calling_ae)


def _processing_failure(exc: Exception, sop_instance_uid: str, calling_ae: str) -> tuple[int, str]:
    log.exception("C-STORE of %s from %s failed", sop_instance_uid, calling_ae)
    return _failure(PROCESSING_FAILURE, f"the gateway failed: {exc}")


def _failure(status: int, comment: str) -> tuple[int, str]:
    return int(status), comment[:ERROR_COMMENT_MAX]
