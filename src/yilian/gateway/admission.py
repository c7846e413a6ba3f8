"""Who gets an association slot (issue 16 item 8): modalities first, idle sockets and strangers never.

pynetdicom counts every open socket against one limit, checked only once an A-ASSOCIATE-RQ arrives, so a dozen
idle TCP connections lock every modality out until they time out. Here the check runs on the request itself
(EVT_REQUESTED): an unknown calling AE is rejected before it takes anything, and only associations of allowed
modalities count against `max_associations`. The socket-wide limit stays as a thread cap, and idle sockets are
closed after `association_request_seconds` by pynetdicom's ACSE timeout.

Both SCPs take and give back their slots here, so this is also where the gateway knows whether a storage association
is open: the uploader lingers for the rest of a series only while one is (gateway.uploader.Arrivals).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from pynetdicom import StoragePresentationContexts
from pynetdicom.association import Association
from pynetdicom.events import Event

log = logging.getLogger(__name__)

# A-ASSOCIATE-RJ (PS3.8 9.3.4): (result, source, reason/diagnostic).
REJECT_CALLING_AE = (0x01, 0x01, 0x03)  # rejected-permanent, service-user, calling-AE-title-not-recognized
REJECT_LOCAL_LIMIT = (0x02, 0x03, 0x02)  # rejected-transient, service-provider (presentation), local-limit-exceeded

STORAGE_SOP_CLASSES = frozenset(str(cx.abstract_syntax) for cx in StoragePresentationContexts)


def proposes_storage(abstract_syntaxes: Iterable[object]) -> bool:
    """Whether an association proposing these abstract syntaxes could store instances (not only C-ECHO or Q/R)."""
    return any(str(uid) in STORAGE_SOP_CLASSES for uid in abstract_syntaxes)


class AssociationSlots:
    """The associations of allowed modalities now open, at most `limit`; thread-safe (one thread per socket).

    `on_storing_ended` is called (from the thread giving the slot back) each time the last open association that
    could store instances ends, however it ended: release, abort, timeout or a closed connection.
    """

    def __init__(
        self, limit: int, allowed_calling_aes: list[str], on_storing_ended: Callable[[], None] | None = None
    ) -> None:
        self.limit = limit
        self.allowed = frozenset(allowed_calling_aes)
        self._held: set[int] = set()
        self._storing: set[int] = set()  # the held ones that proposed a storage SOP class
        self._on_storing_ended = on_storing_ended
        self._lock = threading.Lock()

    @property
    def held(self) -> int:
        with self._lock:
            return len(self._held)

    @property
    def storing(self) -> int:
        """The open associations that could still store instances."""
        with self._lock:
            return len(self._storing)

    def take(self, key: int, calling_ae: str, *, stores: bool = True) -> tuple[int, int, int] | None:
        """Take a slot for the association `key` of `calling_ae` (`stores`: it proposed a storage SOP class), or the
        A-ASSOCIATE-RJ reason it gets instead."""
        if self.allowed and calling_ae not in self.allowed:
            return REJECT_CALLING_AE
        with self._lock:
            if len(self._held) >= self.limit:
                return REJECT_LOCAL_LIMIT
            self._held.add(key)
            if stores:
                self._storing.add(key)
        return None

    def give_back(self, key: int) -> None:
        with self._lock:
            self._held.discard(key)
            last_store = key in self._storing and len(self._storing) == 1
            self._storing.discard(key)
        if last_store and self._on_storing_ended is not None:
            self._on_storing_ended()

    def on_requested(self, event: Event) -> None:
        """EVT_REQUESTED: reject now (the reactor then skips negotiation), or take a slot for this association."""
        assoc = event.assoc
        request = assoc.requestor.primitive  # the A-ASSOCIATE-RQ; requestor.ae_title is only filled in later
        calling = str(getattr(request, "calling_ae_title", "") or "").strip()
        contexts = getattr(request, "presentation_context_definition_list", None) or []
        reason = self.take(id(assoc), calling, stores=proposes_storage(cx.abstract_syntax for cx in contexts))
        if reason == REJECT_CALLING_AE:
            self._reject(assoc, reason, f"calling AE {calling!r} is not allowed")
        elif reason is not None:
            self._reject(assoc, reason, f"all {self.limit} association slots are taken")

    def on_closed(self, event: Event) -> None:
        """EVT_CONN_CLOSE: give the slot back, whatever ended the association (release, abort, timeout)."""
        self.give_back(id(event.assoc))

    @staticmethod
    def _reject(assoc: Association, reason: tuple[int, int, int], why: str) -> None:
        log.warning("rejected an association from %s: %s", assoc.requestor.address, why)
        assoc.acse.send_reject(*reason)
        assoc.kill()
