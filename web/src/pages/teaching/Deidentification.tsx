// The educator's check before publishing: each text beside its de-identified version, every replacement made, the
// images flagged for burned-in text, and what a blocked publish's leak scan found.
import { useTranslation } from "react-i18next";

import type { Deidentification as Deid } from "./api";

export interface Leak {
  where: string;
  kind: string;
  excerpt: string;
}

export function LeakList({ leaks }: { leaks: Leak[] }) {
  const { t } = useTranslation("teaching");
  if (leaks.length === 0) return null;
  return (
    <section role="alert" className="error leak-findings" data-testid="leak-findings">
      <h3>{t("deid.leaks")}</h3>
      <table>
        <thead>
          <tr>
            <th scope="col">{t("deid.leakWhere")}</th>
            <th scope="col">{t("deid.leakKind")}</th>
          </tr>
        </thead>
        <tbody>
          {leaks.map((leak, i) => (
            <tr key={i}>
              <td>{leak.where}</td>
              <td>
                {leak.kind} <span className="muted small">({leak.excerpt})</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function DeidentificationCheck({ deid }: { deid: Deid }) {
  const { t } = useTranslation("teaching");
  const fields = ["clinical_question", "findings", "impression"] as const;
  return (
    <section className="card deid-check" aria-labelledby="deid-title" data-testid="deid-check">
      <h2 id="deid-title">{t("deid.title")}</h2>
      <p className="muted small">{t("deid.intro")}</p>
      <p className="small">
        {t("deid.instances", { count: deid.instances })} ·{" "}
        {t("deid.patient", {
          pseudonym: deid.patient.pseudonym ?? "—",
          age: deid.patient.age_band || "—",
          sex: deid.patient.sex || "—",
        })}
      </p>
      {fields
        .filter((f) => deid.text[f])
        .map((f) => (
          <div key={f} className="deid-field">
            <h3 className="h4">{t(`deid.field.${f}`)}</h3>
            <div className="split">
              <div>
                <span className="muted small">{t("deid.original")}</span>
                <p className="report-text">{deid.text[f].original}</p>
              </div>
              <div>
                <span className="muted small">{t("deid.redacted")}</span>
                <p className="report-text" data-testid={`deid-redacted-${f}`}>
                  {deid.text[f].redacted}
                </p>
              </div>
            </div>
          </div>
        ))}
      <h3 className="h4">{t("deid.changes")}</h3>
      {deid.changes.length === 0 ? (
        <p className="muted small">{t("deid.none")}</p>
      ) : (
        <table className="deid-changes">
          <thead>
            <tr>
              <th scope="col">{t("deid.kind")}</th>
              <th scope="col">{t("deid.was")}</th>
              <th scope="col">{t("deid.now")}</th>
            </tr>
          </thead>
          <tbody>
            {deid.changes.map((c, i) => (
              <tr key={i}>
                <td>
                  {t(`deid.field.${c.field}`, { defaultValue: c.field })} · {c.kind}
                </td>
                <td>
                  <del>{c.original}</del>
                </td>
                <td>
                  <ins>{c.replacement}</ins>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3 className="h4">{t("deid.flags")}</h3>
      {deid.image_flags.length === 0 ? (
        <p className="muted small">{t("deid.noFlags")}</p>
      ) : (
        <ul>
          {deid.image_flags.map((f) => (
            <li key={f.sop_instance_uid}>
              <code>{f.sop_instance_uid}</code> {f.reason}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
