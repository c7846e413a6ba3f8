// One consult: when, who hosts, whom it invites, its agenda and cases, who attended, and the conclusion once
// written. The buttons are the server's allowed_actions for the person looking.
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router-dom";

import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { formatDateTime } from "../../i18n/format";
import { ConclusionForm } from "./ConclusionForm";
import { ConsultStateBadge } from "./ConsultList";
import { RecordingList } from "./Recordings";
import { PersonLine, ScheduleForm } from "./ScheduleForm";
import { allowsConsult, useConsult, useConsultAction, useScheduleConsult, type ConsultDetail } from "./consultApi";

function Conclusion({ consult }: { consult: ConsultDetail }) {
  const { t } = useTranslation("consult");
  const c = consult.conclusion;
  if (!c) return null;
  const people = new Map([consult.host, ...consult.invitees].filter(Boolean).map((p) => [p!.id, p!.display_name]));
  return (
    <section className="card conclusion" aria-labelledby="conclusion-title">
      <h2 id="conclusion-title">{t("detail.conclusion")}</h2>
      <h3>{t("detail.participants")}</h3>
      <p>{c.participants.map((id) => people.get(id) ?? id).join("、")}</p>
      <h3>{t("detail.discussion")}</h3>
      <p className="report-text">{c.discussion}</p>
      <h3>{t("detail.recommendation")}</h3>
      <p className="report-text">{c.recommendation}</p>
    </section>
  );
}

export function ConsultActions({ consult }: { consult: ConsultDetail }) {
  const { t } = useTranslation("consult");
  const actions = useConsultAction(consult.id);
  const [editing, setEditing] = useState<"schedule" | "reschedule" | null>(null);
  const [reason, setReason] = useState("");
  const [handTo, setHandTo] = useState("");
  const schedule = useScheduleConsult(consult.id, editing ?? "schedule");
  const can = (a: Parameters<typeof allowsConsult>[1]) => allowsConsult(consult, a);
  return (
    <section className="card consult-actions" aria-label={t("detail.title")}>
      <div className="row">
        {can("join") && (
          <Link className="button primary" to={`/consults/${consult.id}/room`}>
            {t("action.join")}
          </Link>
        )}
        {can("open") && (
          <button type="button" onClick={() => actions.open.mutate()} disabled={actions.open.isPending}>
            {t("action.open")}
          </button>
        )}
        {can("schedule") && (
          <button type="button" onClick={() => setEditing("schedule")}>
            {t("action.schedule")}
          </button>
        )}
        {can("reschedule") && (
          <button type="button" onClick={() => setEditing("reschedule")}>
            {t("action.reschedule")}
          </button>
        )}
      </div>
      {editing && (
        <ScheduleForm
          heading={t(editing === "schedule" ? "form.scheduleTitle" : "form.rescheduleTitle")}
          submitLabel={t(editing === "schedule" ? "form.save" : "form.saveReschedule")}
          initial={{
            starts_at: consult.starts_at,
            duration_minutes: consult.duration_minutes,
            invitees: consult.invitees,
            agenda: consult.agenda,
          }}
          busy={schedule.isPending}
          error={schedule.error}
          onSubmit={({ title: _t, case_ids: _c, ...values }) =>
            schedule.mutate(values, { onSuccess: () => setEditing(null) })
          }
          onCancel={() => setEditing(null)}
        />
      )}
      {can("hand_over") && consult.invitees.length > 0 && (
        <div className="row">
          <label>
            {t("detail.handOverTo")}{" "}
            <select value={handTo} onChange={(e) => setHandTo(e.target.value)}>
              <option value="" />
              {consult.invitees.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.display_name}
                </option>
              ))}
            </select>
          </label>
          <button type="button" disabled={!handTo} onClick={() => actions.handOver.mutate(handTo)}>
            {t("action.hand_over")}
          </button>
        </div>
      )}
      {can("cancel") && (
        <div className="row">
          <label>
            {t("detail.cancelReason")}{" "}
            <input value={reason} maxLength={2000} onChange={(e) => setReason(e.target.value)} />
          </label>
          <button
            type="button"
            className="danger"
            disabled={!reason.trim() || actions.cancel.isPending}
            onClick={() => window.confirm(t("detail.confirmCancel")) && actions.cancel.mutate(reason.trim())}
          >
            {t("action.cancel")}
          </button>
        </div>
      )}
      {[actions.open, actions.cancel, actions.handOver].map((m, i) => (
        <ErrorMessage key={i} error={m.error} />
      ))}
    </section>
  );
}

export default function ConsultPage() {
  const { id = "" } = useParams();
  const { t, i18n } = useTranslation("consult");
  const consult = useConsult(id);
  if (consult.isPending) return <Loading />;
  if (consult.error) return <ErrorMessage error={consult.error} onRetry={() => void consult.refetch()} />;
  const c = consult.data;
  const when = (iso: string | null | undefined) => (iso ? formatDateTime(iso, i18n.language) : "—");
  return (
    <div className="page consult-page">
      <div className="row">
        <ConsultStateBadge state={c.state} />
        <h1>{c.title}</h1>
        <span className="spacer" />
        <Link to="/consults">{t("list.title")}</Link>
      </div>
      {c.state === "cancelled" && (
        <p className="warning" role="status">
          {t("detail.cancelled", { reason: c.cancel_reason })}
        </p>
      )}
      <ConsultActions consult={c} />
      <div className="split">
        <div>
          <section className="card" aria-label={t("detail.when")}>
            <dl className="facts">
              <dt>{t("detail.when")}</dt>
              <dd>
                {c.starts_at ? when(c.starts_at) : t("detail.notScheduled")}
                {c.duration_minutes ? ` · ${t("detail.duration", { minutes: c.duration_minutes })}` : ""}
              </dd>
              <dt>{t("detail.host")}</dt>
              <dd>{c.host ? <PersonLine person={c.host} /> : "—"}</dd>
              <dt>{t("detail.agenda")}</dt>
              <dd className="report-text">{c.agenda || <span className="muted">{t("detail.noAgenda")}</span>}</dd>
            </dl>
          </section>
          <section className="card" aria-labelledby="cases-title">
            <h2 id="cases-title">{t("detail.cases")}</h2>
            <ul>
              {c.cases.map((r) => (
                <li key={r.id}>
                  <Link to={`/cases/${r.id}`}>
                    {t("form.caseLabel", { modality: r.modality, bodyPart: r.body_part, question: r.clinical_question })}
                  </Link>
                </li>
              ))}
            </ul>
          </section>
          {c.state === "open" && allowsConsult(c, "conclude") && <ConclusionForm consult={c} />}
          <Conclusion consult={c} />
          <RecordingList consultId={c.id} />
        </div>
        <div>
          <section className="card" aria-labelledby="invitees-title">
            <h2 id="invitees-title">{t("detail.invitees")}</h2>
            <ul>
              {c.invitees.map((p) => (
                <li key={p.id}>
                  <PersonLine person={p} />
                </li>
              ))}
            </ul>
          </section>
          <section className="card" aria-labelledby="attendance-title">
            <h2 id="attendance-title">{t("detail.attendance")}</h2>
            {c.attendance.length === 0 ? (
              <p className="muted">{t("detail.noAttendance")}</p>
            ) : (
              <ul>
                {c.attendance.map((a, i) => (
                  <li key={i}>
                    {a.display_name} · {when(a.joined_at)} – {a.left_at ? when(a.left_at) : t("detail.present")}
                  </li>
                ))}
              </ul>
            )}
          </section>
        </div>
      </div>
    </div>
  );
}
