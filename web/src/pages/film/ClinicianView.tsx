// What a clinician sees after scanning a patient's QR (no account needed): the exams and signed reports it covers,
// and the diagnostic viewer (OHIF, read-only) for exactly those exams, until the patient withdraws the code.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router-dom";

import { api, ok } from "../../api/client";
import type { OpenedGrant } from "../../api/generated/schema";
import { LanguageSwitch } from "../../components/Shell";
import { useFormatDate } from "../../i18n/format";
import { FilmError, FilmNotice } from "./FilmError";
import { studyDay } from "./FilmPortal";

export default function ClinicianView() {
  const { t } = useTranslation("film");
  const day = useFormatDate();
  const { token = "" } = useParams();
  const [opened, setOpened] = useState<OpenedGrant | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    ok(api.POST("/api/film-grants/{token}/open", { params: { path: { token } } }))
      .then(setOpened)
      .catch(setError);
  }, [token]);
  return (
    <div className="film-page">
      <header className="share-top film-top">
        <h1>{t("clinician.title")}</h1>
        <LanguageSwitch />
      </header>
      <main className="film-main">
        <FilmNotice />
        {error != null && <FilmError error={error} />}
        {opened && (
          <>
            <p>{t("clinician.patient", { name: opened.patient_name })}</p>
            <p className="muted">{t("clinician.until", { date: day(opened.expires_at) })}</p>
            <a className="button big" href={opened.viewer_url} data-testid="open-viewer">
              {t("clinician.openViewer")}
            </a>
            <ul className="film-list">
              {opened.studies.map((s) => (
                <li key={s.study_instance_uid} className="film-card" data-study={s.study_instance_uid}>
                  <div className="film-card-head">
                    <strong>{studyDay(s.study_date)}</strong> <span>{s.hospital_name}</span>
                  </div>
                  <div>
                    {s.modalities.join("/")} {s.study_description}
                  </div>
                  {s.reports.map((r) => (
                    <section key={r.version} className="shared-report">
                      <h3>{t("viewer.findings")}</h3>
                      <p className="report-text">{r.findings}</p>
                      <h3>{t("viewer.impression")}</h3>
                      <p className="report-text">{r.impression}</p>
                      <p className="muted">{t("viewer.signedBy", { name: r.signed_by, date: day(r.signed_at, "date") })}</p>
                    </section>
                  ))}
                </li>
              ))}
            </ul>
          </>
        )}
      </main>
    </div>
  );
}
