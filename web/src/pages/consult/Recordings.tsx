// Recording with every participant's consent: each person's own yes or no in the room (the room records only while
// everyone in it said yes; the server and the live process enforce it), and the files afterwards, played by the
// consult's host and invited. A caller who may not play them (403) sees neither.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";

import { api, ok } from "../../api/client";
import type { ConsultRecordingFile } from "../../api/generated/schema";

function useRecordings(consultId: string) {
  return useQuery({
    queryKey: ["consult", consultId, "recordings"], // refreshed with the consult's own live event (a consent is a step)
    queryFn: () => ok(api.GET("/api/consults/{consult_id}/recordings", { params: { path: { consult_id: consultId } } })),
    retry: false,
  });
}

/** In the room: my consent, and who of those present said yes. */
export function RecordingConsent({ consultId, me, present }: { consultId: string; me: string; present: string[] }) {
  const { t } = useTranslation("consult");
  const client = useQueryClient();
  const recordings = useRecordings(consultId);
  const say = useMutation({
    mutationFn: (consent: boolean) =>
      ok(
        api.POST("/api/consults/{consult_id}/recording-consent", {
          params: { path: { consult_id: consultId } },
          body: { consent },
        }),
      ),
    onSuccess: (data) => client.setQueryData(["consult", consultId, "recordings"], data),
  });
  if (!recordings.data) return null;
  const yes = new Set(recordings.data.consented);
  const waiting = present.filter((u) => !yes.has(u)).length;
  return (
    <span className="recording-consent small" data-consented={yes.has(me) ? "yes" : "no"}>
      {t("recording.consented", { count: present.length - waiting, total: present.length })}{" "}
      {yes.has(me) ? (
        <button type="button" className="link" disabled={say.isPending} onClick={() => say.mutate(false)}>
          {t("recording.withdraw")}
        </button>
      ) : (
        <button type="button" disabled={say.isPending} onClick={() => say.mutate(true)}>
          {t("recording.consent")}
        </button>
      )}
    </span>
  );
}

function Player({ consultId, file }: { consultId: string; file: ConsultRecordingFile }) {
  const { t } = useTranslation("consult");
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => () => void (url && URL.revokeObjectURL(url)), [url]);
  // The API takes the session's bearer token, which a <video src> cannot send: fetched once, played from memory.
  const load = async () => {
    const { data } = await api.GET("/api/consults/{consult_id}/recordings/{name}", {
      params: { path: { consult_id: consultId, name: file.name } },
      parseAs: "blob",
    });
    if (data) setUrl(URL.createObjectURL(data as Blob));
  };
  return (
    <li>
      {file.user_id} · {Math.round(file.bytes / 1024)} KB{" "}
      {url ? (
        <video src={url} controls aria-label={file.name} />
      ) : (
        <button type="button" className="link" onClick={() => void load()}>
          {t("recording.play")}
        </button>
      )}
    </li>
  );
}

/** On the consult's page: what was recorded, for who took part. */
export function RecordingList({ consultId }: { consultId: string }) {
  const { t } = useTranslation("consult");
  const recordings = useRecordings(consultId);
  if (!recordings.data) return null;
  return (
    <section className="card" aria-labelledby="recordings-title">
      <h2 id="recordings-title">{t("recording.title")}</h2>
      {recordings.data.files.length === 0 ? (
        <p className="muted small">{t("recording.none")}</p>
      ) : (
        <ul>
          {recordings.data.files.map((f) => (
            <Player key={f.name} consultId={consultId} file={f} />
          ))}
        </ul>
      )}
    </section>
  );
}
