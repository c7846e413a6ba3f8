// The speaker's page (/lectures/:id/speak): camera and microphone (and a shared screen) published into the lecture's
// live room through Yilian's SFU, like a consult room (live/roomClient.ts); the room packages it as HLS for the
// doctors. Going on air starts the lecture; ending it closes the room and publishes the replay.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router-dom";

import { getToken } from "../../auth/token";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { RoomClient, type RoomSnapshot } from "../../live/roomClient";
import { allows, useLecture, useLectureActions, type LectureDetail } from "./api";
import { Questions } from "./LecturePage";

function ChapterMark({ lecture }: { lecture: LectureDetail }) {
  const { t } = useTranslation("lecture");
  const actions = useLectureActions(lecture.id);
  const [title, setTitle] = useState("");
  const marked = actions.chapter.data?.items.length;
  return (
    <form
      className="row"
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        actions.chapter.mutate(title, { onSuccess: () => setTitle("") });
      }}
    >
      <input value={title} onChange={(e) => setTitle(e.target.value)} aria-label={t("speaker.chapter")}
        placeholder={t("speaker.chapter")} maxLength={200} />
      <button type="submit" disabled={!title.trim() || actions.chapter.isPending}>
        {t("speaker.markChapter")}
      </button>
      {marked !== undefined && <span className="small muted">{t("speaker.chapters", { count: marked })}</span>}
      <ErrorMessage error={actions.chapter.error} />
    </form>
  );
}

function OnAir({ lecture, local }: { lecture: LectureDetail; local: MediaStream }) {
  const { t } = useTranslation("lecture");
  const [snapshot, setSnapshot] = useState<RoomSnapshot | null>(null);
  const [client, setClient] = useState<RoomClient | null>(null);
  const [sharing, setSharing] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const preview = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (preview.current) preview.current.srcObject = local;
    const c = new RoomClient({
      consultId: lecture.id,
      door: "lectures",
      token: getToken() ?? "",
      receiveVideo: false,
      local,
      onChange: setSnapshot,
      onData: () => undefined,
    });
    setClient(c);
    c.connect();
    return () => c.leave();
  }, [lecture.id, local]);
  const status = snapshot?.status ?? "connecting";
  const share = async () => {
    if (!client) return;
    try {
      if (sharing) {
        await client.shareScreen(null);
        setSharing(false);
      } else {
        await client.shareScreen(await navigator.mediaDevices.getDisplayMedia({ video: true }));
        setSharing(true);
      }
    } catch (e) {
      setFailure(e instanceof Error ? e.message : String(e));
    }
  };
  const words =
    status === "connected"
      ? "speaker.onAir"
      : status === "reconnecting"
        ? "speaker.reconnecting"
        : status === "refused"
          ? "speaker.refused"
          : "speaker.connecting";
  return (
    <section className="card speaker-on-air">
      <p role="status" data-room-status={status} className={status === "connected" ? "ok" : "warning-text"}>
        ● {t(words)}
      </p>
      <video ref={preview} autoPlay playsInline muted aria-label={t("speaker.camera")} className="speaker-preview" />
      {"getDisplayMedia" in navigator.mediaDevices && (
        <button type="button" onClick={() => void share()}>
          {t(sharing ? "speaker.stopShare" : "speaker.shareScreen")}
        </button>
      )}
      {status === "connected" && <ChapterMark lecture={lecture} />}
      {failure && <p className="error">{failure}</p>}
    </section>
  );
}

export default function SpeakerPage() {
  const { id = "" } = useParams();
  const { t } = useTranslation("lecture");
  const lecture = useLecture(id);
  const actions = useLectureActions(id);
  const [camera, setCamera] = useState(true);
  const [microphone, setMicrophone] = useState(true);
  const [local, setLocal] = useState<MediaStream | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => () => local?.getTracks().forEach((track) => track.stop()), [local]);
  if (lecture.isPending) return <Loading />;
  if (lecture.error) return <ErrorMessage error={lecture.error} />;
  const l = lecture.data;
  const goOnAir = async () => {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: camera, audio: microphone });
      if (l.state === "scheduled") await actions.start.mutateAsync();
      setLocal(stream);
    } catch (e) {
      setFailure(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <div className="page lecture-speaker">
      <div className="row">
        <h1>{t("speaker.title", { title: l.title })}</h1>
        <span className="spacer" />
        <Link to={`/lectures/${l.id}`}>{l.title}</Link>
      </div>
      <p className="small">{t("speaker.explain")}</p>
      {!local && (l.state === "scheduled" || l.state === "live") && (
        <section className="card">
          <label className="check">
            <input type="checkbox" checked={camera} onChange={(e) => setCamera(e.target.checked)} /> {t("speaker.camera")}
          </label>
          <label className="check">
            <input type="checkbox" checked={microphone} onChange={(e) => setMicrophone(e.target.checked)} />{" "}
            {t("speaker.microphone")}
          </label>
          <button type="button" className="primary" onClick={() => void goOnAir()} disabled={!camera && !microphone}>
            {t("speaker.join")}
          </button>
        </section>
      )}
      {failure && <p className="error">{failure}</p>}
      <ErrorMessage error={actions.start.error ?? actions.end.error} />
      {local && l.state === "live" && <OnAir lecture={l} local={local} />}
      {allows(l, "end") && (
        <button
          type="button"
          className="danger"
          onClick={() => actions.end.mutate(undefined, { onSuccess: () => setLocal(null) })}
        >
          {t("detail.end")}
        </button>
      )}
      <Questions lecture={l} />
    </div>
  );
}
