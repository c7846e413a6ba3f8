// The senior's second-reading queue: preliminary reports the server lets them review (someone else wrote them),
// most urgent SLA first (the server's order); each opens the review panel at /read/{id}.
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { allowsAny } from "../../api/allowedActions";
import { useHospitalName, useReferrals } from "../../api/hooks";
import type { Referral } from "../../api/types";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { formatDateTime } from "../../i18n/format";
import { UrgencyCells } from "./WorklistTable";

/** The cases the server lets this senior second-read (not their own reports). */
export function reviewRows(rows: Referral[]): Referral[] {
  return rows.filter((r) => allowsAny(r, "approve", "request_changes"));
}

export function ReviewTable({ rows, hospitalName }: { rows: Referral[]; hospitalName: (id: string) => string }) {
  const { t, i18n } = useTranslation("reading");
  return (
    <table className="responsive review-queue">
      <caption className="visually-hidden">{t("queue.title")}</caption>
      <thead>
        <tr>
          <th scope="col">{t("worklist.col.sla")}</th>
          <th scope="col">{t("worklist.col.priority")}</th>
          <th scope="col">{t("worklist.col.study")}</th>
          <th scope="col">{t("worklist.col.hospital")}</th>
          <th scope="col">{t("queue.reader")}</th>
          <th scope="col">{t("queue.preliminaryAt")}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.id} data-testid={`review-row-${r.id}`}>
            <UrgencyCells referral={r} />
            <td data-label={t("worklist.col.study")}>
              <Link to={`/read/${r.id}`}>
                {t("queue.open", { study: `${r.modality} ${r.body_part}` })}
              </Link>
              {r.difficult && <span className="muted small"> · {t("worklist.difficult")}</span>}
            </td>
            <td data-label={t("worklist.col.hospital")}>{hospitalName(r.requesting_hospital_id)}</td>
            <td data-label={t("queue.reader")}>{r.reader_id ?? "—"}</td>
            <td data-label={t("queue.preliminaryAt")}>{formatDateTime(r.preliminary_at, i18n.language)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export default function ReviewQueue() {
  const { t } = useTranslation("reading");
  const hospitalName = useHospitalName();
  const list = useReferrals({ state: ["preliminary"], limit: 500 });
  const rows = useMemo(() => reviewRows(list.data?.items ?? []), [list.data]);
  return (
    <section aria-labelledby="queue-title">
      <h1 id="queue-title">{t("queue.title")}</h1>
      <p className="muted">{t("queue.intro")}</p>
      {list.isPending ? (
        <Loading />
      ) : list.error ? (
        <ErrorMessage error={list.error} onRetry={() => void list.refetch()} />
      ) : rows.length === 0 ? (
        <p role="status" className="muted">
          {t("queue.empty")}
        </p>
      ) : (
        <>
          <ReviewTable rows={rows} hospitalName={hospitalName} />
          <p className="muted small" role="status">
            {t("queue.count", { count: rows.length })}
          </p>
        </>
      )}
    </section>
  );
}
