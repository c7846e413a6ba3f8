"""The Storage and Verification SCP modalities send to (PS3.4 Annex B and A.4), queueing before it acknowledges; and
the Query/Retrieve SCP (C-FIND, C-MOVE) county workstations pull the hospital's cloud studies through."""

from __future__ import annotations

import functools
import logging
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

from yilian.gateway.admission import AssociationSlots
from yilian.gateway.query_retrieve import CloudArchive, handle_find, handle_move
from yilian.gateway.queue import InstanceQueue
from yilian.gateway.reactor import WaitingRequestHandler
from yilian.gateway.settings import GatewaySettings
from yilian.gateway.storage_scp import LeanAssociationServer, LeanRequestHandler
from yilian.gateway.store import ERROR_COMMENT_MAX, PROCESSING_FAILURE, store_file, store_received

log = logging.getLogger(__name__)

# The largest P-DATA-TF PDU the gateway takes (PS3.8 D.1): a 512x512 CT slice in one PDU rather than 32 of
# pynetdicom's default 16 KiB, each decoded and queued in Python (about a tenth less CPU per instance).
MAX_PDU_BYTES = 1024 * 1024


def start_scp(
    settings: GatewaySettings,
    queue: InstanceQueue,
    on_queued: Callable[[], None],
    archive: CloudArchive | None = None,
    slots: AssociationSlots | None = None,
) -> ThreadedAssociationServer:
    """Listen for associations in background threads; `on_queued` is called after each newly queued instance.

    Every storage SOP class pynetdicom knows is accepted with every transfer syntax it knows, so compressed
    images are kept exactly as the modality sent them. Calling AE titles outside the allowed list are rejected
    at association time (A-ASSOCIATE-RJ, calling AE title not recognised), before they take a slot; the limits
    and timeouts are gateway.admission's (`slots`, by default one for `settings`' limit and allowed AEs). With
    `archive`, C-FIND and C-MOVE are answered from the cloud (gateway.query_retrieve).
    """
    ae = AE(ae_title=settings.ae_title)
    ae.maximum_associations = settings.max_connections
    ae.maximum_pdu_size = MAX_PDU_BYTES
    ae.acse_timeout = settings.association_request_seconds
    ae.network_timeout = settings.idle_seconds
    if slots is None:
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
    lean = settings.scp == "lean"
    server = ae.make_server(
        (settings.host, settings.port),
        evt_handlers=handlers,
        server_class=LeanAssociationServer if lean else ThreadedAssociationServer,
        request_handler=LeanRequestHandler if lean else WaitingRequestHandler,
    )
    if isinstance(server, LeanAssociationServer):
        # Plain storage associations are served by gateway.storage_scp, storing through the same store_received
        server.configure_lean(
            slots,
            functools.partial(store_received, queue=queue, min_free_bytes=settings.min_free_bytes, on_queued=on_queued),
            functools.partial(store_file, queue=queue, min_free_bytes=settings.min_free_bytes, on_queued=on_queued),
            association_request_seconds=settings.association_request_seconds,
            idle_seconds=settings.idle_seconds,
            max_connections=settings.max_connections,
        )
    threading.Thread(target=server.serve_forever, name="gateway-scp", daemon=True).start()
    ae._servers.append(server)  # so ae.shutdown() stops it, as for a server ae.start_server made
    return server


def handle_store(
    event: Event, queue: InstanceQueue, min_free_bytes: int, on_queued: Callable[[], None]
) -> int | Dataset:
    """C-STORE (PS3.4 B.2.3) as pynetdicom hands it over: the data set as received to gateway.store, its answer
    back as a status (with the Error Comment on a failure); never raises."""
    calling = event.assoc.requestor.ae_title
    request = event.request
    sop_instance_uid = str(getattr(request, "AffectedSOPInstanceUID", "") or "")
    try:
        dataset = event.encoded_dataset(include_meta=False)  # the bytes as sent: no decode and re-encode
        transfer_syntax = str(event.context.transfer_syntax)
        sop_class_uid = str(getattr(request, "AffectedSOPClassUID", "") or "")
    except Exception as exc:
        log.exception("C-STORE of %s from %s failed", sop_instance_uid, calling)
        return _failure(PROCESSING_FAILURE, f"the gateway failed: {exc}")
    status, comment = store_received(
        dataset,
        transfer_syntax=transfer_syntax,
        sop_class_uid=sop_class_uid,
        sop_instance_uid=sop_instance_uid,
        calling_ae=calling,
        queue=queue,
        min_free_bytes=min_free_bytes,
        on_queued=on_queued,
    )
    return status if comment is None else _failure(status, comment)


def _failure(status: int, comment: str) -> Dataset:
    response = Dataset()
    response.Status = status
    response.ErrorComment = comment[:ERROR_COMMENT_MAX]
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
