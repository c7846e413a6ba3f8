// One exam on the patient's phone: scroll each series through server-rendered images with window presets (not a
// diagnostic viewer), read the signed report, download it as PDF and the images as JPEG or DICOM.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router-dom";

import { api, ok } from "../../api/client";
import type { FilmStudyDetail } from "../../api/generated/schema";
import { LanguageSwitch } from "../../components/Shell";
import { useFormatDate } from "../../i18n/format";
import { FilmError, FilmNotice } from "./FilmError";
import { studyDay } from "./FilmPortal";
import { asPatient, downloadWithToken } from "./patientSession";

export default function FilmStudy() {
  const { t } = useTranslation("film");
  const day = useFormatDate();
  const { uid = "" } = useParams();
  const [study, setStudy] = useState<FilmStudyDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [seriesIndex, setSeriesIndex] = useState(0);
  const [imageIndex, setImageIndex] = useState(0);
  const [preset, setPreset] = useState("default");

  useEffect(() => {
    ok(api.GET("/api/cloud-film/studies/{study_instance_uid}", { params: { path: { study_instance_uid: uid } }, ...asPatient() }))
      .then(setStudy)
      .catch(setError);
  }, [uid]);

  const series = study?.series[seriesIndex];
  const image = series?.images[Math.min(imageIndex, series.images.length - 1)];
  const src = image ? `${image.url}${preset === "default" ? "" : `&preset=${preset}`}` : "";

  return (
    <div className="film-page">
      <header className="share-top film-top">
        <Link to="/film" className="film-back">
          ‹ {t("viewer.back")}
        </Link>
        <LanguageSwitch />
      </header>
      <main className="film-main">
        <FilmNotice />
        {error != null && <FilmError error={error} />}
        {study && (
          <>
            <h2>
              {studyDay(study.study_date)} {study.hospital_name}
            </h2>
            <p>
              {study.modalities.join("/")} {study.study_description}
            </p>
            {study.series.length > 1 && (
              <select aria-label={t("viewer.series")} value={seriesIndex}
                      onChange={(e) => { setSeriesIndex(Number(e.target.value)); setImageIndex(0); }}>
                {study.series.map((s, i) => (
                  <option key={s.series_instance_uid} value={i}>
                    {s.series_number ?? i + 1} {s.modality} {s.series_description}
                  </option>
                ))}
              </select>
            )}
            {image && series && (
              <figure className="film-viewer">
                <img src={src} alt={t("viewer.image", { n: imageIndex + 1, total: series.images.length })}
                     data-testid="film-image" data-preset={preset} />
                <figcaption>{t("viewer.image", { n: imageIndex + 1, total: series.images.length })}</figcaption>
                {series.images.length > 1 && (
                  <input type="range" min={0} max={series.images.length - 1} value={imageIndex}
                         aria-label={t("viewer.series")} onChange={(e) => setImageIndex(Number(e.target.value))} />
                )}
              </figure>
            )}
            <div className="film-presets" role="group">
              {study.presets.map((p) => (
                <button key={p} type="button" aria-pressed={p === preset} onClick={() => setPreset(p)}>
                  {t(`viewer.presets.${p}`, { defaultValue: p })}
                </button>
              ))}
            </div>
            {study.reports.map((r) => (
              <section key={r.version} className="shared-report">
                <h3>{t("viewer.findings")}</h3>
                <p className="report-text">{r.findings}</p>
                <h3>{t("viewer.impression")}</h3>
                <p className="report-text">{r.impression}</p>
                <p className="muted">{t("viewer.signedBy", { name: r.signed_by, date: day(r.signed_at, "date") })}</p>
              </section>
            ))}
            <div className="film-downloads">
              {study.reports.length > 0 && (
                <button type="button" className="big secondary"
                        onClick={() => void downloadWithToken(`/api/cloud-film/studies/${encodeURIComponent(uid)}/report.pdf`, "report.pdf").catch(setError)}>
                  {t("viewer.downloadPdf")}
                </button>
              )}
              {image && (
                <>
                  <a className="button big secondary" href={src} download="image.jpg">
                    {t("viewer.downloadJpeg")}
                  </a>
                  <a className="button big secondary" href={image.dicom_url} download="image.dcm">
                    {t("viewer.downloadDicom")}
                  </a>
                </>
              )}
            </div>
          </>
        )}
      </main>
    </div>
  );
}
