// The patient's result, opened from the QR slip on a phone: the birth date is the second factor, then the
// signed report in large type and the key images, with the notice that it is for reference only.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router-dom";

import { api, ok } from "../../api/client";
import type { SharedResult } from "../../api/generated/schema";
import { LanguageSwitch } from "../../components/Shell";
import { formatDate } from "../../i18n/format";
import { OpenCloudFilm } from "../film/ShareLinkSignIn";
import { shareErrorKind } from "./shareErrors";

function Notice() {
  return (
    <p className="disclaimer share-notice" role="note">
      <span lang="zh-CN">仅供患者参考，不作为诊断依据</span>
      <br />
      <span lang="en">For the patient's reference only, not for diagnosis</span>
    </p>
  );
}

export function ShareError({ error }: { error: unknown }) {
  const { t } = useTranslation("patient");
  const kind = shareErrorKind(error);
  const message =
    kind === "other"
      ? t("error.other", { message: error instanceof Error ? error.message : String(error) })
      : t(`error.${kind}`);
  return (
    <p role="alert" className="error share-error" data-kind={kind}>
      {message}
    </p>
  );
}

export function SharedReport({ result }: { result: SharedResult }) {
  const { t, i18n } = useTranslation("patient");
  const day = (iso: string) => formatDate(iso, i18n.language, "date");
  const exam = `${result.study.modality} ${result.study.body_part}`;
  const final = result.reports.find((r) => r.kind === "final") ?? result.reports[0];
  return (
    <article className="shared-report">
      <Notice />
      <dl className="facts share-facts">
        <dt>{t("patient")}</dt>
        <dd>{result.patient.name}</dd>
        <dt>{t("exam")}</dt>
        <dd>{exam}</dd>
        {final && (
          <>
            <dt>{t("date")}</dt>
            <dd>{day(final.signed_at)}</dd>
          </>
        )}
      </dl>
      {result.reports.length === 0 && <p>{t("noReport")}</p>}
      {result.reports.map((r) => (
        <section key={r.version} className="share-report-version">
          {r.kind === "addendum" && <h2>{t("addendum")}</h2>}
          <h2>{t("findings")}</h2>
          <p className="report-text">{r.findings}</p>
          <h2>{t("impression")}</h2>
          <p className="report-text">{r.impression}</p>
          <p className="muted">
            {t("signedBy", { name: r.signed_by })} · {day(r.signed_at)}
          </p>
        </section>
      ))}
      {result.key_images.length > 0 && (
        <section>
          <h2>{t("keyImages")}</h2>
          <div className="key-images">
            {result.key_images.map((src, i) => (
              <img key={src} src={src} alt={t("keyImageAlt", { n: i + 1, exam })} loading="lazy" />
            ))}
          </div>
        </section>
      )}
      <p className="muted small">{t("validUntil", { date: day(result.expires_at) })}</p>
    </article>
  );
}

export default function SharePage() {
  const { token = "" } = useParams();
  const { t } = useTranslation("patient");
  const [birthDate, setBirthDate] = useState("");
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<SharedResult | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!birthDate) return;
    setPending(true);
    setError(null);
    try {
      setResult(await ok(api.POST("/api/share/{token}", { params: { path: { token } }, body: { birth_date: birthDate } })));
    } catch (err) {
      setError(err);
    } finally {
      setPending(false);
    }
  };

  return (
    <div className="share-page">
      <header className="share-top row between">
        <h1>{t("title")}</h1>
        <LanguageSwitch />
      </header>
      <main className="share-main">
        {result ? (
          <>
            <SharedReport result={result} />
            <OpenCloudFilm token={token} birthDate={birthDate} />
          </>
        ) : (
          <form onSubmit={submit} className="card share-form" noValidate>
            <Notice />
            <p>{t("intro")}</p>
            <label>
              {t("birthDate")}
              <input
                type="date"
                value={birthDate}
                onChange={(e) => setBirthDate(e.target.value)}
                required
                autoComplete="bday"
                max={new Date().toISOString().slice(0, 10)}
              />
            </label>
            {error != null && <ShareError error={error} />}
            <button type="submit" className="primary big" disabled={!birthDate || pending}>
              {pending ? t("opening") : t("view")}
            </button>
          </form>
        )}
      </main>
    </div>
  );
}
