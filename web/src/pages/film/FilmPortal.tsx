// The patient's phone (云胶片): sign in with the phone number and an SMS code, then every exam from every alliance
// hospital newest first, the QR codes made for doctors (withdrawable), and who viewed the images when.
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { api, ok } from "../../api/client";
import type { FilmAccess, FilmConsent, FilmGrant, FilmStudy } from "../../api/generated/schema";
import { LanguageSwitch } from "../../components/Shell";
import { useQrDataUrl } from "../../components/QrSlip";
import { useFormatDate } from "../../i18n/format";
import { FilmError, FilmNotice } from "./FilmError";
import { asPatient, patientToken, setPatientToken } from "./patientSession";
import { ShareLinkSignIn } from "./ShareLinkSignIn";

export function studyDay(d: string): string {
  return d.length === 8 ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}` : d;
}

function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const { t } = useTranslation("film");
  const [phone, setPhone] = useState("");
  const [code, setCode] = useState("");
  const [sent, setSent] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function send() {
    setBusy(true);
    setError(null);
    try {
      await ok(api.POST("/api/patient-sessions/codes", { body: { phone } }));
      setSent(true);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      const session = await ok(api.POST("/api/patient-sessions", { body: { phone, code } }));
      setPatientToken(session.access_token);
      onSignedIn();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <form className="film-form" onSubmit={(e) => void submit(e)}>
      <p>{t("signIn.intro")}</p>
      <label>
        {t("signIn.phone")}
        <input type="tel" inputMode="tel" autoComplete="tel" value={phone} onChange={(e) => setPhone(e.target.value)} />
      </label>
      <button type="button" className="big secondary" disabled={busy || !phone} onClick={() => void send()}>
        {busy ? t("signIn.sending") : t("signIn.sendCode")}
      </button>
      {sent && <p className="muted">{t("signIn.codeSent")}</p>}
      <label>
        {t("signIn.code")}
        <input inputMode="numeric" autoComplete="one-time-code" maxLength={6} value={code}
               onChange={(e) => setCode(e.target.value.trim())} />
      </label>
      <button type="submit" className="big" disabled={code.length !== 6}>
        {t("signIn.submit")}
      </button>
      {error != null && <FilmError error={error} />}
    </form>
  );
}

function StudyCard({ study }: { study: FilmStudy }) {
  const { t } = useTranslation("film");
  const final = study.reports.find((r) => r.kind === "final") ?? study.reports[0];
  return (
    <li className="film-card" data-study={study.study_instance_uid}>
      <div className="film-card-head">
        <strong>{studyDay(study.study_date)}</strong> <span>{study.hospital_name}</span>
      </div>
      <div>
        {study.modalities.join("/")} {study.study_description}
      </div>
      <p className="film-impression">
        {final ? `${t("studies.report")}：${final.impression}` : t("studies.noReport")}
      </p>
      <Link className="button big" to={`/film/studies/${encodeURIComponent(study.study_instance_uid)}`}>
        {t("studies.open")} · {t("studies.images", { count: study.number_of_instances })}
      </Link>
    </li>
  );
}

export function GrantQr({ grant }: { grant: FilmGrant }) {
  const qr = useQrDataUrl(grant.url ?? "");
  if (!grant.url || !qr) return null;
  return <img className="film-qr" src={qr} alt={grant.url} data-url={grant.url} />;
}

function Grants({ studies }: { studies: FilmStudy[] }) {
  const { t } = useTranslation("film");
  const day = useFormatDate();
  const [grants, setGrants] = useState<FilmGrant[]>([]);
  const [study, setStudy] = useState("");
  const [hours, setHours] = useState(24);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    setGrants((await ok(api.GET("/api/cloud-film/grants", asPatient()))).items);
  }, []);
  useEffect(() => {
    load().catch(setError);
  }, [load]);

  async function make(event: FormEvent) {
    event.preventDefault();
    try {
      const body = { study_instance_uid: study || null, hours };
      await ok(api.POST("/api/cloud-film/grants", { body, ...asPatient() }));
      await load();
    } catch (e) {
      setError(e);
    }
  }

  async function revoke(id: string) {
    try {
      await ok(api.POST("/api/cloud-film/grants/{grant_id}/revoke", { params: { path: { grant_id: id } }, ...asPatient() }));
      await load();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <section>
      <p>{t("grants.intro")}</p>
      <form className="film-form" onSubmit={(e) => void make(e)}>
        <select aria-label={t("grants.one")} value={study} onChange={(e) => setStudy(e.target.value)}>
          <option value="">{t("grants.all")}</option>
          {studies.map((s) => (
            <option key={s.study_instance_uid} value={s.study_instance_uid}>
              {studyDay(s.study_date)} {s.hospital_name} {s.modalities.join("/")}
            </option>
          ))}
        </select>
        <label>
          {t("grants.hours")}
          <select value={hours} onChange={(e) => setHours(Number(e.target.value))}>
            {[2, 24, 72].map((h) => (
              <option key={h} value={h}>
                {t("grants.hoursN", { count: h })}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="big">
          {t("grants.make")}
        </button>
      </form>
      {error != null && <FilmError error={error} />}
      {grants.length === 0 && <p className="muted">{t("grants.none")}</p>}
      <ul className="film-list">
        {grants.map((g) => (
          <li key={g.id} className="film-card" data-grant={g.id} data-state={g.state}>
            <GrantQr grant={g} />
            <div>
              <strong>{t(`grants.state.${g.state}`)}</strong> ·{" "}
              {g.study_instance_uid ? studyDay(studies.find((s) => s.study_instance_uid === g.study_instance_uid)?.study_date ?? "") : t("grants.all")}
            </div>
            <div className="muted">{t("grants.until", { date: day(g.expires_at) })}</div>
            {g.state === "active" && (
              <button type="button" className="big danger" onClick={() => void revoke(g.id)}>
                {t("grants.revoke")}
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function AccessLog() {
  const { t } = useTranslation("film");
  const day = useFormatDate();
  const [rows, setRows] = useState<FilmAccess[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    ok(api.GET("/api/cloud-film/accesses", asPatient()))
      .then((page) => setRows(page.items))
      .catch(setError);
  }, []);
  if (error != null) return <FilmError error={error} />;
  if (rows === null) return null;
  if (rows.length === 0) return <p className="muted">{t("log.none")}</p>;
  return (
    <ul className="film-list film-log">
      {rows.map((a, i) => (
        <li key={i} data-viewer={a.viewer} data-action={a.action}>
          <strong>{t(`log.viewer.${a.viewer}`)}</strong> {t(`log.action.${a.action}`, { defaultValue: a.action })}
          <div className="muted">
            {day(a.at)} · {a.hospital_name ?? ""} {a.study_description ?? ""}
          </div>
        </li>
      ))}
    </ul>
  );
}

function Consent() {
  const { t } = useTranslation("film");
  const day = useFormatDate();
  const [consent, setConsent] = useState<FilmConsent | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    ok(api.GET("/api/cloud-film/consent", asPatient())).then(setConsent).catch(setError);
  }, []);
  async function change(grant: boolean) {
    try {
      const path = grant ? "/api/cloud-film/consent" : "/api/cloud-film/consent/withdraw";
      setConsent(await ok(api.POST(path, asPatient())));
    } catch (e) {
      setError(e);
    }
  }
  if (error != null) return <FilmError error={error} />;
  if (!consent) return null;
  return (
    <section className="film-card film-consent" data-granted={consent.granted}>
      <h2>{t("consent.title")}</h2>
      <p>{t("consent.explain")}</p>
      <p>
        <strong>{consent.granted && consent.granted_at ? t("consent.on", { date: day(consent.granted_at) }) : t("consent.off")}</strong>
      </p>
      <button type="button" className={consent.granted ? "big secondary" : "big"} onClick={() => void change(!consent.granted)}>
        {consent.granted ? t("consent.withdraw") : t("consent.grant")}
      </button>
    </section>
  );
}

type Tab = "studies" | "grants" | "log";

export default function FilmPortal() {
  const { t } = useTranslation("film");
  const [signedIn, setSignedIn] = useState(patientToken() !== null);
  const [withLink, setWithLink] = useState(false);
  const [tab, setTab] = useState<Tab>("studies");
  const [studies, setStudies] = useState<FilmStudy[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    if (!signedIn) return;
    ok(api.GET("/api/cloud-film/studies", asPatient()))
      .then((page) => setStudies(page.items))
      .catch((e: unknown) => {
        setError(e);
        setPatientToken(null);
        setSignedIn(false);
      });
  }, [signedIn]);

  return (
    <div className="film-page">
      <header className="share-top film-top">
        <h1>{t("title")}</h1>
        <LanguageSwitch />
        {signedIn && (
          <button type="button" className="link" onClick={() => { setPatientToken(null); setSignedIn(false); }}>
            {t("signIn.signOut")}
          </button>
        )}
      </header>
      <main className="film-main">
        <FilmNotice />
        {!signedIn && !withLink && <SignIn onSignedIn={() => { setError(null); setSignedIn(true); }} />}
        {!signedIn && withLink && <ShareLinkSignIn onSignedIn={() => { setError(null); setSignedIn(true); }} />}
        {!signedIn && (
          <button type="button" className="link film-switch" onClick={() => setWithLink(!withLink)}>
            {withLink ? t("shareSignIn.usePhone") : t("shareSignIn.useLink")}
          </button>
        )}
        {!signedIn && error != null && <FilmError error={error} />}
        {signedIn && (
          <>
            <nav className="film-tabs" role="tablist">
              {(["studies", "grants", "log"] as const).map((key) => (
                <button key={key} type="button" role="tab" aria-selected={tab === key} onClick={() => setTab(key)}>
                  {t(`tabs.${key}`)}
                </button>
              ))}
            </nav>
            {tab === "studies" && studies && (
              <ul className="film-list">
                {studies.length === 0 && <li className="muted">{t("studies.none")}</li>}
                {studies.map((s) => (
                  <StudyCard key={s.study_instance_uid} study={s} />
                ))}
              </ul>
            )}
            {tab === "studies" && <Consent />}
            {tab === "grants" && <Grants studies={studies ?? []} />}
            {tab === "log" && <AccessLog />}
          </>
        )}
      </main>
    </div>
  );
}
