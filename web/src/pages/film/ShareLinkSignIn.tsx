// Signing in to cloud film through the link a county hospital gave the patient (its QR slip, /s/<token>) and the
// birth date: the link's own expiry, lock-out and log apply (POST /api/patient-sessions/share-link).
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router-dom";

import { api, ok } from "../../api/client";
import { shareErrorKind } from "../patient/shareErrors";
import { setPatientToken } from "./patientSession";

/** Why the link did not sign the patient in, in the share page's words (expired, withdrawn, wrong birth date…). */
function LinkError({ error }: { error: unknown }) {
  const { t } = useTranslation("patient");
  const kind = shareErrorKind(error);
  const message = error instanceof Error ? error.message : String(error);
  return (
    <p role="alert" className="error film-error" data-kind={kind}>
      {kind === "other" ? t("error.other", { message }) : t(`error.${kind}`)}
    </p>
  );
}

/** The share link's token from its whole address (…/s/<token>), or the token itself as typed. */
export function shareToken(text: string): string {
  const value = text.trim();
  const found = /\/s\/([^/?#\s]+)/.exec(value);
  return found ? decodeURIComponent(found[1]) : value;
}

async function signInWithLink(token: string, birthDate: string): Promise<void> {
  const session = await ok(api.POST("/api/patient-sessions/share-link", { body: { token, birth_date: birthDate } }));
  setPatientToken(session.access_token);
}

/** The phone's second way in: the link (or its code) and the birth date. */
export function ShareLinkSignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const { t } = useTranslation("film");
  const [link, setLink] = useState("");
  const [birthDate, setBirthDate] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signInWithLink(shareToken(link), birthDate);
      onSignedIn();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="film-form film-share-sign-in" onSubmit={(e) => void submit(e)}>
      <p>{t("shareSignIn.intro")}</p>
      <label>
        {t("shareSignIn.link")}
        <input value={link} onChange={(e) => setLink(e.target.value)} autoComplete="off" />
      </label>
      <label>
        {t("shareSignIn.birthDate")}
        <input type="date" value={birthDate} autoComplete="bday" onChange={(e) => setBirthDate(e.target.value)}
               max={new Date().toISOString().slice(0, 10)} />
      </label>
      <button type="submit" className="big" disabled={busy || !link.trim() || !birthDate}>
        {t("shareSignIn.submit")}
      </button>
      {error != null && <LinkError error={error} />}
    </form>
  );
}

/** On the share page, once opened: all of the patient's exams, signed in with the same link and birth date. */
export function OpenCloudFilm({ token, birthDate }: { token: string; birthDate: string }) {
  const { t } = useTranslation("film");
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  async function open() {
    setError(null);
    try {
      await signInWithLink(token, birthDate);
      navigate("/film");
    } catch (e) {
      setError(e);
    }
  }
  return (
    <p className="film-open">
      <button type="button" className="big secondary" onClick={() => void open()}>
        {t("shareSignIn.openAll")}
      </button>
      {error != null && <LinkError error={error} />}
    </p>
  );
}
