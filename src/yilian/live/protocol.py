"""The live consult protocol: every message on the signalling WebSocket, on the room data channel, and on the
live process's control API. docs/live.md tells the flow; this module is the contract the API and web build on.

Three hops, one vocabulary:
- browser <-> API WebSocket: `ClientMessage` up, `ServerMessage` down. The API authenticates the user, checks
  the invitation, and puts its signed `assertion` into the browser's `Join` before relaying it.
- API <-> live process WebSocket (`/ws` on the live process): the same messages, relayed verbatim.
- the room data channel (label `DATA_CHANNEL_LABEL`, negotiated id `DATA_CHANNEL_ID`): `DataMessage` both ways,
  for synchronised viewing, stamped with a room-wide sequence number by the live process.
- API -> live process HTTP control (`Authorization: Bearer <shared secret>`): `OpenRoom`, `StartRecording`,
  answered by `RoomInfo`, `RecordingInfo`, `LiveHealth`.

Pure Pydantic, no aiortc: the API imports it without loading the media stack.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

PROTOCOL_VERSION = 1
# Every WebSocket frame, either way; an SDP with a few tracks is 5-15 KiB.
MAX_SIGNAL_BYTES = 64 * 1024
# Every data-channel message; a viewer state with a few dozen annotations fits in 4 KiB.
MAX_DATA_BYTES = 16 * 1024
DATA_CHANNEL_LABEL = "yilian"
DATA_CHANNEL_ID = 0  # negotiated out of band (no DCEP round trip): both sides create it with this id
ASSERTION_AUDIENCE = "yilian-live"
ASSERTION_TTL_SECONDS = 60  # a join is relayed at once; a replayed assertion is stale within a minute
WEBSOCKET_PATH = "/ws"


class CloseCode(IntEnum):
    """WebSocket close codes, the same on both hops (the API passes the live process's on to the browser)."""

    NORMAL = 1000  # the room ended (after `room_closed`) or the peer left
    REFUSED = 4400  # after a fatal `error`: join refused, or a frame too large
    REMOVED = 4403  # after `removed`
    LIVE_GONE = 4503  # the API lost the live process: show "reconnecting" and join again through the API


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- identities and errors ---------------------------------------------------------------------------------


class RoomRole(StrEnum):
    """What the API asserts about a person in this room: the host runs it (mute, remove, hand over, end)."""

    HOST = "host"
    PARTICIPANT = "participant"


class MediaSource(StrEnum):
    CAMERA = "camera"
    MICROPHONE = "microphone"
    SCREEN = "screen"


class MediaKind(StrEnum):
    AUDIO = "audio"
    VIDEO = "video"


class LiveErrorCode(StrEnum):
    """Machine-readable; the web app words them through its i18n layer. An error goes to the one peer that caused
    it; nobody else in the room notices."""

    MALFORMED_MESSAGE = "malformed_message"  # not JSON, unknown type, a field out of range
    MALFORMED_SDP = "malformed_sdp"  # the offer or answer could not be applied
    UNKNOWN_ROOM = "unknown_room"  # no such room open on this process (after a restart: rejoin via the API)
    ROOM_FULL = "room_full"
    NOT_ALLOWED = "not_allowed"  # no valid assertion, or the action needs a role the sender lacks
    NOT_JOINED = "not_joined"  # anything but `join` before `joined`
    MESSAGE_TOO_LARGE = "message_too_large"  # over MAX_SIGNAL_BYTES or MAX_DATA_BYTES
    UNKNOWN_PARTICIPANT = "unknown_participant"  # a host control or grant naming someone not in the room
    GLARE = "glare"  # the client offered while the server's offer was outstanding: answer it, then offer again
    INTERNAL = "internal_error"


class ControlProblem(BaseModel):
    """The live process's control API (the API its only caller) refuses with this body: a stable code and words for
    the API's logs. The same shape as the API's own error body, without its details."""

    error: str
    message: str


class LiveAssertion(_Message):
    """The claims the API signs (HS256 with the shared secret, audience `ASSERTION_AUDIENCE`) after it has
    authenticated the user and checked the invitation. The live process trusts nothing else about a person."""

    room_id: str = Field(min_length=1, max_length=128)
    user_id: str = Field(min_length=1, max_length=128)
    display_name: str = Field(max_length=200)
    hospital: str = Field(default="", max_length=200)
    user_role: str = Field(default="", max_length=64)  # the person's Yilian role, shown in the participant list
    room_role: RoomRole = RoomRole.PARTICIPANT
    presenter: bool = False  # the first presenter; later hand-overs are the host's


class Participant(_Message):
    participant_id: str  # one per connection: the same user rejoining gets a new one
    user_id: str
    display_name: str
    hospital: str
    user_role: str
    room_role: RoomRole
    publishing: list[MediaSource]
    muted: list[MediaKind]  # muted by themselves or by the host: the server forwards none of that kind
    joined_at: float  # Unix seconds, the live process's clock


class TrackInfo(_Message):
    """Which participant a transceiver of the server's offer carries; the browser matches it by `mid` in ontrack."""

    mid: str
    participant_id: str
    kind: MediaKind
    source: MediaSource


class IceServer(_Message):
    """RTCIceServer as the browser's RTCPeerConnection takes it."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


# --- client -> server (browser -> API -> live) -----------------------------------------------------------------


class Join(_Message):
    """First message. The browser sends it without `assertion`; the API sets `assertion` (and drops any the
    browser put there) before relaying it to the live process."""

    type: Literal["join"] = "join"
    v: int = PROTOCOL_VERSION
    assertion: str | None = None
    receive_video: bool = True  # False: audio only, for a weak county link (no video transceivers are offered)


class Offer(_Message):
    """A client's offer (the first one carries its tracks and the data channel), or the server's
    renegotiation offer. `sources` names what each of the client's sending mids carries (default by kind:
    camera for video, microphone for audio)."""

    type: Literal["offer"] = "offer"
    sdp: str = Field(max_length=MAX_SIGNAL_BYTES)
    sources: dict[str, MediaSource] = Field(default_factory=dict)


class Answer(_Message):
    type: Literal["answer"] = "answer"
    sdp: str = Field(max_length=MAX_SIGNAL_BYTES)


class Candidate(_Message):
    """A trickled ICE candidate from the browser (`candidate` null: end of candidates). The server never
    trickles: its candidates are in its SDP."""

    type: Literal["candidate"] = "candidate"
    candidate: str | None = Field(default=None, max_length=1024)
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None


class SetMuted(_Message):
    """Anyone may mute or unmute themselves; the host may mute (never unmute) someone else."""

    type: Literal["set_muted"] = "set_muted"
    participant_id: str
    kind: MediaKind
    muted: bool


class Remove(_Message):
    """Host only: the removed peer gets `removed` and its socket closes."""

    type: Literal["remove"] = "remove"
    participant_id: str


class HandOverPresenter(_Message):
    """Host or the current presenter: who drives the shared view from now on."""

    type: Literal["hand_over_presenter"] = "hand_over_presenter"
    participant_id: str


class RequestControl(_Message):
    """Anyone: asks the presenter for control of the shared view."""

    type: Literal["request_control"] = "request_control"


class GrantControl(_Message):
    """Presenter (or host): gives control to a participant; `participant_id` null takes it back."""

    type: Literal["grant_control"] = "grant_control"
    participant_id: str | None


class ChatSend(_Message):
    type: Literal["chat"] = "chat"
    text: str = Field(min_length=1, max_length=2000)


class Leave(_Message):
    type: Literal["leave"] = "leave"


ClientMessage = Annotated[
    Join
    | Offer
    | Answer
    | Candidate
    | SetMuted
    | Remove
    | HandOverPresenter
    | RequestControl
    | GrantControl
    | ChatSend
    | Leave,
    Field(discriminator="type"),
]


# --- server -> client (live -> API -> browser) ----------------------------------------------------------------


class Joined(_Message):
    """The answer to a valid `join`. Then the client sends its offer."""

    type: Literal["joined"] = "joined"
    v: int = PROTOCOL_VERSION
    room_id: str
    participant_id: str
    ice_servers: list[IceServer]
    max_video_bitrate: int  # bit/s the server asks publishers for (REMB); the browser may also cap its encoder


class ServerOffer(_Message):
    """Server-initiated renegotiation: a publisher came or went. The client answers with `answer`."""

    type: Literal["server_offer"] = "server_offer"
    sdp: str
    tracks: list[TrackInfo]


class ServerAnswer(_Message):
    type: Literal["server_answer"] = "server_answer"
    sdp: str
    tracks: list[TrackInfo]


class Presence(_Message):
    """The whole room after every change: who is here, who presents, who has control, whether it records."""

    type: Literal["presence"] = "presence"
    participants: list[Participant]
    presenter_id: str | None
    controller_id: str | None  # who may send viewer state besides the presenter
    recording: bool


class ControlRequested(_Message):
    """To the presenter (and the host): someone asks for control."""

    type: Literal["control_requested"] = "control_requested"
    participant_id: str


class Muted(_Message):
    """To the muted participant, so the UI shows the host's mute (the server already stopped forwarding)."""

    type: Literal["muted"] = "muted"
    kind: MediaKind
    muted: bool
    by: str  # participant_id of who did it


class Removed(_Message):
    type: Literal["removed"] = "removed"
    by: str


class Chat(_Message):
    type: Literal["chat_message"] = "chat_message"
    seq: int
    participant_id: str
    display_name: str
    text: str
    at: float


class RoomClosed(_Message):
    """The API ended the room (`DELETE /rooms/{id}`); the socket closes next."""

    type: Literal["room_closed"] = "room_closed"


class ErrorMessage(_Message):
    """To the one peer that caused it. `fatal`: the socket closes after it (join refused, removed)."""

    type: Literal["error"] = "error"
    code: LiveErrorCode
    message: str  # for logs and developers; people read the code through i18n
    fatal: bool = False
    ref: str | None = None  # the `type` of the message that caused it


ServerMessage = Annotated[
    Joined
    | ServerOffer
    | ServerAnswer
    | Presence
    | ControlRequested
    | Muted
    | Removed
    | Chat
    | RoomClosed
    | ErrorMessage,
    Field(discriminator="type"),
]


# --- data channel: synchronised viewing --------------------------------------------------------------------------


class AnnotationKind(StrEnum):
    LENGTH = "length"
    ARROW = "arrow"
    ANGLE = "angle"
    ELLIPSE = "ellipse"
    RECTANGLE = "rectangle"
    TEXT = "text"


class Annotation(_Message):
    """A measurement or arrow in image coordinates (pixels of the instance), so every viewer draws it alike."""

    annotation_id: str = Field(max_length=64)
    kind: AnnotationKind
    sop_instance_uid: str = Field(max_length=64)
    points: list[tuple[float, float]] = Field(max_length=64)
    label: str = Field(default="", max_length=200)


class ViewerState(_Message):
    """What the presenter sees, in DICOM's words. Every client renders the DICOM itself from DICOMweb."""

    study_instance_uid: str = Field(max_length=64)
    series_instance_uid: str | None = Field(default=None, max_length=64)
    sop_instance_uid: str | None = Field(default=None, max_length=64)
    slice_index: int = Field(default=0, ge=0)
    window_center: float | None = None
    window_width: float | None = Field(default=None, gt=0)
    zoom: float = Field(default=1.0, gt=0, le=64)
    pan_x: float = 0.0  # in image pixels from the centre
    pan_y: float = 0.0
    annotations: list[Annotation] = Field(default_factory=list, max_length=200)


class StateUpdate(_Message):
    """Client -> server: the presenter's (or controller's) whole current view. From anyone else it is refused
    (an `error` with `not_allowed` on the signalling socket) and goes nowhere."""

    type: Literal["state"] = "state"
    state: ViewerState


class StateBroadcast(_Message):
    """Server -> every participant (the sender too, so its `seq` is known). `seq` rises by one per accepted update
    in the room: a client that sees a gap or a step back knows order broke. The newest one is also sent to a late
    joiner as soon as its data channel opens."""

    type: Literal["state_broadcast"] = "state_broadcast"
    seq: int = Field(ge=1)
    participant_id: str
    sent_at: float  # the live process's clock when it relayed, Unix seconds
    state: ViewerState


class Pointer(_Message):
    """Ephemeral: the presenter's pointer in image coordinates; relayed, not stored, not sequenced."""

    type: Literal["pointer"] = "pointer"
    sop_instance_uid: str = Field(max_length=64)
    x: float
    y: float


class PointerBroadcast(_Message):
    type: Literal["pointer_broadcast"] = "pointer_broadcast"
    participant_id: str
    sop_instance_uid: str
    x: float
    y: float


DataMessage = Annotated[StateUpdate | StateBroadcast | Pointer | PointerBroadcast, Field(discriminator="type")]


# --- API -> live process HTTP control ------------------------------------------------------------------------------


class OpenRoom(_Message):
    """`PUT /rooms/{room_id}`: idempotent; the API calls it before relaying the first join (and again after the
    process restarted). With `lecture_id` the room is a lecture room: its presenter's media is packaged as HLS under
    the process's lecture root (`YILIAN_LECTURE_MEDIA_DIR`) `/<lecture_id>/`, continuing what is there."""

    capacity: int | None = Field(default=None, ge=2, le=50)  # None: the process's YILIAN_LIVE_ROOM_CAPACITY
    max_video_bitrate: int | None = Field(default=None, ge=100_000, le=2_500_000)  # None: YILIAN_LIVE_MAX_VIDEO_BITRATE
    lecture_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    # A lecture's HLS segment length. Viewers fetch one segment and one playlist per segment: 4 s halves the
    # requests of 2 s (the default) and puts players ~12 s behind the speaker instead of ~6 s.
    segment_seconds: float | None = Field(default=None, ge=1.0, le=6.0)


class VideoPackaging(StrEnum):
    """How a lecture's H.264 rendition is made from what the presenter's browser sends."""

    REMUX = "remux"  # the browser sends H.264: copied, no codec
    TRANSCODE = "transcode"  # the browser sends VP8: decoded and encoded once (libx264)


class LectureChapter(_Message):
    title: str
    start_s: float  # seconds on the replay's timeline


class AddChapter(_Message):
    """`POST /rooms/{room_id}/chapters`: a chapter mark of a lecture room, at `start_s` or, without it, now."""

    title: str = Field(min_length=1, max_length=200)
    start_s: float | None = Field(default=None, ge=0)


class LectureMediaInfo(_Message):
    """A lecture room's packaging: what `live.m3u8` lists so far, and its chapters."""

    lecture_id: str
    segments: int
    duration_s: float
    video: VideoPackaging | None  # None until a video source is packaged
    ended: bool  # replay.m3u8 is written
    chapters: list[LectureChapter]


class RoomInfo(_Message):
    room_id: str
    capacity: int
    max_video_bitrate: int
    participants: list[Participant]
    presenter_id: str | None
    recording: bool
    state_seq: int  # the newest viewer-state sequence number (0: none yet)
    lecture: LectureMediaInfo | None = None  # a lecture room's HLS packaging


class StartRecording(_Message):
    """`POST /rooms/{room_id}/recording` (again to change `consented`): arm the room's recording. `directory` is
    relative to the live process's recordings root (`YILIAN_LIVE_RECORDINGS_DIR`); one WebM per publisher is
    written there (packet copy, no transcode). It records only while everyone in the room is in `consented` (user
    ids): a newcomer who has not consented pauses it at once (their files and everyone's close), and it resumes in
    new files when they consent or leave. An empty room records nothing either."""

    directory: str = Field(min_length=1, max_length=300, pattern=r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
    consented: list[str] = Field(default_factory=list, max_length=200)

    @field_validator("directory")
    @classmethod
    def _stays_inside_the_root(cls, value: str) -> str:
        if any(part in {".", ".."} for part in value.split("/")):
            raise ValueError("directory must stay inside the recordings root")
        return value


class RecordingFile(_Message):
    participant_id: str
    user_id: str
    path: str  # relative to the recordings root
    bytes: int


class RecordingInfo(_Message):
    """Answer to start and to `DELETE /rooms/{room_id}/recording` (stop: files closed and complete)."""

    room_id: str
    recording: bool  # armed (until DELETE)
    paused: bool = False  # armed, but someone present has not consented (or nobody is there): nothing is written
    waiting_for: list[str] = Field(default_factory=list)  # who, present, has not consented
    files: list[RecordingFile]


class LiveHealth(_Message):
    """`GET /health` (no secret needed): what the API needs to pin a room to the least busy process."""

    status: Literal["ok"] = "ok"
    version: int = PROTOCOL_VERSION
    rooms: int
    participants: int
    started_at: float
    packets_received: int = 0  # RTP from the publishers now connected
    packets_forwarded: int = 0  # RTP written to the subscribers now connected


client_message = TypeAdapter[ClientMessage](ClientMessage)
server_message = TypeAdapter[ServerMessage](ServerMessage)
data_message = TypeAdapter[DataMessage](DataMessage)
