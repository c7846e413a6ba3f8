// A report version as a reader or reviewer reads it: findings, impression, structured values and the critical flag.
import { useTranslation } from "react-i18next";

import type { ReportVersion } from "../../api/types";
import { formatDateTime } from "../../i18n/format";
import { displayValue } from "./templates";

export function ReportView({ report }: { report: ReportVersion }) {
  const { t, i18n } = useTranslation("reading");
  const entries = Object.entries(report.structured ?? {});
  return (
    <article className="report-view" aria-label={t("report.title", { version: report.version })}>
      <p className="muted small">
        {t("report.byline", {
          kind: t(`report.kind.${report.kind}`, { defaultValue: report.kind }),
          version: report.version,
          author: report.author_name || report.author_id,
          at: formatDateTime(report.created_at, i18n.language),
        })}
      </p>
      {report.critical && (
        <p className="error" role="note">
          <strong>{t("editor.critical")}: </strong>
          {report.critical_note}
        </p>
      )}
      {entries.length > 0 && (
        <dl className="rd-structured-list">
          {entries.map(([key, value]) => {
            const shown = displayValue(key, value, i18n.language);
            return (
              <div key={key}>
                <dt>{shown.label}</dt>
                <dd>{shown.value}</dd>
              </div>
            );
          })}
        </dl>
      )}
      <h3>{t("editor.findings")}</h3>
      <p className="report-text">{report.findings || "—"}</p>
      <h3>{t("editor.impression")}</h3>
      <p className="report-text">{report.impression || "—"}</p>
    </article>
  );
}
