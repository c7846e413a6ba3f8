"""The live protocol: messages parse by their `type`, bounds hold, and only the API's signature admits a join."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from yilian.live import protocol as p
from yilian.live.assertion import InvalidAssertion, sign_assertion, verify_assertion

SECRET = "a-test-secret-that-is-long-enough-0123456789"
CLAIMS = p.LiveAssertion(room_id="consult-1", user_id="u1", display_name="Dr Li", room_role=p.RoomRole.HOST)


def test_client_messages_parse_by_type() -> None:
    assert isinstance(p.client_message.validate_json('{"type": "join"}'), p.Join)
    offer = p.client_message.validate_python({"type": "offer", "sdp": "v=0", "sources": {"0": "screen"}})
    assert isinstance(offer, p.Offer) and offer.sources == {"0": p.MediaSource.SCREEN}
    with pytest.raises(ValidationError):
        p.client_message.validate_python({"type": "shout"})
    with pytest.raises(ValidationError):  # unknown fields are refused: strict on what we accept as a contract
        p.client_message.validate_python({"type": "leave", "extra": 1})


def test_viewer_state_bounds() -> None:
    state = p.ViewerState(study_instance_uid="1.2.3", slice_index=4, window_center=40, window_width=400)
    update = p.data_message.validate_json(p.StateUpdate(state=state).model_dump_json())
    assert isinstance(update, p.StateUpdate) and update.state.slice_index == 4
    with pytest.raises(ValidationError):
        p.ViewerState(study_instance_uid="1.2.3", slice_index=-1)
    with pytest.raises(ValidationError):
        p.ViewerState(study_instance_uid="1.2.3", zoom=0)


def test_a_signed_assertion_round_trips() -> None:
    assert verify_assertion(sign_assertion(CLAIMS, SECRET), SECRET) == CLAIMS


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "not-a-jwt",
        sign_assertion(CLAIMS, "another-secret-of-the-same-sort-0123456789"),
        sign_assertion(CLAIMS, SECRET, now=time.time() - 3600),
    ],
    ids=["missing", "empty", "garbage", "forged", "expired"],
)
def test_anything_but_a_fresh_api_signature_is_refused(token: str | None) -> None:
    with pytest.raises(InvalidAssertion):
        verify_assertion(token, SECRET)


def test_recording_directory_cannot_climb_out() -> None:
    for bad in ["a b", "../up", "/abs", "a/../../b", "a//b", "./a"]:
        with pytest.raises(ValidationError):
            p.StartRecording(directory=bad)
    assert p.StartRecording(directory="consults/c1").directory == "consults/c1"
