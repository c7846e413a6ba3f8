// A case's audit trail as a table, with a CSV export for the coordinator's records (GET /api/referrals/{id}/audit).
import { useTranslation } from "react-i18next";

import { useAudit } from "../../api/hooks";
import type { AuditEvent } from "../../api/types";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { useFormatDate } from "../../i18n/format";

const COLUMNS = ["seq", "at", "action", "from_state", "to_state", "actor_id", "actor_name", "actor_role", "details"] as const;

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180 CSV, one row per event, details as JSON. */
export function auditToCsv(events: AuditEvent[]): string {
  const lines = [COLUMNS.join(",")];
  for (const e of events) lines.push(COLUMNS.map((c) => csvCell(e[c as keyof AuditEvent])).join(","));
  return lines.join("\r\n") + "\r\n";
}

function download(filename: string, text: string) {
  // The BOM lets spreadsheet programs read the Chinese names as UTF-8.
  const url = URL.createObjectURL(new Blob(["\uFEFF", text], { type: "text/csv;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

export function AuditTable({ events, referralId }: { events: AuditEvent[]; referralId: string }) {
  const { t } = useTranslation("coordination");
  const when = useFormatDate();
  return (
    <>
      <div className="row between">
        <h3>{t("audit.title")}</h3>
        <button type="button" onClick={() => download(`audit-${referralId}.csv`, auditToCsv(events))} disabled={events.length === 0}>
          {t("audit.export")}
        </button>
      </div>
      <table className="responsive small">
        <caption className="visually-hidden">{t("audit.title")}</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">{t("audit.at")}</th>
            <th scope="col">{t("audit.action")}</th>
            <th scope="col">{t("audit.transition")}</th>
            <th scope="col">{t("audit.actor")}</th>
            <th scope="col">{t("audit.details")}</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.seq}>
              <td data-label="#">{e.seq}</td>
              <td data-label={t("audit.at")}>{when(e.at, "dateTimeSeconds")}</td>
              <td data-label={t("audit.action")}>
                <code>{e.action}</code>
              </td>
              <td data-label={t("audit.transition")}>
                {e.from_state && e.from_state !== e.to_state
                  ? `${t(`common:state.${e.from_state}`)} → ${t(`common:state.${e.to_state}`)}`
                  : t(`common:state.${e.to_state}`)}
              </td>
              <td data-label={t("audit.actor")}>
                {e.actor_name ?? e.actor_id} <span className="muted">({t(`common:role.${e.actor_role}`)})</span>
              </td>
              <td data-label={t("audit.details")}>
                <code className="audit-details">{Object.keys(e.details ?? {}).length ? JSON.stringify(e.details) : ""}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function AuditTrailTable({ referralId }: { referralId: string }) {
  const audit = useAudit(referralId);
  if (audit.isLoading) return <Loading />;
  if (audit.error) return <ErrorMessage error={audit.error} onRetry={() => void audit.refetch()} />;
  return <AuditTable events={audit.data?.items ?? []} referralId={referralId} />;
}
