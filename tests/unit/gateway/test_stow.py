"""STOW-RS client pieces: the request body round-trips through a multipart reader; Annex I answers are read right."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from pydicom.dataset import Dataset

from tests.support import dicom_gen
from yilian.dicom.multipart import iter_parts, multipart_boundary
from yilian.gateway.stow import Verdict, interpret_stow_response, stow_body
from yilian.gateway.uploader import backoff_delay

URL = "https://cloud.example"
CT = "1.2.840.10008.5.1.4.1.1.2"


def _response(stored: Sequence[str] = (), failed: dict[str, int] | None = None) -> bytes:
    """A Store Instances Response (PS3.18 Table I.2-1) as the real DICOM JSON pydicom writes."""
    ds = Dataset()
    ds.RetrieveURL = f"{URL}/dicomweb/studies/1.2.3"
    if stored:
        ds.ReferencedSOPSequence = [_item(uid) for uid in stored]
    if failed:
        ds.FailedSOPSequence = [_item(uid, reason) for uid, reason in failed.items()]
    return ds.to_json().encode()


def _item(uid: str, failure: int | None = None) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = CT
    item.ReferencedSOPInstanceUID = uid
    if failure is not None:
        item.FailureReason = failure
    return item


async def test_the_body_streams_each_file_as_one_part_and_declares_its_exact_length(tmp_path: Path) -> None:
    files = [dicom_gen.write(ds, tmp_path / f"{i}.dcm") for i, ds in enumerate(dicom_gen.ct_series(3, 32, 32))]
    body = stow_body(files)
    chunks = [chunk async for chunk in body.stream()]

    assert body.content_type.startswith('multipart/related; type="application/dicom"; boundary=')
    assert sum(map(len, chunks)) == body.length

    async def replay() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    parts = [part async for part in iter_parts(replay(), multipart_boundary(body.content_type))]
    assert [part.body for part in parts] == [path.read_bytes() for path in files]
    assert {part.content_type for part in parts} == {"application/dicom"}


def test_200_means_every_instance_was_stored() -> None:
    result = interpret_stow_response(200, _response(["1.1", "1.2"]), ["1.1", "1.2"], URL)
    assert (result.verdict, result.sent, dict(result.failed), result.unanswered) == (
        Verdict.ANSWERED,
        {"1.1", "1.2"},
        {},
        frozenset(),
    )


def test_202_sorts_stored_refused_and_unmentioned_instances() -> None:
    body = _response(["1.1"], {"1.2": 0xA900})
    result = interpret_stow_response(202, body, ["1.1", "1.2", "1.3"], URL)
    assert result.verdict is Verdict.ANSWERED
    assert result.sent == {"1.1"}
    assert result.failed == {
        "1.2": "the cloud refused it: the data set does not match its SOP class or conflicts with what the cloud"
        " holds (A900)"
    }
    assert result.unanswered == {"1.3"}  # sent again: an identical re-send is a success at the cloud


def test_409_with_failures_fails_those_instances_for_good() -> None:
    result = interpret_stow_response(409, _response(failed={"1.1": 0x0122, "1.2": 0xC122}), ["1.1", "1.2"], URL)
    assert result.verdict is Verdict.ANSWERED and not result.sent
    assert result.failed["1.1"].endswith("does not support this SOP class (0122)")
    assert result.failed["1.2"].endswith("does not support this transfer syntax (C122)")


def test_yilian_codes_and_error_comments_are_read_as_plain_words() -> None:
    body = _response(failed={"1.1": 0xA9F1})
    parsed = json.loads(body)
    parsed["00081198"]["Value"][0]["00000902"] = {"vr": "LO", "Value": ["stored earlier with other bytes"]}
    result = interpret_stow_response(409, json.dumps(parsed).encode(), ["1.1"], URL)
    assert result.failed["1.1"] == (
        "the cloud refused it: the cloud already holds this SOP Instance UID with different content (A9F1):"
        " stored earlier with other bytes"
    )


def test_a_refusal_naming_no_instance_is_refused_as_a_whole_with_the_api_message() -> None:
    body = b'{"error": "bad_request", "message": "the body is not multipart/related", "details": null}'
    result = interpret_stow_response(400, body, ["1.1", "1.2"], URL)
    assert result.verdict is Verdict.REFUSED
    assert result.error == "the cloud refused the request (HTTP 400: the body is not multipart/related)"


def test_401_and_403_blame_the_api_key_and_keep_everything() -> None:
    for status in (401, 403):
        result = interpret_stow_response(status, b"", ["1.1"], URL)
        assert result.verdict is Verdict.UNAUTHORISED and not result.sent and not result.failed
        assert result.error is not None and result.error.startswith("the cloud refused the gateway's API key")


def test_server_errors_and_a_wrong_url_are_transient() -> None:
    assert interpret_stow_response(503, b"busy", ["1.1"], URL).verdict is Verdict.TRANSIENT
    assert interpret_stow_response(429, b"", ["1.1"], URL).verdict is Verdict.TRANSIENT
    wrong = interpret_stow_response(404, b"", ["1.1"], URL)
    assert wrong.verdict is Verdict.TRANSIENT and "YILIAN_GATEWAY_CLOUD_URL" in (wrong.error or "")


def test_lenient_on_what_we_receive() -> None:
    # A 200 that still lists a failure honours it; an array-wrapped body and string codes are read too.
    assert interpret_stow_response(200, _response(failed={"1.2": 0xC000}), ["1.1", "1.2"], URL).sent == {"1.1"}
    wrapped = b'[{"00081198": {"vr": "SQ", "Value": [{"00081155": {"vr": "UI", "Value": ["1.1"]},'
    wrapped += b' "00081197": {"vr": "US", "Value": ["43264"]}}]}}]'
    assert "(A900)" in interpret_stow_response(409, wrapped, ["1.1"], URL).failed["1.1"]
    assert interpret_stow_response(202, b"not json", ["1.1"], URL).verdict is Verdict.TRANSIENT


def test_backoff_grows_exponentially_within_its_bounds_with_jitter() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, 1.0, 60.0, rng) for n in range(1, 12)]
    assert all(1.0 <= d <= 60.0 for d in delays)
    assert delays[0] == 1.0 and delays[-1] >= 30.0
    assert 2.0 <= backoff_delay(3, 1.0, 60.0, rng) <= 4.0
