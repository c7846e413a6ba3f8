// The host's conclusion (participants, discussion, recommendation): it joins every case's timeline and trail.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { ErrorMessage } from "../../components/ErrorMessage";
import { useConsultAction, type ConsultDetail } from "./consultApi";

export function ConclusionForm({ consult, present = [] }: { consult: ConsultDetail; present?: string[] }) {
  const { t } = useTranslation("consult");
  const { conclude } = useConsultAction(consult.id);
  const people = [consult.host, ...consult.invitees].filter((p): p is NonNullable<typeof p> => Boolean(p));
  const attended = new Set([...present, ...consult.attendance.map((a) => a.user_id)]);
  const [participants, setParticipants] = useState<string[]>(people.filter((p) => attended.has(p.id)).map((p) => p.id));
  const [discussion, setDiscussion] = useState("");
  const [recommendation, setRecommendation] = useState("");
  const toggle = (id: string) =>
    setParticipants((now) => (now.includes(id) ? now.filter((x) => x !== id) : [...now, id]));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    conclude.mutate({ participants, discussion, recommendation });
  };
  return (
    <form className="card conclusion-form" onSubmit={submit} aria-label={t("action.conclude")}>
      <h2>{t("action.conclude")}</h2>
      <fieldset>
        <legend>{t("detail.participants")}</legend>
        {people.map((p) => (
          <label key={p.id} className="check">
            <input type="checkbox" checked={participants.includes(p.id)} onChange={() => toggle(p.id)} /> {p.display_name}
          </label>
        ))}
      </fieldset>
      <label className="field">
        {t("detail.discussion")}
        <textarea required rows={4} maxLength={4000} value={discussion} onChange={(e) => setDiscussion(e.target.value)} />
      </label>
      <label className="field">
        {t("detail.recommendation")}
        <textarea
          required
          rows={3}
          maxLength={4000}
          value={recommendation}
          onChange={(e) => setRecommendation(e.target.value)}
        />
      </label>
      <ErrorMessage error={conclude.error} />
      <button type="submit" className="primary" disabled={conclude.isPending}>
        {t("action.conclude")}
      </button>
    </form>
  );
}
