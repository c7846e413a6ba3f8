// On the case page: anyone in the referral may ask for an MDT consult; the consults already on the case are listed.
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { api, ok } from "../../api/client";
import type { ReferralDetail } from "../../api/types";
import { useMe } from "../../auth/session";
import { ErrorMessage } from "../../components/ErrorMessage";
import { formatDateTime } from "../../i18n/format";
import { ConsultStateBadge, SCHEDULERS } from "./ConsultList";
import { useConsultRefresh, useConsults } from "./consultApi";

export function RequestConsult({ referral }: { referral: ReferralDetail }) {
  const { t, i18n } = useTranslation("consult");
  const me = useMe();
  const refresh = useConsultRefresh();
  const consults = useConsults();
  const [comment, setComment] = useState("");
  const [done, setDone] = useState(false);
  const caseName = `${referral.modality} ${referral.body_part} · ${referral.patient?.name ?? referral.patient_ref}`;
  const request = useMutation({
    mutationFn: () =>
      ok(
        api.POST("/api/consults", {
          body: {
            title: t("request.defaultTitle", { case: caseName }),
            referral_id: referral.id,
            case_ids: [],
            comment,
            schedule: null,
          },
        }),
      ),
    onSuccess: (consult) => {
      refresh(consult);
      setComment("");
      setDone(true);
    },
  });
  const mine = (consults.data?.items ?? []).filter((c) => c.case_ids.includes(referral.id) || c.referral_id === referral.id);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    request.mutate();
  };
  return (
    <section className="card request-consult" aria-labelledby="consult-title">
      <h2 id="consult-title">{t("request.title")}</h2>
      {mine.length > 0 && (
        <>
          <h3>{t("request.existing")}</h3>
          <ul>
            {mine.map((c) => (
              <li key={c.id}>
                <ConsultStateBadge state={c.state} /> <Link to={`/consults/${c.id}`}>{c.title}</Link>
                {c.starts_at && <span className="small muted"> · {formatDateTime(c.starts_at, i18n.language)}</span>}
              </li>
            ))}
          </ul>
        </>
      )}
      <p className="small muted">{t("request.explain")}</p>
      <form onSubmit={submit}>
        <label className="field">
          {t("request.comment")}
          <textarea rows={2} maxLength={4000} value={comment} onChange={(e) => setComment(e.target.value)} />
        </label>
        <div className="row">
          <button type="submit" disabled={request.isPending}>
            {t("request.submit")}
          </button>
          {SCHEDULERS.includes(me.role) && (
            <Link className="button" to={`/consults/new?referral=${encodeURIComponent(referral.id)}`}>
              {t("list.schedule")}
            </Link>
          )}
        </div>
      </form>
      {done && (
        <p role="status" className="ok">
          {t("request.requested")}
        </p>
      )}
      <ErrorMessage error={request.error} />
    </section>
  );
}
