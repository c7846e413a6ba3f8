// The room's connection as React state (a RoomClient for the page's lifetime and its snapshot) and the viewer
// sync wired to it: while this person drives (presenter, or granted control) their viewer's state goes out on every
// change and whenever the data channel (re)opens; otherwise each broadcast state from someone else is applied in
// sequence order, newest wins. A late joiner gets the room's newest state from the live process at once.
import { useEffect, useRef, useState } from "react";

import { getToken } from "../../../auth/token";
import { RoomClient, type DataMessage, type RoomSnapshot } from "../../../live/roomClient";
import { ViewerBridge, ViewerFollower, type ViewerState } from "../../../live/viewerSync";

export interface JoinChoice {
  local: MediaStream | null;
  receiveVideo: boolean;
}

export function useRoom(
  consultId: string,
  choice: JoinChoice,
  frame: HTMLIFrameElement | null,
  onMissingStudy: (studyUid: string) => void,
) {
  const [client, setClient] = useState<RoomClient | null>(null);
  const [snapshot, setSnapshot] = useState<RoomSnapshot | null>(null);
  const [followed, setFollowed] = useState<{ seq: number; from: string } | null>(null);
  const bridge = useRef<ViewerBridge | null>(null);
  const follower = useRef<ViewerFollower | null>(null);
  const driving = useRef(false);
  const missing = useRef(onMissingStudy);
  missing.current = onMissingStudy;

  const me = snapshot?.me ?? null;
  const presence = snapshot?.presence;
  const isDriver = Boolean(me && (presence?.presenter_id === me || presence?.controller_id === me));
  driving.current = isDriver;

  useEffect(() => {
    if (!frame) return;
    bridge.current = new ViewerBridge(frame);
    follower.current = new ViewerFollower(bridge.current, (outcome) => {
      if (outcome.status === "missing_series") missing.current(outcome.study_instance_uid);
    });
    return () => follower.current?.stop();
  }, [frame]);

  useEffect(() => {
    const sendCurrent = () => {
      const state = driving.current ? bridge.current?.read() : null;
      if (state) c.sendData({ type: "state", state });
    };
    const c: RoomClient = new RoomClient({
      consultId,
      token: getToken() ?? "",
      receiveVideo: choice.receiveVideo,
      local: choice.local,
      onChange: setSnapshot,
      onData: (message: DataMessage) => {
        if (message.type !== "state_broadcast" || driving.current || message.participant_id === c.state.me) return;
        follower.current?.offer(message.seq as number, message.state as ViewerState);
        setFollowed({ seq: message.seq as number, from: message.participant_id as string });
      },
      onDataOpen: () => {
        follower.current?.reset(); // a fresh room after a rejoin numbers its states from 1 again
        sendCurrent();
      },
    });
    setClient(c);
    c.connect();
    return () => c.leave();
  }, [consultId, choice]);

  // While driving: every change of this viewer goes out (sampled; only real changes are sent).
  useEffect(() => {
    if (!isDriver || !client || !bridge.current) return;
    const now = bridge.current.read();
    if (now) client.sendData({ type: "state", state: now });
    return bridge.current.watch((state) => client.sendData({ type: "state", state }));
  }, [isDriver, client, frame]);

  return { client, snapshot, isDriver, followed };
}
