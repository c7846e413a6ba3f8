// The worklist table: one memoised row per case (2,000 open cases must stay cheap to render), sortable headers,
// and Accept / Decline on the rows where the server offers them to the signed-in reader (allowed_actions).
import { memo } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { allows, allowsAny } from "../../api/allowedActions";
import type { Referral, StaffRole } from "../../api/types";
import { PriorityBadge, SlaBadge, StateBadge } from "../../components/Badges";
import { formatDateTime } from "../../i18n/format";
import type { SortDir, SortKey } from "./filters";

export interface Viewer {
  id: string;
  role: StaffRole;
}

/** The reading workspace for the reader's own case and for a second reading the server offers; the case page
 * otherwise. */
export function caseLink(r: Pick<Referral, "id" | "reader_id" | "allowed_actions">, me: Viewer): string {
  if (r.reader_id === me.id || allowsAny(r, "approve", "request_changes")) return `/read/${r.id}`;
  return `/cases/${r.id}`;
}

/** A case row's first two cells, how soon it is due and how urgent it is: the worklist's and the review queue's. */
export function UrgencyCells({ referral: r }: { referral: Referral }) {
  const { t } = useTranslation("reading");
  return (
    <>
      <td data-label={t("worklist.col.sla")}>
        <SlaBadge referral={r} />
      </td>
      <td data-label={t("worklist.col.priority")}>
        <PriorityBadge priority={r.priority} />
        {r.critical && <span className="badge critical-flag">{t("worklist.critical")}</span>}
      </td>
    </>
  );
}

interface RowProps {
  referral: Referral;
  me: Viewer;
  hospital: string;
  busy: boolean;
  onAccept: (id: string) => void;
  onDecline: (id: string) => void;
}

export const WorklistRow = memo(function WorklistRow({ referral: r, me, hospital, busy, onAccept, onDecline }: RowProps) {
  const { t, i18n } = useTranslation("reading");
  const [accept, decline] = [allows(r, "accept"), allows(r, "decline")];
  const who = (id: string) => (id === me.id ? t("worklist.me") : id);
  return (
    <tr data-testid={`worklist-row-${r.id}`} className={accept ? "offer-row" : undefined}>
      <UrgencyCells referral={r} />
      <td data-label={t("worklist.col.state")}>
        <StateBadge state={r.state} />
      </td>
      <td data-label={t("worklist.col.study")}>
        <Link to={caseLink(r, me)}>
          {r.modality} {r.body_part}
        </Link>
        {r.difficult && <span className="muted small"> · {t("worklist.difficult")}</span>}
      </td>
      <td data-label={t("worklist.col.hospital")}>
        {hospital}
        {r.in_house && (
          <span className="badge in-house" title={t("worklist.inHouseTitle")}>
            {t("worklist.inHouse")}
          </span>
        )}
      </td>
      <td data-label={t("worklist.col.submitted")}>{formatDateTime(r.submitted_at, i18n.language)}</td>
      <td data-label={t("worklist.col.assignee")}>
        {r.reader_id
          ? t("worklist.reader", { name: who(r.reader_id) })
          : r.offered_to
            ? t("worklist.offeredTo", { name: who(r.offered_to) })
            : "—"}
      </td>
      <td data-label={t("worklist.col.actions")}>
        {(accept || decline) && (
          <span className="row rd-nowrap">
            {accept && (
              <button type="button" className="primary" disabled={busy} onClick={() => onAccept(r.id)}>
                {t("worklist.accept")}
              </button>
            )}
            {decline && (
              <button type="button" disabled={busy} onClick={() => onDecline(r.id)}>
                {t("worklist.decline")}
              </button>
            )}
          </span>
        )}
      </td>
    </tr>
  );
});

const COLUMNS: { key: SortKey; label: string }[] = [
  { key: "sla", label: "worklist.col.sla" },
  { key: "priority", label: "worklist.col.priority" },
  { key: "state", label: "worklist.col.state" },
  { key: "study", label: "worklist.col.study" },
  { key: "hospital", label: "worklist.col.hospital" },
  { key: "submitted", label: "worklist.col.submitted" },
  { key: "assignee", label: "worklist.col.assignee" },
];

export interface WorklistTableProps {
  rows: Referral[];
  me: Viewer;
  hospitalName: (id: string) => string;
  sort: SortKey;
  dir: SortDir;
  onSort: (key: SortKey) => void;
  busyId: string | null;
  onAccept: (id: string) => void;
  onDecline: (id: string) => void;
}

export function WorklistTable({ rows, me, hospitalName, sort, dir, onSort, busyId, onAccept, onDecline }: WorklistTableProps) {
  const { t } = useTranslation("reading");
  return (
    <table className="responsive worklist">
      <caption className="visually-hidden">{t("worklist.title")}</caption>
      <thead>
        <tr>
          {COLUMNS.map((c) => (
            <th key={c.key} scope="col" aria-sort={sort === c.key ? (dir === "asc" ? "ascending" : "descending") : "none"}>
              <button type="button" className="sort" onClick={() => onSort(c.key)}>
                {t(c.label)}
                <span aria-hidden="true">{sort === c.key ? (dir === "asc" ? " ▲" : " ▼") : ""}</span>
              </button>
            </th>
          ))}
          <th scope="col">{t("worklist.col.actions")}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <WorklistRow
            key={r.id}
            referral={r}
            me={me}
            hospital={hospitalName(r.requesting_hospital_id)}
            busy={busyId === r.id}
            onAccept={onAccept}
            onDecline={onDecline}
          />
        ))}
      </tbody>
    </table>
  );
}
