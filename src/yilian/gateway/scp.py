"""The Storage and Verification SCP modalities send to (PS3.4 Annex B and A.4), queueing before it acknowledges; and
the Query/Retrieve SCP (C-FIND, C-MOVE) county workstations pull the hospital's cloud studies through."""

from __future__ import annotations

import logging
import shutil
import socket
import threading
from collections.abc import Callable

from pydicom.dataset import Dataset
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, StoragePresentationContexts, evt
from pynetdicom.events import Event, EventHandlerType
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)
from pynetdicom.transport import ThreadedAssociationServer

from yilian.dicom.instance import FailureReason, UnreadableInstanceError, check_instance, read_instance, uid_value
from yilian.gateway.admission import AssociationSlots
from yilian.gateway.query_retrieve import CloudArchive, handle_find, handle_move
from yilian.gateway.queue import InstanceQueue
from yilian.gateway.reactor import WaitingRequestHandler
from yilian.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

SUCCESS = 0x0000
# PS3.7 C.4 "Processing failure": what a C-STORE answers when something unforeseen broke, never an exception.
PROCESSING_FAILURE = 0x0110
# The largest P-DATA-TF PDU the gateway takes (PS3.8 D.1): a 512x512 CT slice in one PDU rather than 32 of
# pynetdicom's default 16 KiB, each decoded and queued in Python (about a tenth less CPU per instance).
MAX_PDU_BYTES = 1024 * 1024


def start_scp(
    settings: GatewaySettings,
    queue: InstanceQueue,
    on_queued: Callable[[], None],
    archive: CloudArchive | None = None,
) -> ThreadedAssociationServer:
    """Listen for associations in background threads; `on_queued` is called after each newly queued instance.

    Every storage SOP class pynetdicom knows is accepted with every transfer syntax it knows, so compressed
    images are kept exactly as the modality sent them. Calling AE titles outside the allowed list are rejected
    at association time (A-ASSOCIATE-RJ, calling AE title not recognised), before they take a slot; the limits
    and timeouts are gateway.admission's. With `archive`, C-FIND and C-MOVE are answered from the cloud
    (gateway.query_retrieve).
    """
    ae = AE(ae_title=settings.ae_title)
    ae.maximum_associations = settings.max_connections
    ae.maximum_pdu_size = MAX_PDU_BYTES
    ae.acse_timeout = settings.association_request_seconds
    ae.network_timeout = settings.idle_seconds
    slots = AssociationSlots(settings.max_associations, settings.allowed_calling_aes)
    for context in StoragePresentationContexts:
        assert context.abstract_syntax is not None
        ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
    ae.add_supported_context(Verification)
    if settings.allowed_calling_aes:
        ae.require_calling_aet = settings.allowed_calling_aes
    else:
        log.warning("YILIAN_GATEWAY_ALLOWED_CALLING_AES is empty: any modality that reaches the port may send")
    handlers: list[EventHandlerType] = [
        (evt.EVT_CONN_OPEN, _set_tcp_nodelay),
        (evt.EVT_REQUESTED, slots.on_requested),
        (evt.EVT_CONN_CLOSE, slots.on_closed),
        (evt.EVT_C_STORE, handle_store, [queue, settings.min_free_bytes, on_queued]),
        (evt.EVT_REJECTED, _log_rejected),
    ]
    if archive is not None:
        for find, move in (
            (StudyRootQueryRetrieveInformationModelFind, StudyRootQueryRetrieveInformationModelMove),
            (PatientRootQueryRetrieveInformationModelFind, PatientRootQueryRetrieveInformationModelMove),
        ):
            ae.add_supported_context(find)
            ae.add_supported_context(move)
        handlers += [
            (evt.EVT_C_FIND, handle_find, [archive, settings.ae_title]),
            (evt.EVT_C_MOVE, handle_move, [archive, settings.move_destinations]),
        ]
    # ae.start_server(block=False) as pynetdicom does it, with associations that wait instead of polling
    # (gateway.reactor): the same server class and serving thread, another request handler.
    server = ae.make_server(
        (settings.host, settings.port),
        evt_handlers=handlers,
        server_class=ThreadedAssociationServer,
        request_handler=WaitingRequestHandler,
    )
    threading.Thread(target=server.serve_forever, name="gateway-scp", daemon=True).start()
    ae._servers.append(server)  # so ae.shutdown() stops it, as for a server ae.start_server made
    return server


def handle_store(
    event: Event, queue: InstanceQueue, min_free_bytes: int, on_queued: Callable[[], None]
) -> int | Dataset:
    """C-STORE (PS3.4 B.2.3): Success only once the file and its queue row are durable; never raises.

    Unreadable bytes answer C000 and instances missing what a store needs A900 (the cloud would refuse them;
    the modality's operator is the one who can act); a full disk or failing write answers A700.
    """
    calling = event.assoc.requestor.ae_title
    sop_instance_uid = str(getattr(event.request, "AffectedSOPInstanceUID", "") or "")
    try:
        data = event.encoded_dataset(include_meta=True)  # the bytes as sent: no decode and re-encode
        try:
            ds = read_instance(data)
        except UnreadableInstanceError as exc:
            log.warning("refused %s from %s: unreadable: %s", sop_instance_uid, calling, exc)
            return _failure(exc.failure_reason, f"unreadable: {exc}")
        problems = check_instance(ds)
        if problems:
            reasons = "; ".join(problem.reason for problem in problems)
            log.warning("refused %s from %s: %s", sop_instance_uid, calling, reasons)
            return _failure(problems[0].failure_reason, reasons)
        free = shutil.disk_usage(queue.spool_dir).free
        if free - len(data) < min_free_bytes:
            log.error("refused %s from %s: only %d bytes free in %s", sop_instance_uid, calling, free, queue.spool_dir)
            return _failure(FailureReason.OUT_OF_RESOURCES, "the gateway's disk is full")
        try:
            received = queue.put(
                data,
                sop_instance_uid=uid_value(ds, "SOPInstanceUID"),
                sop_class_uid=uid_value(ds, "SOPClassUID"),
                study_instance_uid=uid_value(ds, "StudyInstanceUID"),
            )
        except Exception as exc:  # disk or database: the file is not safe, so the modality must keep it
            log.exception("could not queue %s from %s", sop_instance_uid, calling)
            return _failure(FailureReason.OUT_OF_RESOURCES, f"the gateway could not store the file: {exc}")
        # Debug, not info: a line per instance cost a tenth of the SCP's CPU; the queue row is the record.
        log.debug("%s %s from %s (%d bytes)", received.outcome, sop_instance_uid, calling, len(data))
        on_queued()
        return SUCCESS
    except Exception as exc:
        log.exception("C-STORE of %s from %s failed", sop_instance_uid, calling)
        return _failure(PROCESSING_FAILURE, f"the gateway failed: {exc}")


def _failure(status: int, comment: str) -> Dataset:
    # Error Comment (0000,0902) is at most 64 characters (PS3.7 C.4); modalities show it to the operator.
    response = Dataset()
    response.Status = int(status)
    response.ErrorComment = comment[:64]
    return response


def _set_tcp_nodelay(event: Event) -> None:
    """Without TCP_NODELAY every small PDU waits for a delayed ACK (~40 ms per exchange); pynetdicom leaves it on."""
    try:
        event.assoc.dul.socket.socket.setsockopt(  # type: ignore[union-attr]
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
        )
    except (AttributeError, OSError) as exc:
        log.debug("could not set TCP_NODELAY: %s", exc)


def _log_rejected(event: Event) -> None:
    requestor = event.assoc.requestor
    log.warning("rejected an association from %s (%s:%s)", requestor.ae_title, requestor.address, requestor.port)
