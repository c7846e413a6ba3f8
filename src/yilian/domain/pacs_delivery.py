"""A signed report on its way to the county's PACS (docs/gateway.md): its states and who may move it.

The cloud makes the report's two instances (PDF and SR) once per signed version and lists them for the sending
hospital's gateway; the gateway fetches them, queues them durably, C-STOREs them to the PACS and says how it went.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from yilian.domain.access import Principal, can_manage_hospital
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import Role

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


# Who sees report deliveries (the web's "Report deliveries"): the sending hospital's doctors and coordinators, and
# the alliance's coordinators at the reading hospital, each the deliveries of the cases they may see (domain.access,
# the referral's own rule); admins see every one. Readers and patients have their own copy of the report; a gateway
# lists its deliveries through /api/pacs-deliveries.
VIEWERS = frozenset({Role.COUNTY_DOCTOR, Role.COORDINATOR, Role.ADMIN})
# Who may send a failed delivery again (their own hospital's, check_retry): the people who manage its gateway.
RETRIERS = frozenset({Role.COORDINATOR, Role.ADMIN})


def check_role(p: Principal, roles: frozenset[Role]) -> None:
    if p.role not in roles:
        raise YilianError(
            ErrorCode.FORBIDDEN,
            "report deliveries are for the sending hospital's people, its coordinators and the alliance's",
            {"role": str(p.role), "required": sorted(roles)},
        )


def check_retry(p: Principal, hospital_id: str, state: DeliveryState) -> None:
    """A failed delivery goes back to the gateway's queue at the word of an admin or the hospital's own coordinator
    (403 for anyone else, who may still see it), and only a failed one (409): an open one is on its way already, a
    delivered one is in the PACS."""
    if not can_manage_hospital(p, hospital_id):
        raise YilianError(
            ErrorCode.FORBIDDEN,
            "only an admin or the hospital's coordinator sends its reports again",
            {"role": str(p.role), "hospital_id": hospital_id},
        )
    if state is not DeliveryState.FAILED:
        raise YilianError(
            ErrorCode.INVALID_TRANSITION,
            f"only a failed delivery is sent again; this one is {state}",
            {"state": str(state)},
        )
