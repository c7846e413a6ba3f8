"""pynetdicom's acceptor association, cheaper per association and per PDU: no 1 ms polling, a PDU read in one
piece, the supported contexts copied without rebuilding every UID.

pynetdicom 3.0 runs two threads per association, and both poll: the DUL reactor (`dul.DULServiceProvider.
run_reactor`) sleeps 1 ms whenever a pass found nothing, then checks the socket with a zero-timeout `select`, and
the association reactor (`association.Association._run_reactor`) sleeps 1 ms before every look at its queues. Four
open associations kept the gateway 0.14 cores busy doing nothing (0.42 CPU-s in 3 s; 0.03 s here), and while images
flow the polling threads contend for the GIL with the ones doing the work.

Here the DUL thread waits in `select` on its socket and on a wake-up pipe written whenever a queue it serves is
filled, and the association thread waits on an event set whenever a message, a release or an abort arrives for it.
Both still wake every `_IDLE_SECONDS` to check the timers (ARTIM, network idle) and the kill flags, as pynetdicom's
loops did every 1 ms. Every step of both loops is pynetdicom's own, in its order; only the waits differ. This is
the one module that touches pynetdicom's insides (tests/unit/gateway/test_reactor.py, and
tests/integration/test_gateway*.py run the SCP through it); check it against a new pynetdicom before raising the pin.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import queue
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from pynetdicom import evt
from pynetdicom._globals import MODE_ACCEPTOR
from pynetdicom.association import Association
from pynetdicom.dul import DULServiceProvider
from pynetdicom.pdu import A_ABORT_RQ
from pynetdicom.presentation import PresentationContext
from pynetdicom.transport import AssociationSocket, RequestHandler

log = logging.getLogger(__name__)

# How long an idle thread sleeps before it checks the timers and the kill flag again: pynetdicom's timers are in
# seconds (ARTIM = the association request timeout, 5 s here; the network idle timeout, 60 s), so 50 ms is fine.
_IDLE_SECONDS = 0.05


class _WakingQueue(queue.Queue[Any]):
    """A queue that calls `wake` after each put, so the thread that consumes it need not poll."""

    def __init__(self, wake: Callable[[], None]) -> None:
        super().__init__()
        self._wake = wake

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        self._wake()


class WaitingDUL(DULServiceProvider):
    """The DUL reactor, waiting in `select` for its socket or a wake-up instead of sleeping 1 ms per pass."""

    def __init__(self, assoc: Association, wake_association: Callable[[], None]) -> None:
        super().__init__(assoc)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._closed = False
        self._pipe_lock = threading.Lock()
        # Filled by the association thread (primitives to send) or by either thread (events): wake the reactor.
        self.to_provider_queue = _WakingQueue(self.wake)
        self.event_queue = _WakingQueue(self.wake)
        # Filled by this thread for the association thread: wake it.
        self.to_user_queue = _WakingQueue(wake_association)
        # (pynetdicom's Thread target is `self.run_reactor`, bound in its __init__: ours, on this class.)

    def wake(self) -> None:
        with self._pipe_lock:
            if self._closed:
                return
            with contextlib.suppress(BlockingIOError):  # the pipe is full: the reactor is awake anyway
                os.write(self._wake_write, b"\0")

    def kill_dul(self) -> None:
        super().kill_dul()
        self.wake()

    def stop_dul(self) -> bool:
        if self.state_machine.current_state == "Sta1":
            self._kill_thread = True
            self.wake()
            while self.is_alive():
                time.sleep(0.001)
            return True
        return False

    def _wait_for_work(self) -> None:
        """Until the socket has data, another thread queued work, or `_IDLE_SECONDS` passed."""
        sock = self.socket.socket if self.socket is not None else None
        if sock is not None and isinstance(sock, ssl.SSLSocket) and sock.pending():
            return
        try:
            fileno = -1 if sock is None else sock.fileno()
            readers = [self._wake_read] if fileno < 0 else [fileno, self._wake_read]
            select.select(readers, [], [], _IDLE_SECONDS)
        except (OSError, ValueError):  # the socket closed under us: the next pass notices, as pynetdicom's does
            time.sleep(self._run_loop_delay)
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self._wake_read, 4096):
                pass

    def _close_pipe(self) -> None:
        with self._pipe_lock:
            if self._closed:
                return
            self._closed = True
            os.close(self._wake_read)
            os.close(self._wake_write)

    def run_reactor(self) -> None:
        """pynetdicom 3.0.4's `DULServiceProvider.run_reactor`, with `time.sleep(1 ms)` replaced by the wait."""
        try:
            self._run()
        finally:
            self._close_pipe()

    def _run(self) -> None:
        self._idle_timer.start()
        assert self.socket is not None
        sleep = False
        while True:
            if not self.assoc._dul_ready.is_set():
                self.assoc._dul_ready.set()
                sleep = True
            if sleep:
                self._wait_for_work()
            if self._kill_thread:
                break
            if self.artim_timer.expired:
                self.event_queue.put("Evt18")
            try:
                # One primitive to send, or one PDU received, per pass (as pynetdicom)
                if self._process_recv_primitive():
                    pass
                elif self._is_transport_event():
                    self._idle_timer.restart()
            except Exception as exc:
                log.error("Exception in the DUL reactor, aborting the association")
                log.exception(exc)
                abort_pdu = A_ABORT_RQ()
                abort_pdu.source = 0x02
                abort_pdu.reason_diagnostic = 0x00
                self.socket.send(abort_pdu.encode())
                self.assoc.is_aborted = True
                self.assoc.is_established = False
                self.assoc._kill = True
                self._kill_thread = True
                return
            try:
                event = self.event_queue.get(block=False)
            except queue.Empty:
                sleep = True
                continue
            self.state_machine.do_action(event)
            sleep = False


class WaitingAssociation(Association):
    """An acceptor association whose reactor waits for a message, a release or an abort instead of polling."""

    def __init__(self, ae: Any, mode: str) -> None:
        super().__init__(ae, mode)
        self._work = threading.Event()
        self.dul = WaitingDUL(self, self._work.set)
        # pynetdicom's timeout setters write the timers into the DUL they find; the first one is gone now
        self.acse_timeout = self.acse_timeout
        self.network_timeout = self.network_timeout
        # DIMSE messages are decoded on the DUL thread and queued for this one
        self.dimse.msg_queue = _WakingQueue(self._work.set)

    def kill(self) -> None:
        self._work.set()
        super().kill()

    def _run_reactor(self) -> None:
        """pynetdicom 3.0.4's acceptor `Association._run_reactor`, with `time.sleep(1 ms)` replaced by the wait."""
        self._is_paused = False
        while not self._kill:
            # Cleared before looking: whatever arrives while we look sets it again, so nothing waits a round.
            self._work.wait(_IDLE_SECONDS)
            self._work.clear()

            self._is_paused = True
            self._reactor_checkpoint.wait()
            self._is_paused = False

            context_id, msg = self.dimse.get_msg(block=False)
            if msg:
                self._serve_request(msg, cast(int, context_id))
                self._work.set()  # another message may be queued behind this one

            if self.is_established and self.acse.is_release_requested():
                self.acse.send_release(is_response=True)
                log.info("Association Released")
                self.is_released = True
                self.is_established = False
                evt.trigger(self, evt.EVT_RELEASED, {})
                self.kill()
                return

            if self.acse.is_aborted():
                log_msg = "Association Aborted"
                if self.acse.is_aborted("a-p-abort"):
                    log_msg += " (A-P-ABORT)"
                log.info(log_msg)
                self.dul.receive_pdu(wait=False)
                self.is_aborted = True
                self.is_established = False
                evt.trigger(self, evt.EVT_ABORTED, {})
                self.kill()
                return

            if not self.dul.is_alive():
                self.kill()
                return

            if self.dul.idle_timer_expired():
                log.error("Network timeout reached")
                if self.network_timeout_response == "A-RELEASE":
                    self._is_paused = True
                    self._reactor_checkpoint.wait()
                    self.release()
                    self._is_paused = False
                else:
                    self.abort()
                self.kill()
                return


class BulkReadingSocket(AssociationSocket):
    """pynetdicom's socket, reading a PDU with as few `recv` calls as the network allows.

    pynetdicom's `recv` reads 4 KiB per call into a growing bytearray: 128 Python-level calls and copies for a
    512 KiB CT slice. This reads straight into one buffer of the PDU's length.
    """

    def recv(self, nr_bytes: int) -> bytearray:
        sock = cast(socket.socket, self.socket)
        buffer = bytearray(nr_bytes)
        view = memoryview(buffer)
        read = 0
        while read < nr_bytes:
            got = sock.recv_into(view[read:], nr_bytes - read)
            if not got:  # the connection broke: what was read so far, as pynetdicom returns it
                del view
                del buffer[read:]
                return buffer
            read += got
        return buffer


class WaitingRequestHandler(RequestHandler):
    """pynetdicom's request handler, making a `WaitingAssociation` for each connection."""

    def _create_association(self) -> Association:
        """pynetdicom 3.0.4's `RequestHandler._create_association`, with our association class."""
        assoc = WaitingAssociation(self.ae, MODE_ACCEPTOR)
        assoc._server = self.server
        assoc.name = f"AcceptorThread@{datetime.now():%Y%m%d%H%M%S}"
        assoc.set_socket(BulkReadingSocket(assoc, client_socket=self.request))
        assoc.acceptor.maximum_length = self.ae.maximum_pdu_size
        assoc.acceptor.ae_title = self.server.ae_title
        assoc.acceptor.address_info = self.local
        assoc.acceptor.implementation_class_uid = self.ae.implementation_class_uid
        assoc.acceptor.implementation_version_name = self.ae.implementation_version_name
        assoc.acceptor.supported_contexts = [_copy_context(cx) for cx in self.server.contexts]
        assoc.requestor.address_info = self.remote
        for event, handlers in self.server._handlers.items():
            if event.is_intervention and handlers:
                assoc.bind(event, *cast(tuple[Any, Any], handlers))
            elif isinstance(event, evt.NotificationEvent):
                for handler in cast(list[tuple[Any, Any]], handlers):
                    assoc.bind(event, handler[0], handler[1])
        return assoc


def _copy_context(context: PresentationContext) -> PresentationContext:
    """What pynetdicom's `deepcopy` of a supported context gives, without rebuilding every UID in it.

    pynetdicom deep-copies the server's contexts for each association (negotiation may change its copy); with every
    storage SOP class and every transfer syntax that is some 5,000 `UID` strings rebuilt one by one, about 45 ms of
    CPU per association. A context's other attributes are immutable (ints, booleans, `UID`s), so a shallow copy with
    its own list of transfer syntaxes is the same thing.
    """
    duplicate = copy.copy(context)
    duplicate._transfer_syntax = list(context._transfer_syntax)
    return duplicate
