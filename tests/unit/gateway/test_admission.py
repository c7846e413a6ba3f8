"""AssociationSlots' count of open storage associations, which ends the uploader's linger (gateway.uploader)."""

from __future__ import annotations

from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelFind,
    Verification,
)

from yilian.gateway.admission import REJECT_CALLING_AE, REJECT_LOCAL_LIMIT, AssociationSlots, proposes_storage


def test_only_an_association_proposing_a_storage_sop_class_could_store() -> None:
    assert proposes_storage([Verification, CTImageStorage])
    assert not proposes_storage([Verification])
    assert not proposes_storage([StudyRootQueryRetrieveInformationModelFind, Verification])
    assert not proposes_storage([])


def test_the_callback_comes_once_when_the_last_storage_association_ends_and_not_for_others() -> None:
    ended: list[int] = []
    slots = AssociationSlots(3, ["CT1"], lambda: ended.append(slots.storing))
    assert slots.take(1, "CT1") is None
    assert slots.take(2, "CT1") is None
    assert slots.take(3, "CT1", stores=False) is None  # C-ECHO or Q/R: nothing it sends joins a batch
    assert slots.take(4, "CT1") == REJECT_LOCAL_LIMIT
    assert slots.take(5, "MR9") == REJECT_CALLING_AE
    assert (slots.held, slots.storing) == (3, 2)

    slots.give_back(1)
    slots.give_back(4)  # never held (pynetdicom closes connections it rejected): no change, no callback
    assert ended == []
    slots.give_back(2)
    assert ended == [0], "called once the last storage association ended, with the count already zero"
    slots.give_back(3)
    slots.give_back(2)  # a second give-back of the same key changes nothing
    assert ended == [0] and (slots.held, slots.storing) == (0, 0)

    assert slots.take(6, "CT1") is None
    slots.give_back(6)
    assert ended == [0, 0], "every time the count falls to zero"
