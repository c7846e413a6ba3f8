// The consult room (/consults/:id/room): video of the others beside the case's images in each person's own OHIF
// viewer, following the presenter; who is here; host controls; asking for and granting control; chat; the
// recording notice; "reconnecting…" when the connection drops; the host's conclusion at the end.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router-dom";

import { api, ok } from "../../../api/client";
import { useHospitalName } from "../../../api/hooks";
import { useMe } from "../../../auth/session";
import { ErrorMessage, Loading } from "../../../components/ErrorMessage";
import { formatDate } from "../../../i18n/format";
import type { Participant, RoomClient, RoomSnapshot } from "../../../live/roomClient";
import { ConclusionForm } from "../ConclusionForm";
import { allowsConsult, useConsult, type ConsultDetail } from "../consultApi";
import { RecordingConsent } from "../Recordings";
import { useRoom, type JoinChoice } from "./useRoom";

function Video({ stream, muted = false, label }: { stream: MediaStream; muted?: boolean; label: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (ref.current && ref.current.srcObject !== stream) ref.current.srcObject = stream;
  }, [stream]);
  return <video ref={ref} autoPlay playsInline muted={muted} aria-label={label} />;
}

function PreJoin({ consult, onJoin }: { consult: ConsultDetail; onJoin: (choice: JoinChoice) => void }) {
  const { t } = useTranslation("consult");
  const [camera, setCamera] = useState(true);
  const [microphone, setMicrophone] = useState(true);
  const [audioOnly, setAudioOnly] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const join = async () => {
    setBusy(true);
    const video = camera && !audioOnly;
    try {
      const local = video || microphone ? await navigator.mediaDevices.getUserMedia({ video, audio: microphone }) : null;
      onJoin({ local, receiveVideo: !audioOnly });
    } catch (e) {
      setFailure(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card prejoin" aria-labelledby="prejoin-title">
      <h2 id="prejoin-title">{t("room.before")}</h2>
      <p className="small">{consult.title}</p>
      <label className="check">
        <input type="checkbox" checked={camera} disabled={audioOnly} onChange={(e) => setCamera(e.target.checked)} />{" "}
        {t("room.camera")}
      </label>
      <label className="check">
        <input type="checkbox" checked={microphone} onChange={(e) => setMicrophone(e.target.checked)} /> {t("room.microphone")}
      </label>
      <label className="check">
        <input type="checkbox" checked={audioOnly} onChange={(e) => setAudioOnly(e.target.checked)} /> {t("room.audioOnly")}
      </label>
      <p className="notice small" role="note">
        {t("room.consent")}
      </p>
      {failure && (
        <div role="alert" className="error">
          {t("room.mediaError", { error: failure })}{" "}
          <button type="button" onClick={() => onJoin({ local: null, receiveVideo: !audioOnly })}>
            {t("room.joinWithout")}
          </button>
        </div>
      )}
      <button type="button" className="primary" disabled={busy} onClick={() => void join()}>
        {t("room.joinNow")}
      </button>
    </section>
  );
}

function People({ snapshot, client, amHost }: { snapshot: RoomSnapshot; client: RoomClient; amHost: boolean }) {
  const { t } = useTranslation("consult");
  const hospital = useHospitalName(); // the door names the hospital by its id
  const { presence, me } = snapshot;
  const name = (id: string) => presence.participants.find((p) => p.participant_id === id)?.display_name ?? id;
  const amPresenter = presence.presenter_id === me;
  const row = (p: Participant) => {
    const self = p.participant_id === me;
    const audioMuted = p.muted.includes("audio");
    return (
      <li key={p.participant_id} data-participant={p.user_id}>
        <strong>{p.display_name}</strong>
        {self && ` (${t("room.you")})`}{" "}
        <span className="small muted">
          {hospital(p.hospital)}
          {p.room_role === "host" && ` · ${t("room.host")}`}
          {presence.presenter_id === p.participant_id && ` · ${t("room.presenter")}`}
          {audioMuted && ` · ${t("room.muted")}`}
        </span>
        {amHost && !self && (
          <span className="row small">
            {!audioMuted && (
              <button type="button" onClick={() => client.setMuted(p.participant_id, "audio", true)}>
                {t("room.mute")}
              </button>
            )}
            {presence.presenter_id !== p.participant_id && (
              <button type="button" onClick={() => client.handOverPresenter(p.participant_id)}>
                {t("room.makePresenter")}
              </button>
            )}
            <button type="button" className="danger" onClick={() => client.remove(p.participant_id)}>
              {t("room.remove")}
            </button>
          </span>
        )}
      </li>
    );
  };
  return (
    <section aria-labelledby="present-title">
      <h3 id="present-title">{t("room.present", { count: presence.participants.length })}</h3>
      <ul className="people">{presence.participants.map(row)}</ul>
      {(amPresenter || amHost) &&
        snapshot.requests.map((id) => (
          <p key={id} role="status" className="notice">
            {t("room.wantsControl", { name: name(id) })}{" "}
            <button type="button" onClick={() => client.grantControl(id)}>
              {t("room.grant", { name: name(id) })}
            </button>
          </p>
        ))}
    </section>
  );
}

function Chat({ consult }: { consult: ConsultDetail }) {
  const { t, i18n } = useTranslation("consult");
  const client = useQueryClient();
  const [text, setText] = useState("");
  const messages = useQuery({
    queryKey: ["consult-messages", consult.id],
    queryFn: () =>
      ok(api.GET("/api/consults/{consult_id}/messages", { params: { path: { consult_id: consult.id } } })),
  });
  const post = useMutation({
    mutationFn: (body: string) =>
      ok(api.POST("/api/consults/{consult_id}/messages", { params: { path: { consult_id: consult.id } }, body: { body } })),
    onSuccess: () => {
      setText("");
      void client.invalidateQueries({ queryKey: ["consult-messages", consult.id] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (text.trim()) post.mutate(text.trim());
  };
  const lines = messages.data?.items ?? [];
  return (
    <section className="chat" aria-labelledby="chat-title">
      <h3 id="chat-title">{t("room.chat")}</h3>
      <ol className="chat-lines" aria-live="polite">
        {lines.length === 0 && <li className="muted">{t("room.noMessages")}</li>}
        {lines.map((m) => (
          <li key={m.id}>
            <strong>{m.author_name}</strong> <span className="small muted">{formatDate(m.at, i18n.language, "time")}</span>
            <div>{m.body}</div>
          </li>
        ))}
      </ol>
      {allowsConsult(consult, "post_message") && (
        <form onSubmit={submit} className="row">
          <input
            aria-label={t("room.chatPlaceholder")}
            placeholder={t("room.chatPlaceholder")}
            maxLength={2000}
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
          <button type="submit" disabled={post.isPending || !text.trim()}>
            {t("room.send")}
          </button>
        </form>
      )}
      <ErrorMessage error={post.error} />
    </section>
  );
}

function Room({ consult, choice, onLeave }: { consult: ConsultDetail; choice: JoinChoice; onLeave: () => void }) {
  const { t } = useTranslation("consult");
  const [frame, setFrame] = useState<HTMLIFrameElement | null>(null);
  const [extraStudies, setExtraStudies] = useState<string[]>([]);
  const addStudy = useCallback(
    (uid: string) => setExtraStudies((now) => (now.includes(uid) ? now : [...now, uid])),
    [],
  );
  const { client, snapshot, isDriver, followed } = useRoom(consult.id, choice, frame, addStudy);
  const [micOn, setMicOn] = useState(true);
  const [camOn, setCamOn] = useState(true);
  const [sharing, setSharing] = useState(false);
  const [asked, setAsked] = useState(false);
  const studies = useMemo(
    () => [...new Set([...consult.cases.map((c) => c.study_instance_uid), ...extraStudies])],
    [consult.cases, extraStudies],
  );
  const viewerUrl = `/viewer/viewer?StudyInstanceUIDs=${studies.map(encodeURIComponent).join(",")}`;

  if (!snapshot || !client) return <Loading />;
  const { presence, me, status } = snapshot;
  const mine = presence.participants.find((p) => p.participant_id === me);
  const amHost = mine?.room_role === "host";
  const name = (id: string | null) => presence.participants.find((p) => p.participant_id === id)?.display_name ?? "";
  const ended = status === "ended" || status === "removed" || status === "closed" || status === "refused";

  const share = async () => {
    if (sharing) {
      await client.shareScreen(null);
      setSharing(false);
    } else {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: true });
      await client.shareScreen(stream);
      setSharing(true);
    }
  };

  return (
    <div className="room">
      <div className="row room-bar">
        <h1>{consult.title}</h1>
        <span className={`live live-${status === "connected" ? "live" : "reconnecting"}`} role="status" data-room-status={status}>
          ● {t(status === "connected" ? "room.connected" : status === "reconnecting" ? "room.reconnecting" : "room.connecting")}
        </span>
        <span className="spacer" />
        {presence.recording ? (
          <span className="badge critical-dot">{t("room.recording")}</span>
        ) : (
          <span className="small muted">{t("room.consent")}</span>
        )}
        {mine && (
          <RecordingConsent
            consultId={consult.id}
            me={mine.user_id}
            present={[...new Set(presence.participants.map((p) => p.user_id))]}
          />
        )}
      </div>
      {ended && (
        <p role="alert" className="warning">
          {t(status === "removed" ? "room.removed" : status === "closed" ? "room.closed" : "room.ended")}{" "}
          <Link to={`/consults/${consult.id}`}>{t("detail.title")}</Link>
        </p>
      )}
      {snapshot.error && <p className="error small">{snapshot.error}</p>}
      <div className="room-grid">
        <section className="room-media" aria-label={t("room.title")}>
          <div className="tiles">
            {choice.local && (
              <figure className="tile">
                <Video stream={choice.local} muted label={t("room.you")} />
                <figcaption>{t("room.you")}</figcaption>
              </figure>
            )}
            {Object.entries(snapshot.streams).map(([key, s]) => (
              <figure className="tile" key={key} data-tile={s.participant_id}>
                <Video stream={s.stream} label={name(s.participant_id)} />
                <figcaption>
                  {name(s.participant_id)}
                  {s.source === "screen" && ` · ${t("room.shareScreen")}`}
                </figcaption>
              </figure>
            ))}
          </div>
          <div className="row controls">
            {me && choice.local?.getAudioTracks().length ? (
              <button type="button" onClick={() => (client.setMuted(me, "audio", micOn), setMicOn(!micOn))}>
                {t(micOn ? "room.micOn" : "room.micOff")}
              </button>
            ) : null}
            {me && choice.local?.getVideoTracks().length ? (
              <button type="button" onClick={() => (client.setMuted(me, "video", camOn), setCamOn(!camOn))}>
                {t(camOn ? "room.camOn" : "room.camOff")}
              </button>
            ) : null}
            {"getDisplayMedia" in navigator.mediaDevices && (
              <button type="button" onClick={() => void share()}>
                {t(sharing ? "room.stopShare" : "room.shareScreen")}
              </button>
            )}
            <button type="button" className="danger" onClick={() => (client.leave(), onLeave())}>
              {t("room.leave")}
            </button>
          </div>
          <People snapshot={snapshot} client={client} amHost={amHost} />
          <Chat consult={consult} />
        </section>
        <section className="room-viewer" aria-label={t("room.images")}>
          <p className="small" role="status" data-sync={isDriver ? "driving" : followed ? "following" : "idle"}>
            {isDriver
              ? t("room.youPresent")
              : presence.presenter_id
                ? t("room.following", { name: name(followed?.from ?? presence.presenter_id) })
                : ""}{" "}
            {!isDriver && presence.presenter_id && (
              <button type="button" disabled={asked} onClick={() => (client.requestControl(), setAsked(true))}>
                {t(asked ? "room.asked" : "room.askControl")}
              </button>
            )}
          </p>
          <iframe ref={setFrame} title={t("room.images")} className="viewer-frame room-frame" src={viewerUrl} />
        </section>
      </div>
      {allowsConsult(consult, "conclude") && (
        <ConclusionForm consult={consult} present={presence.participants.map((p) => p.user_id)} />
      )}
    </div>
  );
}

export default function ConsultRoom() {
  const { id = "" } = useParams();
  const { t } = useTranslation("consult");
  useMe();
  const consult = useConsult(id);
  const [choice, setChoice] = useState<JoinChoice | null>(null);
  const [left, setLeft] = useState(false);
  useEffect(() => () => choice?.local?.getTracks().forEach((track) => track.stop()), [choice]);
  if (consult.isPending) return <Loading />;
  if (consult.error) return <ErrorMessage error={consult.error} onRetry={() => void consult.refetch()} />;
  if (left)
    return (
      <p role="status">
        {t("room.ended")} <Link to={`/consults/${id}`}>{t("detail.title")}</Link>
      </p>
    );
  if (!choice) return <PreJoin consult={consult.data} onJoin={setChoice} />;
  return <Room consult={consult.data} choice={choice} onLeave={() => setLeft(true)} />;
}
