// "At risk and breached": the cases a coordinator should act on now, each linking to its case page.
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { PriorityBadge, SlaBadge, StateBadge } from "../../components/Badges";
import { useFormatDate } from "../../i18n/format";
import type { RiskRow } from "./dashboardData";

export function RiskTable({ rows, nameOf }: { rows: RiskRow[]; nameOf: (id: string) => string }) {
  const { t } = useTranslation("coordination");
  const when = useFormatDate();
  if (rows.length === 0) {
    return (
      <p role="status" className="success">
        {t("risk.none")}
      </p>
    );
  }
  return (
    <table className="responsive risk-table">
      <caption className="visually-hidden">{t("risk.caption")}</caption>
      <thead>
        <tr>
          <th scope="col">{t("risk.case")}</th>
          <th scope="col">{t("risk.hospital")}</th>
          <th scope="col">{t("risk.priority")}</th>
          <th scope="col">{t("risk.state")}</th>
          <th scope="col">{t("risk.reader")}</th>
          <th scope="col">{t("risk.due")}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.id} data-testid="risk-row" data-sla={row.sla} className={`risk-${row.sla}`}>
            <td data-label={t("risk.case")}>
              <Link to={`/cases/${row.id}`}>{row.id}</Link>
            </td>
            <td data-label={t("risk.hospital")}>{nameOf(row.requesting_hospital_id)}</td>
            <td data-label={t("risk.priority")}>
              <PriorityBadge priority={row.priority} />
            </td>
            <td data-label={t("risk.state")}>
              <StateBadge state={row.state} />
            </td>
            <td data-label={t("risk.reader")}>
              {row.reader ? (row.offered ? t("risk.offeredTo", { reader: row.reader }) : row.reader) : t("risk.unassigned")}
            </td>
            <td data-label={t("risk.due")}>
              <div>
                {row.finished ? (
                  <span className="badge sla-breached" data-sla="breached">
                    {t("common:sla.breached")} · {t("risk.reported")}
                  </span>
                ) : (
                  <SlaBadge referral={{ sla_status: row.sla, sla_due_at: row.sla_due_at }} />
                )}
                <div className="muted small">{when(row.sla_due_at)}</div>
              </div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
