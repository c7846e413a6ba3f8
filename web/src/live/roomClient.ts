// One person's connection to a consult room: the signalling WebSocket through the API (/api/consults/{id}/live),
// one RTCPeerConnection to the live process (the SFU), and the "yilian" data channel for synchronised viewing.
// The wire contract is src/yilian/live/protocol.py (docs/live.md tells the flow); this module speaks it and turns
// it into a small state the room page renders. No words for people here: codes only, the page words them.

/** The socket closed for good (1000 ended, 4403 removed, 4400 refused) or is being retried (anything else). */
export const CLOSE_NORMAL = 1000;
export const CLOSE_REFUSED = 4400;
export const CLOSE_REMOVED = 4403;

export type Source = "camera" | "microphone" | "screen";
export type Kind = "audio" | "video";

export interface Participant {
  participant_id: string;
  user_id: string;
  display_name: string;
  hospital: string;
  user_role: string;
  room_role: "host" | "participant";
  publishing: Source[];
  muted: Kind[];
  joined_at: number;
}

export interface Presence {
  participants: Participant[];
  presenter_id: string | null;
  controller_id: string | null;
  recording: boolean;
}

interface TrackInfo {
  mid: string;
  participant_id: string;
  kind: Kind;
  source: Source;
}

export type ConnectionStatus = "connecting" | "connected" | "reconnecting" | "ended" | "removed" | "closed" | "refused";

export interface RoomSnapshot {
  status: ConnectionStatus;
  me: string | null; // my participant id in this connection
  presence: Presence;
  /** Each remote participant's media, one stream per participant and source (camera+mic together, screen apart). */
  streams: Record<string, { participant_id: string; source: Source; stream: MediaStream }>;
  requests: string[]; // participant ids asking me (presenter or host) for control
  error: string | null; // the last protocol error code
  reconnects: number;
}

export interface DataMessage {
  type: "state" | "state_broadcast" | "pointer" | "pointer_broadcast";
  [key: string]: unknown;
}

export interface RoomOptions {
  /** The room's thing: a consult's id, or a lecture's with `door: "lectures"` (the speaker's side of a lecture). */
  consultId: string;
  door?: "consults" | "lectures";
  token: string;
  receiveVideo: boolean;
  /** The camera and/or microphone to publish (null: watch and listen only). */
  local: MediaStream | null;
  onChange: (snapshot: RoomSnapshot) => void;
  onData: (message: DataMessage) => void;
  /** The data channel opened (after a join or a rejoin): the presenter sends its current view now. */
  onDataOpen?: () => void;
}

const EMPTY_PRESENCE: Presence = { participants: [], presenter_id: null, controller_id: null, recording: false };

/** ws(s)://host/api/consults/{id}/live: the API's signalling door (src/yilian/api/live_door.py), on this origin;
 * a lecture's speakers come in by /api/lectures/{id}/live. */
export function roomSocketUrl(
  consultId: string,
  loc: Pick<Location, "protocol" | "host"> = window.location,
  door: "consults" | "lectures" = "consults",
): string {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}/api/${door}/${encodeURIComponent(consultId)}/live`;
}

/** Backoff for rejoining after an unexpected close: 1 s, 2 s, 4 s … capped at 8 s. */
export function rejoinDelay(attempt: number): number {
  return Math.min(8000, 1000 * 2 ** Math.max(0, attempt));
}

export class RoomClient {
  private ws: WebSocket | null = null;
  private pc: RTCPeerConnection | null = null;
  private channel: RTCDataChannel | null = null;
  private tracks = new Map<string, TrackInfo>(); // by mid, from the server's SDP messages
  private screen: MediaStream | null = null;
  private sources = new Map<string, Source>(); // my track id -> source
  private stopped = false;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private snapshot: RoomSnapshot = {
    status: "connecting",
    me: null,
    presence: EMPTY_PRESENCE,
    streams: {},
    requests: [],
    error: null,
    reconnects: 0,
  };

  constructor(private readonly options: RoomOptions) {
    for (const track of options.local?.getTracks() ?? []) this.sources.set(track.id, track.kind === "video" ? "camera" : "microphone");
  }

  get state(): RoomSnapshot {
    return this.snapshot;
  }

  private update(patch: Partial<RoomSnapshot>) {
    this.snapshot = { ...this.snapshot, ...patch };
    this.options.onChange(this.snapshot);
  }

  connect(): void {
    this.stopped = false;
    const ws = new WebSocket(roomSocketUrl(this.options.consultId, window.location, this.options.door));
    this.ws = ws;
    // A browser cannot set a WebSocket's headers, and a URL lands in logs: the token travels in the first frame.
    // The API checks it and the invitation, drops it, and puts its own signed assertion into the join it relays.
    ws.onopen = () => this.send({ type: "join", receive_video: this.options.receiveVideo, token: this.options.token });
    ws.onmessage = (event) => void this.onSignal(JSON.parse(String(event.data)) as { type: string; [k: string]: unknown });
    ws.onclose = (event) => this.onClose(ws, event.code);
  }

  private send(message: Record<string, unknown>) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  private onClose(ws: WebSocket, code: number) {
    if (ws !== this.ws) return; // an older socket, already replaced
    this.teardownPeer();
    if (this.stopped) return this.update({ status: "ended" });
    if (code === CLOSE_REMOVED) return this.update({ status: "removed" });
    if (code === CLOSE_REFUSED) return this.update({ status: "refused" });
    if (code === CLOSE_NORMAL && this.snapshot.status === "closed") return;
    // The live process went away (4503), or the network did: rejoin through the API, which opens the room afresh.
    this.update({ status: "reconnecting", streams: {}, presence: EMPTY_PRESENCE, requests: [] });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.stopped) return;
      this.update({ reconnects: this.snapshot.reconnects + 1 });
      this.connect();
    }, rejoinDelay(this.attempt++));
  }

  private teardownPeer() {
    this.channel?.close();
    this.pc?.close();
    this.channel = null;
    this.pc = null;
    this.tracks.clear();
  }

  private async onSignal(message: { type: string; [k: string]: unknown }) {
    switch (message.type) {
      case "joined":
        this.attempt = 0;
        this.update({ status: "connected", me: message.participant_id as string, error: null });
        await this.startPeer(message.ice_servers as RTCIceServer[]);
        break;
      case "server_answer":
        this.noteTracks(message.tracks as TrackInfo[]);
        await this.pc?.setRemoteDescription({ type: "answer", sdp: message.sdp as string });
        break;
      case "server_offer":
        await this.answer(message.sdp as string, message.tracks as TrackInfo[]);
        break;
      case "presence": {
        const presence = message as unknown as Presence;
        const here = new Set(presence.participants.map((p) => p.participant_id));
        const streams = Object.fromEntries(Object.entries(this.snapshot.streams).filter(([, s]) => here.has(s.participant_id)));
        this.update({ presence, streams, requests: this.snapshot.requests.filter((id) => here.has(id)) });
        break;
      }
      case "control_requested":
        if (!this.snapshot.requests.includes(message.participant_id as string))
          this.update({ requests: [...this.snapshot.requests, message.participant_id as string] });
        break;
      case "muted":
        this.setLocalEnabled(message.kind as Kind, !(message.muted as boolean));
        break;
      case "removed":
        this.update({ status: "removed" });
        break;
      case "room_closed":
        this.update({ status: "closed" });
        break;
      case "error":
        // glare: the server's offer crossed ours; we answer it and negotiationneeded offers again by itself.
        if (message.code !== "glare") this.update({ error: message.code as string });
        break;
    }
  }

  private async startPeer(iceServers: RTCIceServer[]) {
    this.teardownPeer();
    const pc = new RTCPeerConnection({ iceServers });
    this.pc = pc;
    const channel = pc.createDataChannel("yilian", { negotiated: true, id: 0, ordered: true });
    this.channel = channel;
    channel.onopen = () => this.options.onDataOpen?.();
    channel.onmessage = (event) => this.options.onData(JSON.parse(String(event.data)) as DataMessage);
    pc.onicecandidate = (event) =>
      this.send({
        type: "candidate",
        candidate: event.candidate?.candidate ?? null,
        sdp_mid: event.candidate?.sdpMid ?? null,
        sdp_mline_index: event.candidate?.sdpMLineIndex ?? null,
      });
    pc.ontrack = (event) => this.onTrack(event);
    pc.onnegotiationneeded = () => void this.offer();
    for (const track of this.options.local?.getTracks() ?? []) pc.addTrack(track, this.options.local!);
    for (const track of this.screen?.getTracks() ?? []) pc.addTrack(track, this.screen!);
    // With nothing to send, the data channel alone makes the first offer (negotiated channels fire no
    // negotiationneeded in every browser): offer now.
    if (!this.options.local?.getTracks().length && !this.screen) await this.offer();
  }

  private async offer() {
    const pc = this.pc;
    if (!pc || pc.signalingState !== "stable") return;
    const offer = await pc.createOffer();
    // The browser's own RTP header extension numbers: the live process keeps them in its offers (docs/live.md).
    await pc.setLocalDescription(offer);
    const sources: Record<string, Source> = {};
    for (const t of pc.getTransceivers()) {
      const source = t.sender.track ? this.sources.get(t.sender.track.id) : undefined;
      if (t.mid && source) sources[t.mid] = source;
    }
    this.send({ type: "offer", sdp: pc.localDescription?.sdp, sources });
  }

  private async answer(sdp: string, tracks: TrackInfo[]) {
    const pc = this.pc;
    if (!pc) return;
    this.noteTracks(tracks);
    // A crossing offer of ours is rolled back implicitly (the server is the impolite peer and refused ours).
    await pc.setRemoteDescription({ type: "offer", sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    this.send({ type: "answer", sdp: pc.localDescription?.sdp });
  }

  private noteTracks(tracks: TrackInfo[]) {
    this.tracks = new Map(tracks.map((t) => [t.mid, t]));
    // A transceiver whose mid now carries someone else: move its track to that person's stream.
    const streams: RoomSnapshot["streams"] = {};
    for (const t of this.pc?.getTransceivers() ?? []) {
      const info = t.mid ? this.tracks.get(t.mid) : undefined;
      if (!info || t.receiver.track.readyState === "ended") continue;
      this.place(streams, info, t.receiver.track);
    }
    this.update({ streams });
  }

  private place(streams: RoomSnapshot["streams"], info: TrackInfo, track: MediaStreamTrack) {
    const source: Source = info.source === "microphone" ? "camera" : info.source; // a person's camera tile plays their voice
    const key = `${info.participant_id}:${source}`;
    const existing = streams[key] ?? this.snapshot.streams[key];
    const stream = existing?.stream ?? new MediaStream();
    for (const old of stream.getTracks()) if (old.kind === track.kind && old !== track) stream.removeTrack(old);
    if (!stream.getTracks().includes(track)) stream.addTrack(track);
    streams[key] = { participant_id: info.participant_id, source, stream };
  }

  private onTrack(event: RTCTrackEvent) {
    const info = event.transceiver.mid ? this.tracks.get(event.transceiver.mid) : undefined;
    if (!info) return; // described by the next server_offer/answer, placed by noteTracks
    const streams = { ...this.snapshot.streams };
    this.place(streams, info, event.track);
    this.update({ streams });
  }

  private setLocalEnabled(kind: Kind, enabled: boolean) {
    for (const track of this.options.local?.getTracks() ?? []) if (track.kind === kind) track.enabled = enabled;
  }

  // --- what the person does -----------------------------------------------------------------------------------

  setMuted(participantId: string, kind: Kind, muted: boolean): void {
    if (participantId === this.snapshot.me) this.setLocalEnabled(kind, !muted);
    this.send({ type: "set_muted", participant_id: participantId, kind, muted });
  }

  remove(participantId: string): void {
    this.send({ type: "remove", participant_id: participantId });
  }

  handOverPresenter(participantId: string): void {
    this.send({ type: "hand_over_presenter", participant_id: participantId });
  }

  requestControl(): void {
    this.send({ type: "request_control" });
  }

  grantControl(participantId: string | null): void {
    this.send({ type: "grant_control", participant_id: participantId });
    this.update({ requests: this.snapshot.requests.filter((id) => id !== participantId) });
  }

  /** A viewer state on the data channel (only the presenter's or controller's is accepted by the server). */
  sendData(message: DataMessage): boolean {
    if (this.channel?.readyState !== "open") return false;
    this.channel.send(JSON.stringify(message));
    return true;
  }

  async shareScreen(stream: MediaStream | null): Promise<void> {
    const pc = this.pc;
    for (const track of this.screen?.getTracks() ?? []) {
      track.stop();
      const sender = pc?.getSenders().find((s) => s.track === track);
      if (sender) pc?.removeTrack(sender);
    }
    this.screen = stream;
    for (const track of stream?.getTracks() ?? []) {
      this.sources.set(track.id, "screen");
      pc?.addTrack(track, stream!);
      track.onended = () => void this.shareScreen(null);
    }
  }

  leave(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.send({ type: "leave" });
    this.ws?.close(CLOSE_NORMAL);
    this.teardownPeer();
    for (const track of this.screen?.getTracks() ?? []) track.stop();
    this.update({ status: "ended" });
  }
}
