"""The lean Storage and Verification SCP (YILIAN_GATEWAY_SCP=lean): one thread per association speaking PS3.8 and
PS3.7 in plain bytes, instead of pynetdicom's DUL reactor, state machine and DIMSE primitives per PDU.

pynetdicom spends about half of the gateway's GIL time per C-STORE on its machinery: a DUL thread and an
association thread per association with queue hops between them, PDU and primitive objects, the command set
decoded and the file meta encoded through pydicom. Here a connection's thread reads the A-ASSOCIATE-RQ with
MSG_PEEK and decides:

* a plain storage association (only Storage SOP classes pynetdicom's StoragePresentationContexts lists and
  Verification; no role selection, user identity, extended or asynchronous-operations items; protocol version 1;
  the DICOM application context) from an admitted calling AE is served here: negotiated with pynetdicom's own PDU
  classes and `negotiate_as_acceptor` (so the A-ASSOCIATE-AC is byte-for-byte pynetdicom's; once per distinct
  request's bytes, remembered for the next association that proposes them), then P-DATA-TF, C-STORE and C-ECHO
  in bytes (gateway.dicom_ul);
* anything else (Query/Retrieve contexts, unusual items, malformed or oversized PDUs, refused calling AEs, full
  slots) goes to pynetdicom untouched, on the same socket: its answer is the one the gateway always gave.

The store itself is gateway.store.store_received, the same code pynetdicom's path (scp.handle_store) calls, or
its store_file with the Part-10 file it would build, when the data set arrived behind its File Meta (_DataSet).
"""

from __future__ import annotations

import hashlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol, cast

from pynetdicom import AE, StoragePresentationContexts
from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
    MaximumLengthNotification,
)
from pynetdicom.presentation import PresentationContext, negotiate_as_acceptor
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer

from yilian.gateway import dicom_ul
from yilian.gateway.admission import REJECT_LOCAL_LIMIT, AssociationSlots, proposes_storage
from yilian.gateway.dicom_ul import ProtocolError
from yilian.gateway.reactor import WaitingRequestHandler
from yilian.gateway.store import file_meta

log = logging.getLogger(__name__)

APPLICATION_CONTEXT_NAME = "1.2.840.10008.3.1.1.1"  # PS3.7 A.2.1
LEAN_ABSTRACT_SYNTAXES = frozenset(
    [str(cx.abstract_syntax) for cx in StoragePresentationContexts] + [str(Verification)]
)
# The largest A-ASSOCIATE-RQ read here; a bigger one (hundreds of contexts) or one claiming 1 GB is pynetdicom's.
MAX_ASSOCIATE_RQ_BYTES = 64 * 1024
# The largest P-DATA-TF taken here: we announce 1 MiB (scp.MAX_PDU_BYTES); a peer far past it is broken.
MAX_PDU_BYTES = 16 * 1024 * 1024
# PDUs up to what we announce are read into one buffer the association keeps; a bigger one gets a buffer of its own.
KEPT_PDU_BYTES = 1024 * 1024 + 6
# A data set's buffer is kept for the association's next one up to this size (a CT or MR slice, a radiograph).
KEPT_DATA_SET_BYTES = 32 * 1024 * 1024
# A-ASSOCIATE-RQs remembered with what they settle (LeanAssociationServer.negotiate): a county's modalities and
# workstations each propose one or two; at most 64 KiB each, so at most 2 MiB.
NEGOTIATIONS_KEPT = 32
_PLAIN_USER_ITEMS = (
    MaximumLengthNotification,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
)


class StoreReceived(Protocol):
    """gateway.store.store_received with the queue, free-space floor and wake-up bound: (status, Error Comment)."""

    def __call__(
        self, dataset: bytes, *, transfer_syntax: str, sop_class_uid: str, sop_instance_uid: str, calling_ae: str
    ) -> tuple[int, str | None]: ...


class StoreFile(Protocol):
    """gateway.store.store_file, bound likewise: the Part-10 file store_received would build, and its SHA-256."""

    def __call__(
        self, data: bytes, *, sha256: str | None, sop_instance_uid: str, calling_ae: str
    ) -> tuple[int, str | None]: ...


class LeanRequestHandler(WaitingRequestHandler):
    """Per connection (the server's thread for it): serve a plain storage association here, or hand the socket to
    pynetdicom (WaitingRequestHandler) exactly as it arrived."""

    server: LeanAssociationServer

    def handle(self) -> None:
        sock = cast(socket.socket, self.request)
        server = self.server
        with server.lean_lock:
            server.lean_open += 1
        try:
            serve_here = self._serve_or_decline(sock)
        finally:
            with server.lean_lock:
                server.lean_open -= 1
        if not serve_here:
            super().handle()  # pynetdicom's association on the untouched socket; its threads, its counting

    def _serve_or_decline(self, sock: socket.socket) -> bool:
        """Serve the association here (True, the socket closed after), or leave the socket untouched (False)."""
        server = self.server
        try:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError as exc:
                log.debug("could not set TCP_NODELAY: %s", exc)
            if isinstance(sock, ssl.SSLSocket):  # DICOM over TLS (not configured by the gateway): pynetdicom's
                return False
            blocking = sock.gettimeout()
            rq_bytes = _peek_associate_rq(sock, server.association_request_seconds)
            sock.settimeout(blocking)  # pynetdicom gets the socket as accepted
            if rq_bytes is None:  # nothing whole within the ARTIM time: closed, as pynetdicom's ARTIM does
                _close(sock)
                return True
            negotiated = server.negotiate(rq_bytes) if rq_bytes else None
            if negotiated is None:
                return False
            key = id(self)
            if server.slots.take(key, negotiated.calling, stores=negotiated.stores) is not None:
                return False  # pynetdicom rejects it, logs it, counts it
            released = False
            try:
                if server.lean_open + server.pynetdicom_acceptors() > server.max_connections:
                    log.warning("rejected an association from %s: all connections taken", self.client_address)
                    sock.sendall(dicom_ul.a_associate_rj(*REJECT_LOCAL_LIMIT))
                    _linger(sock, server.association_request_seconds)
                else:
                    released = _Association(server, sock, negotiated, len(rq_bytes)).run()
            finally:
                server.slots.give_back(key)
            if released:  # the association is over (its slot back, the uploader told); the socket waits for the peer
                _linger(sock, server.association_request_seconds)
        except Exception:  # never let one connection's failure reach the server thread
            log.exception("lean association from %s failed", self.client_address)
        _close(sock)
        return True


class LeanAssociationServer(ThreadedAssociationServer):
    """pynetdicom's threaded server, whose request handler serves plain storage associations itself."""

    # A lean association lives in the server's thread for its connection: daemon, as pynetdicom's association
    # threads are, so a stopping gateway does not wait for an open association (the modality resends).
    daemon_threads = True

    def configure_lean(
        self,
        slots: AssociationSlots,
        store: StoreReceived,
        store_file: StoreFile,
        *,
        association_request_seconds: float,
        idle_seconds: float,
        max_connections: int,
    ) -> None:
        self.slots = slots
        self.store = store
        self.store_file = store_file
        self.association_request_seconds = association_request_seconds
        self.idle_seconds = idle_seconds
        self.max_connections = max_connections
        self.lean_open = 0
        self.lean_lock = threading.Lock()
        self.supported = [cx for cx in self.contexts if str(cx.abstract_syntax) in LEAN_ABSTRACT_SYNTAXES]
        self._negotiated: dict[tuple[object, ...], Negotiated | None] = {}

    def pynetdicom_acceptors(self) -> int:
        return len([assoc for assoc in self.ae.active_associations if assoc.is_acceptor])

    def negotiate(self, rq_bytes: bytes) -> Negotiated | None:
        """What the A-ASSOCIATE-RQ `rq_bytes` settles if it is served here (see `negotiate`), else None.

        Remembered by the request's bytes: a modality proposes the same bytes at every association, and decoding
        and answering storescu's 128 contexts through pynetdicom's objects cost about 13 ms of CPU each time, the
        gateway's largest cost per association. The answer is a function of those bytes and of the AE's settings
        that go into the A-ASSOCIATE-AC, which are part of the key; the supported contexts are fixed once serving.
        """
        ae = self.ae
        key = (rq_bytes, ae.maximum_pdu_size, ae.implementation_class_uid, ae.implementation_version_name)
        try:
            return self._negotiated[key]
        except KeyError:
            pass
        answer = negotiate(rq_bytes, self.supported, ae)
        if len(self._negotiated) >= NEGOTIATIONS_KEPT:  # a peer proposing ever new requests: start again
            self._negotiated.clear()
        self._negotiated[key] = answer
        return answer


def _peek_associate_rq(sock: socket.socket, seconds: float) -> bytes | None:
    """The whole first PDU if it is an A-ASSOCIATE-RQ we would read (left in the socket); b"" for any other first
    PDU (pynetdicom's to answer); None if the peer sent nothing whole within `seconds`."""
    deadline = time.monotonic() + seconds
    wanted = 6
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        sock.settimeout(remaining)
        try:
            data = sock.recv(wanted, socket.MSG_PEEK | socket.MSG_WAITALL)
        except TimeoutError:
            return None
        except OSError:
            return b""
        if len(data) < wanted:  # closed early: pynetdicom sees the same
            return b""
        if wanted == 6:
            kind, length = dicom_ul.PDU_HEADER.unpack_from(data)
            if kind != dicom_ul.A_ASSOCIATE_RQ or not 68 <= length <= MAX_ASSOCIATE_RQ_BYTES:
                return b""
            wanted = 6 + length
            continue
        return data


@dataclass(frozen=True)
class Negotiated:
    """A plain storage association as its A-ASSOCIATE-RQ settles it: shared by every association proposing the
    same bytes (LeanAssociationServer.negotiate), so nothing here is changed after it is made."""

    calling: str  # the calling AE title, stripped
    stores: bool  # it proposes a Storage SOP class (admission counts it)
    accept: bytes  # pynetdicom's A-ASSOCIATE-AC for it
    accepted: Mapping[int, str]  # context ID -> abstract syntax
    transfer_syntax: Mapping[int, str]  # context ID -> the accepted transfer syntax
    peer_max_pdu: int  # the requestor's maximum PDU length (0: no limit)


def negotiate(rq_bytes: bytes, supported: list[PresentationContext], ae: AE) -> Negotiated | None:
    """The association the A-ASSOCIATE-RQ `rq_bytes` asks for, as served here, with pynetdicom's answer
    (acse.ACSE.send_accept with the acceptor's user items); None when the lean SCP does not serve it."""
    request = _plain_storage_request(rq_bytes)
    if request is None:
        return None
    peer_max_pdu = 0
    for item in request.user_information:
        if isinstance(item, MaximumLengthNotification):
            peer_max_pdu = int(item.maximum_length_received or 0)
    results, _roles = negotiate_as_acceptor(request.presentation_context_definition_list, supported, {})
    accepted = sorted((cx for cx in results if cx.result == 0x00), key=lambda cx: cast(int, cx.context_id))
    rejected = [cx for cx in results if cx.result != 0x00]
    max_length = MaximumLengthNotification()
    max_length.maximum_length_received = ae.maximum_pdu_size
    class_uid = ImplementationClassUIDNotification()
    class_uid.implementation_class_uid = ae.implementation_class_uid
    user_information: list[Any] = [max_length, class_uid]
    if ae.implementation_version_name is not None:
        version = ImplementationVersionNameNotification()
        version.implementation_version_name = ae.implementation_version_name
        user_information.append(version)
    primitive = A_ASSOCIATE()
    primitive.application_context_name = APPLICATION_CONTEXT_NAME
    primitive.calling_ae_title = request.calling_ae_title
    primitive.called_ae_title = request.called_ae_title
    primitive.result = 0x00
    primitive.result_source = 0x01
    primitive.presentation_context_definition_results_list = accepted + rejected
    primitive.user_information = user_information
    return Negotiated(
        calling=str(request.calling_ae_title or "").strip(),
        stores=proposes_storage(cx.abstract_syntax for cx in request.presentation_context_definition_list),
        accept=A_ASSOCIATE_AC(primitive).encode(),
        accepted=MappingProxyType({cast(int, cx.context_id): str(cx.abstract_syntax) for cx in accepted}),
        transfer_syntax=MappingProxyType({cast(int, cx.context_id): str(cx.transfer_syntax[0]) for cx in accepted}),
        peer_max_pdu=peer_max_pdu,
    )


def _plain_storage_request(rq_bytes: bytes) -> A_ASSOCIATE | None:
    """The A-ASSOCIATE-RQ as pynetdicom decodes it, if the lean SCP serves it (see the module docstring)."""
    try:
        pdu = A_ASSOCIATE_RQ()
        pdu.decode(rq_bytes)
        if pdu.protocol_version != 0x0001:
            return None
        request = pdu.to_primitive()
    except Exception:  # pynetdicom's own path decides what a broken request gets
        return None
    if str(request.application_context_name) != APPLICATION_CONTEXT_NAME:
        return None
    contexts = request.presentation_context_definition_list
    if not contexts or len({cx.context_id for cx in contexts}) != len(contexts):
        return None
    if any(str(cx.abstract_syntax) not in LEAN_ABSTRACT_SYNTAXES or not cx.transfer_syntax for cx in contexts):
        return None
    items = request.user_information
    if not all(isinstance(item, _PLAIN_USER_ITEMS) for item in items):
        return None
    if not any(isinstance(item, MaximumLengthNotification) for item in items):
        return None
    return request


def _linger(sock: socket.socket, seconds: float) -> None:
    """After an A-ASSOCIATE-RJ or A-RELEASE-RP: wait for the peer to close (PS3.8 Sta13, the ARTIM time)."""
    try:
        sock.settimeout(seconds)
        while sock.recv(65536):
            pass
    except OSError:
        pass


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class _Association:
    """One accepted association: PDUs in, C-STORE/C-ECHO responses out, until release, abort or idle timeout."""

    def __init__(
        self, server: LeanAssociationServer, sock: socket.socket, negotiated: Negotiated, rq_length: int
    ) -> None:
        self.server = server
        self.sock = sock
        self.negotiated = negotiated
        self.calling = negotiated.calling
        self.rq_length = rq_length
        self.accepted = negotiated.accepted
        self.transfer_syntax = negotiated.transfer_syntax
        self.peer_max_pdu = negotiated.peer_max_pdu
        self._header = bytearray(6)
        self._pdu = bytearray(0)  # P-DATA-TF bodies up to KEPT_PDU_BYTES, read one after another into this
        self._data_set = _DataSet()

    def run(self) -> bool:
        """Serve until the association ends; True if it ended by A-RELEASE (the A-RELEASE-RP sent)."""
        self.sock.recv(self.rq_length, socket.MSG_WAITALL)  # the A-ASSOCIATE-RQ we peeked, now taken off the socket
        self.sock.sendall(self.negotiated.accept)
        self.sock.settimeout(self.server.idle_seconds)
        command: list[bytes] = []
        command_values: dict[int, bytes] | None = None
        context_id = 0
        try:
            while True:
                kind, body = self._read_pdu()
                if kind == dicom_ul.P_DATA_TF:
                    for pdv_context, control, fragment in dicom_ul.read_pdvs(body):
                        if pdv_context not in self.accepted:
                            # pynetdicom aborts as the service user on a message for a context it did not accept
                            log.info("DIMSE message on the unaccepted context %d", pdv_context)
                            self.sock.sendall(dicom_ul.a_abort(0x00, 0x00))
                            return False
                        if control & 0x01:
                            if command_values is not None:
                                raise ProtocolError("a command fragment while a data set was expected", 0x02)
                            command.append(bytes(fragment))  # the PDU's buffer is read into again
                            if control & 0x02:
                                command_values = dicom_ul.read_command_set(b"".join(command))
                                command.clear()
                                context_id = pdv_context
                                if dicom_ul.us_value(command_values, dicom_ul.COMMAND_DATA_SET_TYPE) == 0x0101:
                                    self._serve(context_id, command_values, has_data_set=False)
                                    command_values = None
                                else:
                                    self._data_set.start(self._file_meta(context_id, command_values))
                        else:
                            if command_values is None or pdv_context != context_id:
                                raise ProtocolError("a data set fragment without its command", 0x02)
                            self._data_set.add(fragment)
                            if control & 0x02:
                                values, command_values = command_values, None
                                self._serve(context_id, values, has_data_set=True)
                elif kind == dicom_ul.A_RELEASE_RQ:
                    self.sock.sendall(dicom_ul.A_RELEASE_RP_PDU)
                    return True
                elif kind == dicom_ul.A_ABORT:
                    log.info("association from %s aborted by the peer", self.calling)
                    return False
                elif kind in (
                    dicom_ul.A_ASSOCIATE_RQ,
                    dicom_ul.A_ASSOCIATE_AC,
                    dicom_ul.A_ASSOCIATE_RJ,
                    dicom_ul.A_RELEASE_RP,
                ):
                    raise ProtocolError(f"unexpected PDU type 0x{kind:02X}", 0x02)
                else:
                    raise ProtocolError(f"unrecognised PDU type 0x{kind:02X}", 0x01)
        except TimeoutError:
            log.error("Network timeout reached")  # pynetdicom's words; it aborts as the service user
            self._send_quietly(dicom_ul.a_abort(0x00, 0x00))
        except ProtocolError as exc:
            log.warning("aborted the association from %s: %s", self.calling, exc)
            self._send_quietly(dicom_ul.a_abort(0x02, exc.reason))
        except ConnectionError:
            log.info("the connection from %s closed mid-association", self.calling)
        return False

    def _send_quietly(self, pdu: bytes) -> None:
        try:
            self.sock.sendall(pdu)
        except OSError:
            pass

    def _read_pdu(self) -> tuple[int, memoryview]:
        header = self._header
        self._read_into(memoryview(header))
        kind, length = dicom_ul.PDU_HEADER.unpack_from(header)
        if length > MAX_PDU_BYTES:
            raise ProtocolError(f"a PDU of {length} bytes", 0x06)
        if length > KEPT_PDU_BYTES:
            body = bytearray(length)
        else:
            if length > len(self._pdu):
                self._pdu = bytearray(length)
            body = self._pdu
        view = memoryview(body)[:length]
        self._read_into(view)
        return kind, view

    def _read_into(self, view: memoryview) -> None:
        read, wanted = 0, len(view)
        recv_into = self.sock.recv_into
        while read < wanted:
            got = recv_into(view[read:], wanted - read)
            if not got:
                raise ConnectionError("the peer closed the connection")
            read += got

    def _file_meta(self, context_id: int, values: dict[int, bytes]) -> bytes | None:
        """The spooled file's File Meta for a C-STORE-RQ's coming data set, so its bytes can follow it as they arrive;
        None for another command, a missing UID, or File Meta that cannot be built (store_received answers that)."""
        if dicom_ul.us_value(values, dicom_ul.COMMAND_FIELD) != dicom_ul.C_STORE_RQ:
            return None
        sop_class = dicom_ul.ui_value(values, dicom_ul.AFFECTED_SOP_CLASS_UID)
        sop_instance = dicom_ul.ui_value(values, dicom_ul.AFFECTED_SOP_INSTANCE_UID)
        if sop_class is None or sop_instance is None:
            return None
        try:
            return file_meta(sop_class, sop_instance, self.transfer_syntax[context_id])
        except Exception:  # store_received builds it again and answers the failure as it always did
            return None

    def _serve(self, context_id: int, values: dict[int, bytes], *, has_data_set: bool) -> None:
        """One DIMSE request (PS3.7 9.1): C-STORE or C-ECHO, answered as pynetdicom answers it."""
        field = dicom_ul.us_value(values, dicom_ul.COMMAND_FIELD)
        message_id = dicom_ul.us_value(values, dicom_ul.MESSAGE_ID)
        sop_class = dicom_ul.ui_value(values, dicom_ul.AFFECTED_SOP_CLASS_UID)
        if field == dicom_ul.C_ECHO_RQ:
            if message_id is None or sop_class is None:
                log.warning("Received unexpected C-ECHO service message")  # pynetdicom ignores it too
                return
            self._send_command(context_id, dicom_ul.c_echo_rsp(message_id, sop_class))
            return
        if field != dicom_ul.C_STORE_RQ:
            raise ProtocolError(f"a DIMSE command 0x{field or 0:04X} this SCP does not serve", 0x00)
        sop_instance = dicom_ul.ui_value(values, dicom_ul.AFFECTED_SOP_INSTANCE_UID)
        priority = dicom_ul.us_value(values, dicom_ul.PRIORITY)
        received, sha256 = self._data_set.take()
        if message_id is None or sop_class is None or sop_instance is None or priority is None or not has_data_set:
            log.warning("Received unexpected C-STORE service message")  # not a valid request: pynetdicom ignores it
            return
        # As pynetdicom's StorageServiceClass: the store judges, whatever the context's SOP class
        try:
            if sha256 is not None:  # the Part-10 file store_received would build, hashed as it arrived
                status, comment = self.server.store_file(
                    received, sha256=sha256, sop_instance_uid=sop_instance, calling_ae=self.calling
                )
            else:
                status, comment = self.server.store(
                    received,
                    transfer_syntax=self.transfer_syntax[context_id],
                    sop_class_uid=sop_class,
                    sop_instance_uid=sop_instance,
                    calling_ae=self.calling,
                )
        except Exception:  # store_received never raises; pynetdicom answers C211 if a handler does
            log.exception("Exception in the handler bound to 'evt.EVT_C_STORE'")
            status, comment = 0xC211, None
        self._send_command(context_id, dicom_ul.c_store_rsp(message_id, sop_class, sop_instance, status, comment))

    def _send_command(self, context_id: int, command: bytes) -> None:
        self.sock.sendall(dicom_ul.p_data_tf(context_id, 0x01, command, self.peer_max_pdu))


class _DataSet:
    """A C-STORE's data set as its fragments arrive, copied into one buffer the association keeps: no list of
    fragments to join, no second copy to put the File Meta in front, no new buffer per instance.

    When the File Meta could be built from the command, the fragments follow it and are hashed as they arrive, so
    the last one leaves the Part-10 file store_received would build and its SHA-256 (what the queue names the file
    by) with the hashing done while the rest was still on its way; else the data set alone, for store_received.
    """

    def __init__(self) -> None:
        self._buffer = bytearray(0)
        self._size = 0
        self._hash: Any = None  # hashlib's sha256 while the File Meta leads the buffer

    def start(self, meta: bytes | None) -> None:
        self._size = 0
        self._hash = None
        if meta is not None:
            self._append(meta)
            self._hash = hashlib.sha256(meta)

    def add(self, fragment: memoryview) -> None:
        self._append(fragment)
        if self._hash is not None:
            self._hash.update(fragment)

    def take(self) -> tuple[bytes, str | None]:
        """(the Part-10 file and its SHA-256 hex digest) or (the data set alone, None); the buffer is emptied."""
        with memoryview(self._buffer) as view:
            received = bytes(view[: self._size])
        sha256 = None if self._hash is None else str(self._hash.hexdigest())
        self.start(None)
        if len(self._buffer) > KEPT_DATA_SET_BYTES:  # a multi-frame instance: its memory goes back now
            self._buffer = bytearray(0)
        return received, sha256

    def _append(self, piece: bytes | memoryview) -> None:
        end = self._size + len(piece)
        if end > len(self._buffer):
            grown = bytearray(max(end, 2 * len(self._buffer), 1024 * 1024))
            grown[: self._size] = self._buffer[: self._size]
            self._buffer = grown
        self._buffer[self._size : end] = piece
        self._size = end
