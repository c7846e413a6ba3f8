// The lecture's HLS player: hls.js (MSE) where the browser has it, else the browser's own HLS (Safari). The
// playlist and every segment carry a watch token for this viewer; a fresh token is fetched every ten minutes and
// put into each later request, so a long lecture outlives the token's half hour. A live playlist that is not there
// yet (the speaker has just started) is asked for again every few seconds.
import Hls from "hls.js/light"; // one H.264 rendition: no alternate audio, subtitles or DRM to load
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

import { ErrorMessage } from "../../components/ErrorMessage";
import { watchToken } from "./api";

const REFRESH_MS = 10 * 60_000;
const RETRY_MS = 3_000;

/** The URL with its `t` query parameter set to `token` (relative URLs resolved against the page). */
export function withToken(url: string, token: string): string {
  const u = new URL(url, window.location.origin);
  u.searchParams.set("t", token);
  return u.toString();
}

export function Player({ lectureId, mode }: { lectureId: string; mode: "live" | "replay" }) {
  const { t } = useTranslation("lecture");
  const video = useRef<HTMLVideoElement>(null);
  const token = useRef<string>("");
  const [error, setError] = useState<unknown>(null);
  const [playing, setPlaying] = useState(false);

  useEffect(() => {
    const element = video.current;
    if (!element) return;
    let hls: Hls | null = null;
    let stopped = false;
    let retry: ReturnType<typeof setTimeout> | null = null;
    const refresh = setInterval(() => {
      watchToken(lectureId).then((w) => (token.current = w.token), setError);
    }, REFRESH_MS);

    const start = async () => {
      const first = await watchToken(lectureId);
      if (stopped) return;
      token.current = first.token;
      if (Hls.isSupported()) {
        hls = new Hls({
          xhrSetup: (xhr, url) => xhr.open("GET", withToken(url, token.current), true),
          liveSyncDurationCount: 2,
          manifestLoadingMaxRetry: 0,
        });
        hls.on(Hls.Events.ERROR, (_event, data) => {
          if (!data.fatal || stopped) return;
          if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
            hls?.recoverMediaError();
            return;
          }
          // The playlist is not written yet, or the live process restarted: ask again shortly.
          retry = setTimeout(() => hls?.loadSource(withToken(first.playlist_url, token.current)), RETRY_MS);
        });
        hls.loadSource(first.playlist_url);
        hls.attachMedia(element);
      } else {
        element.src = first.playlist_url;
      }
      element.play().catch(() => undefined); // autoplay may wait for a click: the controls are there
    };
    start().catch(setError);
    return () => {
      stopped = true;
      clearInterval(refresh);
      if (retry) clearTimeout(retry);
      hls?.destroy();
    };
  }, [lectureId, mode]);

  return (
    <div className="lecture-player">
      <ErrorMessage error={error} />
      <video
        ref={video}
        controls
        playsInline
        muted
        aria-label={t(mode === "live" ? "detail.watchLive" : "detail.watchReplay")}
        onPlaying={() => setPlaying(true)}
        data-mode={mode}
      />
      {!playing && mode === "live" && <p className="muted small">{t("detail.waiting")}</p>}
    </div>
  );
}
