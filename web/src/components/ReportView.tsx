// The signed report (final, then its addenda) and, when the server sent more versions, their history.
// The server decides who sees drafts and preliminaries (GET /api/referrals/{id} only includes them for readers).
import { useTranslation } from "react-i18next";

import type { ReportVersion } from "../api/types";
import { formatDateTime } from "../i18n/format";

const SIGNED = ["final", "addendum"];

/** The final report and the addenda after it, oldest first: what the requesting hospital answers to. */
export function signedReports(reports: ReportVersion[]): ReportVersion[] {
  return [...reports].filter((r) => SIGNED.includes(r.kind)).sort((a, b) => a.version - b.version);
}

function ReportBody({
  report,
  headingLevel = 3,
  announce = true,
}: {
  report: ReportVersion;
  headingLevel?: 3 | 4;
  announce?: boolean;
}) {
  const { t, i18n } = useTranslation("county");
  const H = headingLevel === 3 ? "h3" : "h4";
  const fields = Object.entries(report.structured ?? {});
  return (
    <article className="report" aria-label={`${t(`report.kind.${report.kind}`, { defaultValue: report.kind })} v${report.version}`}>
      <p className="muted small">
        {t("report.signedBy", {
          kind: t(`report.kind.${report.kind}`, { defaultValue: report.kind }),
          version: report.version,
          name: report.author_name || report.author_id,
          at: formatDateTime(report.created_at, i18n.language),
        })}
      </p>
      {report.critical && (
        <p role={announce ? "alert" : undefined} className="error critical-banner">
          <strong>{t("report.criticalBanner")}</strong>
          {report.critical_note && <>: {report.critical_note}</>}
        </p>
      )}
      <H>{t("report.findings")}</H>
      <p className="report-text">{report.findings}</p>
      <H>{t("report.impression")}</H>
      <p className="report-text">{report.impression}</p>
      {fields.length > 0 && (
        <table className="structured">
          <caption className="muted small">{t("report.structured")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("report.field")}</th>
              <th scope="col">{t("report.value")}</th>
            </tr>
          </thead>
          <tbody>
            {fields.map(([key, value]) => (
              <tr key={key}>
                <td>{key}</td>
                <td>{value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </article>
  );
}

export function ReportView({ reports }: { reports: ReportVersion[] }) {
  const { t, i18n } = useTranslation("county");
  const signed = signedReports(reports);
  const [final, ...addenda] = signed;
  const history = [...reports].sort((a, b) => b.version - a.version);
  return (
    <section className="card" aria-labelledby="report-title">
      <h2 id="report-title">{t("report.title")}</h2>
      {final ? <ReportBody report={final} /> : <p className="muted">{t("report.none")}</p>}
      {addenda.length > 0 && (
        <>
          <h3>{t("report.addenda")}</h3>
          {addenda.map((r) => (
            <div key={r.version} className="addendum">
              <ReportBody report={r} headingLevel={4} />
            </div>
          ))}
        </>
      )}
      {history.length > signed.length && (
        <details className="report-history">
          <summary>{t("report.historyCount", { count: history.length })}</summary>
          <ol className="plain">
            {history.map((r) => (
              <li key={r.version}>
                <details>
                  <summary>
                    v{r.version} · {t(`report.kind.${r.kind}`, { defaultValue: r.kind })} · {r.author_name || r.author_id} ·{" "}
                    {formatDateTime(r.created_at, i18n.language)}
                  </summary>
                  <ReportBody report={r} headingLevel={4} announce={false} />
                </details>
              </li>
            ))}
          </ol>
        </details>
      )}
    </section>
  );
}
