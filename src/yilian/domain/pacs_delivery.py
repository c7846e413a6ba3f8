"""A signed report on its way to the county's PACS (docs/gateway.md): its states and who may move it.

The cloud makes the report's two instances (PDF and SR) once per signed version and lists them for the sending
hospital's gateway; the gateway fetches them, queues them durably, C-STOREs them to the PACS and says how it went.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from yilian.domain.errors import ErrorCode, YilianError

# A hospital's gateway asks for reports only when it has a PACS to store them in; the cloud makes them for a hospital
# whose gateway asked within this window, so a gateway without a PACS never costs a rendering.
GATEWAY_ASK_WINDOW = timedelta(days=30)


class DeliveryKind(StrEnum):
    PDF = "pdf"  # Encapsulated PDF Storage
    SR = "sr"  # Basic Text SR Storage


class DeliveryState(StrEnum):
    PENDING = "pending"  # made in the cloud, not yet fetched by the gateway
    QUEUED = "queued"  # in the gateway's durable queue
    DELIVERED = "delivered"  # the PACS answered Success (or a warning) to the C-STORE
    FAILED = "failed"  # the PACS refused it for good (its DICOM status says why)


OPEN_STATES = frozenset({DeliveryState.PENDING, DeliveryState.QUEUED})
# What the gateway may report from each state. A report it repeats changes nothing (its retries are idempotent); a
# refusal can be followed by a success once the PACS is fixed and the instance sent again, never the other way.
_NEXT: dict[DeliveryState, frozenset[DeliveryState]] = {
    DeliveryState.PENDING: frozenset({DeliveryState.QUEUED, DeliveryState.DELIVERED, DeliveryState.FAILED}),
    DeliveryState.QUEUED: frozenset({DeliveryState.QUEUED, DeliveryState.DELIVERED, DeliveryState.FAILED}),
    DeliveryState.FAILED: frozenset({DeliveryState.FAILED, DeliveryState.QUEUED, DeliveryState.DELIVERED}),
    DeliveryState.DELIVERED: frozenset({DeliveryState.DELIVERED}),
}


def check_outcome(current: DeliveryState, reported: DeliveryState) -> bool:
    """Whether the gateway's report changes the delivery (False: a repeat, nothing to record); 409 when it cannot
    follow the current state."""
    if reported not in _NEXT[current]:
        raise YilianError(
            ErrorCode.INVALID_TRANSITION,
            f"a delivery that is {current} cannot become {reported}",
            {"state": str(current), "reported": str(reported)},
        )
    return reported is not current
